/* test_base.c — buffers, errors, JSON helpers and RFC 3339 times. */
#include "testutil.h"

#include "base/embed.h"
#include "base/fileutil.h"
#include "base/json.h"
#include "base/strutil.h"
#include "base/termsafe.h"
#include "base/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void buf_ceiling(void **state)
{
	(void)state;
	struct ks_buf b;
	ks_buf_init(&b, 8);
	assert_int_equal(ks_buf_appendstr(&b, "12345"), 0);
	assert_int_equal(ks_buf_appendstr(&b, "6789"), KS_ETOOBIG);
	assert_string_equal(b.data, "12345"); /* unchanged by the failed append */
	assert_int_equal(ks_buf_appendf(&b, "%d", 678), 0);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(ks_buf_appendc(&b, 'x'), KS_ETOOBIG);
	ks_buf_consume(&b, 3);
	assert_string_equal(b.data, "45678");
	ks_buf_release(&b);
}

static void buf_escapes(void **state)
{
	(void)state;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_append_json_string(&b, "a\"b\\c\n\x01");
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
	ks_buf_reset(&b);
	ks_buf_append_urlenc(&b, "app in (a,b),tier!=x y");
	assert_string_equal(b.data, "app%20in%20%28a%2Cb%29%2Ctier%21%3Dx%20y");
	ks_buf_release(&b);
}

static void err_wrap(void **state)
{
	(void)state;
	struct ks_err e = {0};
	assert_int_equal(ks_err_set(&e, KS_ENOTFOUND, "cluster '%s' not defined", "prod"),
			 KS_ENOTFOUND);
	ks_err_wrap(&e, "kubeconfig %s:%d", "/k", 3);
	assert_string_equal(e.msg, "kubeconfig /k:3: cluster 'prod' not defined");
	assert_int_equal(ks_err_set(NULL, KS_EIO, "x"), KS_EIO);
}

static void json_paths(void **state)
{
	(void)state;
	const char *doc = "{\"metadata\":{\"name\":\"p\",\"labels\":{\"app.kubernetes.io/name\":\"x\"}},"
			  "\"spec\":{\"replicas\":3,\"paused\":true}}  \n";
	struct ks_err e = {0};
	cJSON *j = ks_json_parse(doc, strlen(doc), 1 << 20, &e);
	assert_non_null(j);
	assert_string_equal(ks_json_str(j, "metadata.name"), "p");
	assert_int_equal(ks_json_int_or(j, "spec.replicas", -1), 3);
	assert_true(ks_json_bool_or(j, "spec.paused", false));
	assert_null(ks_json_str(j, "spec.replicas"));
	assert_string_equal(
		ks_json_child(ks_json_get(j, "metadata.labels"), "app.kubernetes.io/name")->valuestring,
		"x");
	cJSON_Delete(j);
	assert_null(ks_json_parse(doc, strlen(doc), 10, &e));
	assert_int_equal(e.code, KS_ETOOBIG);
	assert_null(ks_json_parse("{} x", 4, 100, &e));
	assert_int_equal(e.code, KS_EINVAL);
	assert_contains(e.msg, "trailing data");
	assert_null(ks_json_parse("{\"a\":", 5, 100, &e));
}

