/* test_base64.c — base64 as Go's StdEncoding: round trips, newlines, padding, bad input. */
#include "testutil.h"

#include "base/base64.h"

#include <stdio.h>
#include <string.h>

static void encode_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10. */
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < KS_ARRAY_LEN(in); i++) {
		size_t n = 0;
		char *e = ks_base64_encode(in[i], strlen(in[i]), &n);
		assert_string_equal(e, want[i]);
		assert_int_equal(n, strlen(want[i]));
		assert_int_equal(ks_base64_encoded_len(strlen(in[i])), n);
		unsigned char *d = NULL;
		size_t dn = 0;
		struct ks_err err = {0};
		assert_int_equal(ks_base64_decode(e, n, &d, &dn, &err), 0);
		assert_int_equal(dn, strlen(in[i]));
		assert_memory_equal(d, in[i], dn);
		assert_int_equal(d[dn], '\0');
		free(d);
		free(e);
	}
}

static void binary_round_trip(void **state)
{
	(void)state;
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= sizeof all; len += 37) {
		size_t n;
		char *e = ks_base64_encode(all, len, &n);
		unsigned char *d;
		size_t dn;
		assert_int_equal(ks_base64_decode(e, n, &d, &dn, NULL), 0);
		assert_int_equal(dn, len);
		if (len)
			assert_memory_equal(d, all, len);
		free(d);
		free(e);
	}
}

static void newlines_ignored(void **state)
{
	(void)state;
	/* Go's StdEncoding skips \r and \n anywhere, including inside the padding. */
	const char *ok[] = {"Zm9v\nYmFy\n", "\r\nZm9vYmFy", "Zm9vYg=\n=", "Zm9vYg==\r\n\n"};
	const char *want[] = {"foobar", "foobar", "foob", "foob"};
	for (size_t i = 0; i < KS_ARRAY_LEN(ok); i++) {
		unsigned char *d;
		size_t dn;
		struct ks_err err = {0};
		if (ks_base64_decode(ok[i], strlen(ok[i]), &d, &dn, &err))
			fail_msg("'%s': %s", ok[i], err.msg);
		assert_int_equal(dn, strlen(want[i]));
		assert_memory_equal(d, want[i], dn);
		free(d);
	}
}

static void rejects_with_offset(void **state)
{
	(void)state;
	struct {
		const char *in;
		size_t off;
	} bad[] = {
		{"Zm9v!mFy", 4}, /* not in the alphabet */
		{"Zm9vYg", 6},	 /* missing padding: reported at the end */
		{"Zm9vY", 5},	 /* a lone character */
		{"Zm9vYg=", 7},	 /* half the padding */
		{"Zm9v=", 4},	 /* padding at a quantum boundary */
		{"Zg==Zg==", 4}, /* data after the padding */
		{"Zm9 v", 3},	 /* spaces are not ignored (only \r and \n are) */
		{"Zm9v-_", 4},	 /* URL alphabet is not the standard one */
		{"\xffZm9", 0},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		unsigned char *d = (unsigned char *)"x";
		struct ks_err err = {0};
		int rc = ks_base64_decode(bad[i].in, strlen(bad[i].in), &d, NULL, &err);
		if (rc == 0)
			fail_msg("accepted '%s'", bad[i].in);
		assert_int_equal(rc, KS_EINVAL);
		assert_null(d);
		char want[80];
		snprintf(want, sizeof want, "illegal base64 data at input byte %zu", bad[i].off);
		if (strcmp(err.msg, want))
			fail_msg("'%s': got \"%s\", want \"%s\"", bad[i].in, err.msg, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encode_vectors),
		cmocka_unit_test(binary_round_trip),
		cmocka_unit_test(newlines_ignored),
		cmocka_unit_test(rejects_with_offset),
	};
	return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
