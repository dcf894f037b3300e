/* test_listscan.c — the streaming list scanner: events and spans, any piece size, escaped
 * names, and the errors (malformed, truncated, too big). */
#include "testutil.h"

#include "kube/listscan.h"

#include <stdio.h>
#include <string.h>

/* Scan doc in pieces of n bytes (0: whole); write "I:<item>|F:<key>=<value>|" into out.
 * Returns the scanner's final code (0 on END). */
static int scan(const char *doc, size_t n, char *out, size_t outsz, size_t max_item,
		struct ks_err *err)
{
	size_t size = strlen(doc), len = 0, fed = 0, o = 0;
	char *buf = ks_malloc(size + 1);
	struct kube_listscan ls;
	kube_listscan_init(&ls, max_item);
	out[0] = '\0';
	for (;;) {
		struct kube_ls_span sp;
		int r = kube_listscan_next(&ls, buf, len, fed == size, &sp, err);
		if (r < 0 || r == KUBE_LS_END) {
			free(buf);
			return r < 0 ? r : 0;
		}
		if (r == KUBE_LS_ITEM) {
			o += (size_t)snprintf(out + o, outsz - o, "I:%.*s|", (int)sp.len,
					      buf + sp.off);
			continue;
		}
		if (r == KUBE_LS_FIELD) {
			o += (size_t)snprintf(out + o, outsz - o, "F:%.*s=%.*s|", (int)sp.key_len,
					      buf + sp.key_off, (int)sp.len, buf + sp.off);
			continue;
		}
		assert_true(fed < size);
		size_t drop = kube_listscan_droppable(&ls);
		memmove(buf, buf + drop, len - drop);
		len -= drop;
		kube_listscan_shift(&ls, drop);
		size_t piece = n && n < size - fed ? n : size - fed;
		memcpy(buf + len, doc + fed, piece);
		len += piece;
		fed += piece;
	}
}

static void events(void **state)
{
	(void)state;
	const char *doc = "\xef\xbb\xbf {\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":"
			  "{\"resourceVersion\":\"42\"},\"items\":[ {\"a\":\"x}]\\\"\\\\\"} "
			  ",\n[1,[2]],\"s\\\"\","
			  "-1.5e3,true, null ],\"after\":{\"items\":[9]},\"n\":12}\n ";
	const char *want = "F:kind=\"PodList\"|F:apiVersion=\"v1\"|F:metadata={\"resourceVersion\":"
			   "\"42\"}|I:{\"a\":\"x}]\\\"\\\\\"}|I:[1,[2]]|I:\"s\\\"\"|I:-1.5e3|I:"
			   "true|"
			   "I:null|F:after={\"items\":[9]}|F:n=12|";
	char out[1024];
	for (size_t n = 0; n < strlen(doc) + 2; n++) {
		struct ks_err e = {0};
		if (scan(doc, n, out, sizeof out, 1 << 20, &e))
			fail_msg("piece %zu: %s", n, e.msg);
		assert_string_equal(out, want);
	}
	/* an escaped name still names the items; an empty list; items that are not an array */
	assert_int_equal(scan("{\"it\\u0065ms\":[{}],\"items\":[],\"items\":null}", 0, out,
			      sizeof out, 1 << 20, NULL),
			 0);
	assert_string_equal(out, "I:{}|F:items=null|");
	assert_int_equal(scan("{}", 3, out, sizeof out, 100, NULL), 0);
	assert_string_equal(out, "");
}

static void errors(void **state)
{
	(void)state;
	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{"", "empty document"},
		{"[1]", "a list is a JSON object"},
		{"{\"items\":[1,]}", "expected a value"},
		{"{\"items\":[,1]}", "expected a value"},
		{"{\"items\":[1 2]}", "expected ',' or ']'"},
		{"{\"a\" 1}", "expected ':'"},
		{"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
		{"{\"a\":1,}", "expected a member name"},
		{"{1:2}", "expected a member name"},
		{"{\"items\":[{\"a\":\"}", "truncated inside a value"},
		{"{\"items\":[{}", "truncated list"},
		{"{\"na", "truncated inside a member name"},
		{"{} x", "trailing data"},
		{"{\"a\":}", "expected a value"},
	};
	char out[512];
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		for (size_t n = 0; n < 3; n++) {
			struct ks_err e = {0};
			int rc = scan(bad[i].doc, n, out, sizeof out, 1 << 20, &e);
			if (rc != KS_EINVAL)
				fail_msg("'%s' (pieces of %zu): rc %d", bad[i].doc, n, rc);
			assert_contains(e.msg, bad[i].msg);
		}
	}
	struct ks_err e = {0};
	assert_int_equal(scan("{\"items\":[{\"a\":\"0123456789\"}]}", 4, out, sizeof out, 10, &e),
			 KS_ETOOBIG);
	assert_contains(e.msg, "10-byte limit");
	assert_int_equal(scan("{\"items\":[\"0123456789abc\"]}", 0, out, sizeof out, 10, &e),
			 KS_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events),
		cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests_name("listscan", tests, NULL, NULL);
}