static void rfc3339(void **state)
{
	(void)state;
	struct {
		const char *in;
		int64_t ns;
	} ok[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2026-11-21T10:00:02Z", 1795255202LL * 1000000000LL},
		{"2026-11-21T10:00:02.5Z", 1795255202LL * 1000000000LL + 500000000},
		{"2026-11-21t10:00:02.123456789z", 1795255202LL * 1000000000LL + 123456789},
		{"2026-11-21T15:30:02+05:30", 1795255202LL * 1000000000LL},
		{"2024-02-29T00:00:00Z", 1709164800LL * 1000000000LL},
		{"1969-12-31T23:59:59Z", -1000000000LL},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(ok); i++) {
		int64_t ns = 0;
		struct ks_err e = {0};
		if (ks_time_parse_rfc3339(ok[i].in, strlen(ok[i].in), &ns, &e))
			fail_msg("%s: %s", ok[i].in, e.msg);
		assert_int_equal(ns, ok[i].ns);
	}
	const char *bad[] = {"", "2026-11-21", "2026-11-21T10:00:02", "2026-13-01T00:00:00Z",
			     "2023-02-29T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T10:00:02.Z",
			     "2026-11-21T10:00:02Zjunk", "2026-11-21 10:00:02Z", "2026-11-21T10:00:02+0530"};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		int64_t ns;
		struct ks_err e = {0};
		if (ks_time_parse_rfc3339(bad[i], strlen(bad[i]), &ns, &e) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_contains(e.msg, "invalid RFC 3339 time");
	}
	/* Found by fuzz_rfc3339: nanoseconds since 1970 overflow int64 after 2262. */
	int64_t ns;
	struct ks_err e = {0};
	assert_int_equal(ks_time_parse_rfc3339("2626-11-21T10:00:04Z", 20, &ns, &e), KS_EINVAL);
	assert_contains(e.msg, "outside the years 1678 to 2262");
	char out[40];
	ks_time_format_rfc3339(1795255202, out, sizeof out);
	assert_string_equal(out, "2026-11-21T10:00:02Z");
	ks_time_format_rfc3339_ms(-1, out, sizeof out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	ks_time_format_rfc3339_micro(1795255202123456LL, out, sizeof out);
	assert_string_equal(out, "2026-11-21T10:00:02.123456Z");
}

static void ages(void **state)
{
	(void)state;
	struct {
		int64_t s;
		const char *want;
	} cases[] = {{-5, "<invalid>"}, {-1, "0s"}, {0, "0s"}, {119, "119s"}, {120, "2m"},
		     {125, "2m5s"}, {600, "10m"}, {179 * 60 + 59, "179m"}, {3 * 3600, "3h"},
		     {3 * 3600 + 60, "3h1m"}, {8 * 3600, "8h"}, {47 * 3600, "47h"},
		     {48 * 3600, "2d"}, {50 * 3600, "2d2h"}, {8 * 86400, "8d"},
		     {730 * 86400, "2y"}, {731 * 86400, "2y1d"}, {3000 * 86400, "8y"}};
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		char out[32];
		ks_time_format_age(cases[i].s, out, sizeof out);
		assert_string_equal(out, cases[i].want);
	}
}

/* What scripts/embed.sh compiled in is the file in the repository, byte for byte. */
static void embedded_files(void **state)
{
	(void)state;
	const char *rel = "deploy/crds/karpenter.sh_nodepools.yaml";
	const struct ks_embedded *e = ks_embedded_find(rel);
	assert_non_null(e);
	char *path = ks_asprintf("%s/%s", getenv("KSWARM_SRCDIR") ? getenv("KSWARM_SRCDIR") : ".",
				 rel);
	struct ks_buf b;
	ks_buf_init(&b, 1 << 20);
	struct ks_err err = {0};
	assert_int_equal(ks_buf_read_file(&b, path, &err), 0);
	assert_int_equal(e->len, b.len);
	assert_memory_equal(e->data, b.data, b.len);
	assert_int_equal(e->data[e->len], '\0');
	assert_null(ks_embedded_find("deploy/crds/nope.yaml"));
	ks_buf_release(&b);
	free(path);
}

static void parse_int64(void **state)
{
	(void)state;
	int64_t v;
	assert_true(ks_parse_int64("42", &v) && v == 42);
	assert_true(ks_parse_int64("-7", &v) && v == -7);
	assert_true(ks_parse_int64("+0", &v) && v == 0);
	assert_true(ks_parse_int64("9223372036854775807", &v) && v == INT64_MAX);
	assert_true(ks_parse_int64("-9223372036854775808", &v) && v == INT64_MIN);
	static const char *const bad[] = {"", "-", "+", "9223372036854775808",
					  "-9223372036854775809", "1.0", "1e3", " 1", "0x10"};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++)
		assert_false(ks_parse_int64(bad[i], &v));
}

/* ks_mkdir_p makes every missing parent and accepts existing ones; ks_read_secret_line reads
 * the first line without its space, refuses an empty file and wraps read errors. */
static void file_helpers(void **state)
{
	(void)state;
	char *root = tu_mkdtemp();
	char *deep = ks_asprintf("%s/a/b/c", root);
	struct ks_err err = {0};
	assert_int_equal(ks_mkdir_p(deep, 0700, &err), 0);
	assert_int_equal(ks_mkdir_p(deep, 0700, &err), 0);
	struct stat sb;
	assert_int_equal(stat(deep, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	char *path = ks_asprintf("%s/token", root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("  s3cret \r\nsecond line\n", f);
	fclose(f);
	char *tok = NULL;
	assert_int_equal(ks_read_secret_line(path, "auth.token_file", 1024, &tok, &err), 0);
	assert_string_equal(tok, "s3cret");
	free(tok);
	f = fopen(path, "w");
	fputs(" \n", f);
	fclose(f);
	assert_int_equal(ks_read_secret_line(path, "auth.token_file", 1024, &tok, &err), KS_EINVAL);
	assert_null(tok);
	assert_contains(err.msg, "auth.token_file ");
	assert_contains(err.msg, " is empty");
	char *missing = ks_asprintf("%s/none", root);
	assert_true(ks_read_secret_line(missing, "vault.token_file", 1024, &tok, &err) < 0);
	assert_contains(err.msg, "vault.token_file: ");
	char *blocked = ks_asprintf("%s/x", path); /* a directory under a file */
	assert_int_equal(ks_mkdir_p(blocked, 0700, &err), KS_EIO);
	assert_contains(err.msg, "creating ");
	free(blocked);
	free(missing);
	free(path);
	free(deep);
	free(root);
}

/* The pieces fed one after another; the whole output. */
static char *termsafe_of(const char *const *pieces)
{
	struct ks_termsafe t;
	ks_termsafe_init(&t);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	for (; *pieces; pieces++)
		ks_termsafe_feed(&t, *pieces, strlen(*pieces), &b);
	ks_buf_appendc(&b, '\0');
	return ks_buf_detach(&b);
}

static void termsafe(void **state)
{
	(void)state;
	static const struct {
		const char *pieces[4], *want;
	} cases[] = {
		{{"  plain text", NULL}, "plain text"},
		{{"a\n\n\tb \r c", NULL}, "a b c"},
		{{"red \x1b" "[1;3", "1mword\x1b" "[0m.", NULL}, "red word."},
		{{"title\x1b" "]0;pwned\x07 ok", NULL}, "title ok"},
		{{"osc\x1b" "]8;;http://x\x1b", "\\ end", NULL}, "osc end"},
		{{"two\x1b" "c byte", NULL}, "two byte"},
		{{"c1 \xc2", "\x9b" "31m x", NULL}, "c1 31m x"},
		{{"\xc2\xa9" " 2026 caf\xc3\xa9", NULL}, "\xc2\xa9" " 2026 caf\xc3\xa9"},
		{{"del\x7f\x7f" "ete", NULL}, "del ete"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = termsafe_of(cases[i].pieces);
		if (strcmp(got, cases[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].want);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_ceiling), cmocka_unit_test(buf_escapes),
		cmocka_unit_test(err_wrap),    cmocka_unit_test(json_paths),
		cmocka_unit_test(rfc3339),     cmocka_unit_test(ages),
		cmocka_unit_test(embedded_files), cmocka_unit_test(parse_int64),
		cmocka_unit_test(file_helpers), cmocka_unit_test(termsafe),
	};
	return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
