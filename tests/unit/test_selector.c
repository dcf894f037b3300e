/* test_selector.c — label selectors (parse, String, match, LabelSelector objects) and field
 * selectors, with the cases of apimachinery's labels/selector_test.go ported, and the error
 * messages Kubernetes gives. */
#include "testutil.h"

#include "base/json.h"
#include "kube/selector.h"

#include <stdio.h>
#include <string.h>

#define KEY_MSG \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end " \
	"with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " \
	"regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_MSG \
	"a valid label must be an empty string or consist of alphanumeric characters, " \
	"'-', '_' or '.', and must start and end with an alphanumeric character (e.g. " \
	"'MyValue',  or 'my_value',  or '12345', regex used for validation is " \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static char *sel_string(const struct kube_selector *sel)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	assert_int_equal(kube_selector_format(sel, &b), 0);
	return ks_buf_detach(&b);
}

static char *field_string(const struct kube_fieldsel *fs)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	assert_int_equal(kube_fieldsel_format(fs, &b), 0);
	return ks_buf_detach(&b);
}

/* Parse s (with its length, so NULs can be passed) and compare String(). */
static void expect_parse(const char *s, size_t len, const char *want)
{
	struct kube_selector sel;
	struct ks_err e = {0};
	if (kube_selector_parse(s, len, &sel, &e) != 0)
		fail_msg("'%s': unexpected error: %s", s, e.msg);
	char *got = sel_string(&sel);
	if (strcmp(got, want) != 0)
		fail_msg("'%s': String() '%s', want '%s'", s, got, want);
	/* String() parses back to the same String() */
	struct kube_selector again;
	if (kube_selector_parse(got, strlen(got), &again, &e) != 0)
		fail_msg("'%s': reparse of '%s' failed: %s", s, got, e.msg);
	char *got2 = sel_string(&again);
	assert_string_equal(got2, got);
	free(got);
	free(got2);
	kube_selector_free(&sel);
	kube_selector_free(&again);
}

static void label_parse_good(void **state)
{
	(void)state;
	struct {
		const char *in, *out;
	} t[] = {
		/* TestSelectorParse (String() is the input without blanks) */
		{"x=a,y=b,z=c", "x=a,y=b,z=c"},
		{"", ""},
		{"x!=a,y=b", "x!=a,y=b"},
		{"x=", "x="},
		{"x= ", "x="},
		{"x=,z= ", "x=,z="},
		{"x= ,z= ", "x=,z="},
		{"!x", "!x"},
		{"x>1", "x>1"},
		{"x>1,z<5", "x>1,z<5"},
		/* TestDeterministicParse */
		{"x=a,a=x", "a=x,x=a"},
		{"a=x,x=a", "a=x,x=a"},
		/* TestSetSelectorParser */
		{"\rx", "x"},
		{"this-is-a-dns.domain.com/key-with-dash",
		 "this-is-a-dns.domain.com/key-with-dash"},
		{"this-is-another-dns.domain.com/key-with-dash in (so,what)",
		 "this-is-another-dns.domain.com/key-with-dash in (so,what)"},
		{"0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
		 "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"},
		{"foo  in\t (abc)", "foo in (abc)"},
		{"x notin\n (abc)", "x notin (abc)"},
		{"x  notin\t\t\t(abc,def)", "x notin (abc,def)"},
		{"x in (abc,def)", "x in (abc,def)"},
		{"x in (abc,)", "x in (,abc)"},
		{"x in ()", "x in ()"},
		{"x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()"},
		{"x,y in (a)", "x,y in (a)"},
		{"x=a", "x=a"},
		{"x<7", "x<7"},
		{"x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)"},
		{"x notin ( )", "x notin ()"},
		{"x notin (, a)", "x notin (,a)"},
		{"a ", "a"},
		{"a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"},
		/* TestToString and friends */
		{"x in (abc,def),y notin (jkl),z", "x in (abc,def),y notin (jkl),z"},
		{"x notin (abc,def),y!=jkl,!z", "x notin (abc,def),y!=jkl,!z"},
		{"x=abc,y==jkl,z!=a,z", "x=abc,y==jkl,z!=a,z"},
		{"x>2,y<8,z", "x>2,y<8,z"},
		/* more */
		{"notin=in", "notin=in"},
		{"in", "in"},
		{"notin,in", "in,notin"},
		{"x==a", "x==a"},
		{"x in (b,a,b)", "x in (a,b)"},
		{"x in (,,)", "x in ()"},
		{"x in (a,,b)", "x in (,a,b)"},
		{"b,a=1,a", "a=1,a,b"},
		{"x in(a)", "x in (a)"},
		{"x notin(a),y", "x notin (a),y"},
		{"! x", "!x"},
		{"x!=", "x!="},
		{"x>0", "x>0"},
		{"example.com/name=v", "example.com/name=v"},
		{"a.b-c_d=e.f-g_h", "a.b-c_d=e.f-g_h"},
		{" \t\r\nx \t\r\n= \t\r\ny \t\r\n", "x=y"},
		{"x=a,x=b", "x=a,x=b"},
		{"x in (a)", "x in (a)"},
		{"x notin (in)", "x notin (in)"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++)
		expect_parse(t[i].in, strlen(t[i].in), t[i].out);

	/* a NUL ends the token being read, and the input where a token would start */
	expect_parse("x=a \0garbage", 12, "x=a");
	expect_parse("x=\0y", 4, "x=y");
	expect_parse("x\0", 2, "x");
}

static void label_parse_bad(void **state)
{
	(void)state;
	char long_name[70], long_value[80], long_prefix[300];
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	memcpy(long_value, "x=", 2);
	memset(long_value + 2, 'a', 64);
	long_value[66] = '\0';
	memset(long_prefix, 'a', 254);
	memcpy(long_prefix + 254, "/x", 3);
	struct {
		const char *in;
		const char *msg;
	} t[] = {
		/* TestSelectorParse and TestSetSelectorParser */
		{"x=a||y=b",
		 "label selector 'x=a||y=b': unable to parse requirement: values[0][x]: "
		 "Invalid value: \"a||y\": " VALUE_MSG},
		{"x==a==b",
		 "label selector 'x==a==b': found '==', expected: ',' or 'end of string'"},
		{"!x=a", "found '=', expected: ',' or 'end of string'"},
		{"x<a",
		 "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
		 "operators, the value must be an integer"},
		{"x,,y", "found ',', expected: identifier after ','"},
		{",x,y", "found ',', expected: !, identifier, or 'end of string'"},
		{"x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, "
				  "=, ==, !=, gt, lt"},
		{"a in (xyz),", "found '', expected: identifier after ','"},
		{"a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"},
		{"a in (xyz abc)",
		 "unable to parse requirement: found 'abc', expected: ',' or ')'"},
		{"a notin(",
		 "unable to parse requirement: found '', expected: ',', ')' or identifier"},
		{"a (",
		 "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"},
		{"(", "found '(', expected: !, identifier, or 'end of string'"},
		/* more */
		{"x in a", "unable to parse requirement: found 'a' expected: '('"},
		{"x in (a,=)",
		 "unable to parse requirement: found '=', expected: ',', or identifier"},
		{"x in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
		{"x in (a,", "unable to parse requirement: found '', expected: ',', or identifier"},
		{"x=(", "unable to parse requirement: found '(', expected: identifier"},
		{"!", "unable to parse requirement: found '', expected: identifier"},
		{"!!x", "unable to parse requirement: found '!', expected: identifier"},
		{"!x in (a)", "found 'in', expected: ',' or 'end of string'"},
		{"x=a b", "found 'b', expected: ',' or 'end of string'"},
		{"=", "found '=', expected: !, identifier, or 'end of string'"},
		{"x>",
		 "values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an "
		 "integer"},
		{"x<-0", "values[0][x]: Invalid value: \"-0\": " VALUE_MSG},
		{"x>-1",
		 "unable to parse requirement: values[0][x]: Invalid value: \"-1\": " VALUE_MSG},
		{"x>99999999999999999999",
		 "values[0]: Invalid value: \"99999999999999999999\": for "
		 "'Gt', 'Lt' operators, the value must be an integer"},
		{"x>a-",
		 "unable to parse requirement: [values[0]: Invalid value: \"a-\": for 'Gt', 'Lt' "
		 "operators, the value must be an integer, values[0][x]: Invalid value: "
		 "\"a-\": " VALUE_MSG "]"},
		{"x=-a",
		 "unable to parse requirement: values[0][x]: Invalid value: \"-a\": " VALUE_MSG},
		{"x in (a,-b,c-)", "[values[0][x]: Invalid value: \"-b\": " VALUE_MSG
				   ", values[2][x]: Invalid value: \"c-\": " VALUE_MSG "]"},
		{"x=\"a\"", "values[0][x]: Invalid value: \"\\\"a\\\"\": "},
		{long_value,
		 "values[0][x]: Invalid value: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaa\": must be no more than 63 bytes"},
		/* keys */
		{"-x",
		 "label selector '-x': unable to parse requirement: <nil>: Invalid value: \"-x\": "
		 "name part " KEY_MSG},
		{"a/b/c",
		 "<nil>: Invalid value: \"a/b/c\": a valid label key " KEY_MSG
		 " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
		{"/a", "<nil>: Invalid value: \"/a\": prefix part must be non-empty"},
		{"a/",
		 "<nil>: Invalid value: \"a/\": name part must be non-empty; name part " KEY_MSG},
		{"Example.com/a",
		 "<nil>: Invalid value: \"Example.com/a\": prefix part a lowercase RFC 1123 "
		 "subdomain "
		 "must consist of lower case alphanumeric characters, '-' or '.', and must start "
		 "and "
		 "end with an alphanumeric character (e.g. 'example.com', regex used for "
		 "validation is "
		 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
		{"a..b/c", "prefix part a lowercase RFC 1123 subdomain"},
		{"-a.b/c", "prefix part a lowercase RFC 1123 subdomain"},
		{long_name, "name part must be no more than 63 bytes"},
		{long_prefix, "prefix part must be no more than 253 bytes"},
		{"x\x01=a",
		 "label selector 'x\\x01=a': unable to parse requirement: <nil>: Invalid "
		 "value: \"x\\x01\": name part"},
		{"\xc3\xa9=a", "<nil>: Invalid value: \"\xc3\xa9\": name part"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		struct kube_selector sel;
		struct ks_err e = {0};
		int rc = kube_selector_parse(t[i].in, strlen(t[i].in), &sel, &e);
		if (rc != KS_EINVAL)
			fail_msg("'%s': parsed", t[i].in);
		assert_int_equal(e.code, KS_EINVAL);
		assert_contains(e.msg, t[i].msg);
		assert_int_equal(sel.nreqs, 0);
		kube_selector_free(&sel);
	}
	/* "x=a\0y" with its NUL */
	struct kube_selector sel;
	struct ks_err e = {0};
	assert_int_equal(kube_selector_parse("x=a\0y", 5, &sel, &e), KS_EINVAL);
	assert_contains(e.msg,
			"label selector 'x=a\\x00y': found 'y', expected: ',' or 'end of string'");

	/* the length ceiling */
	size_t n = KUBE_SELECTOR_MAX_LEN + 1;
	char *big = ks_malloc(n);
	memset(big, 'a', n);
	assert_int_equal(kube_selector_parse(big, n, &sel, &e), KS_ETOOBIG);
	assert_string_equal(e.msg, "label selector of 65537 bytes exceeds the 65536-byte limit");
	/* just under it: 32768 requirements "a,a,...,a" */
	for (size_t i = 1; i < n - 1; i += 2)
		big[i] = ',';
	assert_int_equal(kube_selector_parse(big, n - 2, &sel, &e), 0);
	assert_int_equal(sel.nreqs, 32768);
	kube_selector_free(&sel);
	free(big);
}

static bool match_str(const char *selector, const char *const *kv, size_t n)
{
	const char *keys[8], *values[8];
	for (size_t i = 0; i < n; i++) {
		keys[i] = kv[2 * i];
		values[i] = kv[2 * i + 1];
	}
	struct kube_selector sel;
	struct ks_err e = {0};
	if (kube_selector_parse(selector, strlen(selector), &sel, &e) != 0)
		fail_msg("'%s': %s", selector, e.msg);
	bool m = kube_selector_matches_kv(&sel, keys, values, n);
	kube_selector_free(&sel);
	return m;
}

#define SET(...) ((const char *const[]){__VA_ARGS__})
#define MATCH(sel, ...)                                                                            \
	match_str(sel, SET(__VA_ARGS__), sizeof(SET(__VA_ARGS__)) / sizeof(char *) / 2)

static void label_matching(void **state)
{
	(void)state;
	const char *const none[] = {NULL};
	/* TestSelectorMatches */
	assert_true(MATCH("", "x", "y"));
	assert_true(MATCH("x=y", "x", "y"));
	assert_true(MATCH("x=y,z=w", "x", "y", "z", "w"));
	assert_true(MATCH("x!=y,z!=w", "x", "z", "z", "a"));
	assert_true(MATCH("notin=in", "notin", "in"));
	assert_true(MATCH("x", "x", "z"));
	assert_true(MATCH("!x", "y", "z"));
	assert_true(MATCH("x>1", "x", "2"));
	assert_true(MATCH("x<1", "x", "0"));
	assert_false(match_str("x=z", none, 0));
	assert_false(MATCH("x=y", "x", "z"));
	assert_false(MATCH("x=y,z=w", "x", "w", "z", "w"));
	assert_false(MATCH("x!=y,z!=w", "x", "z", "z", "w"));
	assert_false(MATCH("x", "y", "z"));
	assert_false(MATCH("!x", "x", "z"));
	assert_false(MATCH("x>1", "x", "0"));
	assert_false(MATCH("x<1", "x", "2"));
	assert_true(MATCH("foo=bar", "foo", "bar", "baz", "blah"));
	assert_true(MATCH("baz=blah", "foo", "bar", "baz", "blah"));
	assert_true(MATCH("foo=bar,baz=blah", "foo", "bar", "baz", "blah"));
	assert_false(MATCH("foo=blah", "foo", "bar", "baz", "blah"));
	assert_false(MATCH("baz=bar", "foo", "bar", "baz", "blah"));
	assert_false(MATCH("foo=bar,foobar=bar,baz=blah", "foo", "bar", "baz", "blah"));
	/* TestRequirementSelectorMatching */
	assert_true(MATCH("x in (foo),y notin (alpha)", "x", "foo", "y", "baz"));
	assert_false(MATCH("x in (foo),y in (alpha)", "x", "foo", "y", "baz"));
	assert_true(MATCH("x notin (),y", "y", ""));
	assert_true(MATCH("!x,y", "y", ""));
	assert_false(MATCH("x notin (),!y", "y", ""));
	assert_false(MATCH("x in ()", "y", "baz"));
	assert_true(MATCH("x in ()", "x", ""));
	assert_true(MATCH("z>1", "z", "2"));
	assert_false(MATCH("z>1", "z", "v2"));
	/* more */
	assert_true(MATCH("x=", "x", ""));
	assert_false(MATCH("x=", "y", ""));
	assert_true(MATCH("x!=", "y", ""));
	assert_true(MATCH("x notin (a)", "y", "a"));
	assert_false(MATCH("x in (a,b)", "x", "c"));
	assert_true(MATCH("x in (a,b)", "x", "b"));
	assert_true(MATCH("x>1", "x", "+5"));
	assert_true(MATCH("x>1", "x", "05"));
	assert_false(MATCH("x>1", "x", "1"));
	assert_false(MATCH("x<1", "x", ""));
	assert_true(MATCH("x<1", "x", "-9223372036854775808"));
	assert_true(MATCH("x>9223372036854775806", "x", "9223372036854775807"));
	assert_false(MATCH("x>9223372036854775806", "x", "9223372036854775808"));
	assert_false(MATCH("x>1", "y", "5"));
	assert_true(MATCH("a,a=1,!b", "a", "1"));

	/* JSON labels */
	const char *doc =
		"{\"app\":\"web\",\"tier\":\"fe\",\"n\":5,\"app.kubernetes.io/name\":\"x\"}";
	cJSON *labels = ks_json_parse(doc, strlen(doc), 1 << 20, NULL);
	assert_non_null(labels);
	struct {
		const char *sel;
		bool want;
	} j[] = {
		{"app=web", true}, {"app in (web,api),tier", true}, {"app!=web", false},
		{"n", false}, {"!n", true}, {"app.kubernetes.io/name=x", true}, {"missing", false},
		{"", true}, {"tier notin (fe)", false},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(j); i++) {
		struct kube_selector sel;
		assert_int_equal(kube_selector_parse(j[i].sel, strlen(j[i].sel), &sel, NULL), 0);
		if (kube_selector_matches_json(&sel, labels) != j[i].want)
			fail_msg("'%s' on %s", j[i].sel, doc);
		kube_selector_free(&sel);
	}
	struct kube_selector sel;
	assert_int_equal(kube_selector_parse("!app", 4, &sel, NULL), 0);
	assert_true(kube_selector_matches_json(&sel, NULL)); /* no labels at all */
	assert_false(kube_selector_matches_json(&sel, labels));
	kube_selector_free(&sel);
	cJSON_Delete(labels);
}

static void label_selector_objects(void **state)
{
	(void)state;
	struct {
		const char *json; /* NULL: a missing selector */
		const char *out;
		bool nothing, empty;
	} t[] = {
		{NULL, "", true, false},
		{"null", "", true, false},
		{"{}", "", false, true},
		{"{\"matchLabels\":{}}", "", false, true},
		{"{\"matchLabels\":null,\"matchExpressions\":[]}", "", false, true},
		{"{\"matchLabels\":{\"b\":\"2\",\"a\":\"1\"},\"matchExpressions\":["
		 "{\"key\":\"c\",\"operator\":\"In\",\"values\":[\"y\",\"x\",\"x\"]},"
		 "{\"key\":\"a\",\"operator\":\"Exists\"}]}",
		 "a=1,a,b=2,c in (x,x,y)", false, false},
		{"{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"NotIn\",\"values\":[\"v\"]},"
		 "{\"key\":\"d\",\"operator\":\"DoesNotExist\",\"values\":null}]}",
		 "!d,k notin (v)", false, false},
		{"{\"matchLabels\":{\"app\":\"\"}}", "app=", false, false},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		cJSON *j = t[i].json ? ks_json_parse(t[i].json, strlen(t[i].json), 1 << 20, NULL)
				     : NULL;
		assert_true(!t[i].json || j);
		struct kube_selector sel;
		struct ks_err e = {0};
		if (kube_selector_from_json(j, &sel, &e) != 0)
			fail_msg("%s: %s", t[i].json, e.msg);
		char *s = sel_string(&sel);
		assert_string_equal(s, t[i].out);
		assert_int_equal(sel.nothing, t[i].nothing);
		assert_int_equal(kube_selector_empty(&sel), t[i].empty);
		const char *k[] = {"a", "b", "c"}, *v[] = {"1", "2", "x"};
		bool m = kube_selector_matches_kv(&sel, k, v, 3);
		if (t[i].nothing)
			assert_false(m);
		if (t[i].empty)
			assert_true(m);
		if (i == 5)
			assert_true(m);
		free(s);
		kube_selector_free(&sel);
		cJSON_Delete(j);
	}

	struct {
		const char *json, *msg;
	} bad[] = {
		{"[]", "label selector: not a JSON object"},
		{"{\"matchLabels\":[]}", "label selector: matchLabels is not an object"},
		{"{\"matchExpressions\":{}}", "label selector: matchExpressions is not an array"},
		{"{\"matchLabels\":{\"a\":1}}",
		 "label selector: matchLabels \"a\" is not a string"},
		{"{\"matchLabels\":{\"-a\":\"1\"}}",
		 "label selector matchLabels: key: Invalid value: \"-a\": name part " KEY_MSG},
		{"{\"matchLabels\":{\"a\":\"-1\"}}",
		 "label selector matchLabels: values[0][a]: Invalid value: \"-1\": " VALUE_MSG},
		{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}",
		 "label selector matchExpressions[0]: \"Foo\" is not a valid label selector "
		 "operator"},
		{"{\"matchExpressions\":[{\"key\":\"a\"}]}",
		 "label selector matchExpressions[0]: \"\" is not a valid label selector operator"},
		{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
		 "label selector matchExpressions[0]: values: Invalid value: []string(nil): for "
		 "'in', "
		 "'notin' operators, values set can't be empty"},
		{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}",
		 "values set can't be empty"},
		{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},"
		 "{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\",\"y\"]}]}",
		 "label selector matchExpressions[1]: values: Invalid value: []string{\"x\", "
		 "\"y\"}: "
		 "values set must be empty for exists and does not exist"},
		{"{\"matchExpressions\":[{\"operator\":\"Exists\"}]}",
		 "label selector matchExpressions[0]: key: Invalid value: \"\": name part must be "
		 "non-empty; name part " KEY_MSG},
		{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]}",
		 "label selector matchExpressions[0]: values must be strings"},
		{"{\"matchExpressions\":[3]}", "label selector matchExpressions[0]: not an object"},
		{"{\"matchExpressions\":[{\"key\":5,\"operator\":\"In\"}]}",
		 "key and operator must be strings, values an array"},
		{"{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"In\",\"values\":[\"ok\",\"-"
		 "x\","
		 "\"y-\"]}]}",
		 "label selector matchExpressions[0]: [values[1][k]: Invalid value: "
		 "\"-x\": " VALUE_MSG ", values[2][k]: Invalid value: \"y-\": " VALUE_MSG "]"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		cJSON *j = ks_json_parse(bad[i].json, strlen(bad[i].json), 1 << 20, NULL);
		assert_non_null(j);
		struct kube_selector sel;
		struct ks_err e = {0};
		assert_int_equal(kube_selector_from_json(j, &sel, &e), KS_EINVAL);
		assert_contains(e.msg, bad[i].msg);
		assert_int_equal(sel.nreqs, 0);
		kube_selector_free(&sel);
		cJSON_Delete(j);
	}
}

static void field_parse(void **state)
{
	(void)state;
	struct {
		const char *in, *out;
		size_t n;
	} t[] = {
		{"", "", 0}, {",", "", 0}, {",,", "", 0}, {"a=b", "a=b", 1}, {"a==b", "a=b", 1},
		{"a!=b", "a!=b", 1}, {"a=", "a=", 1}, {"a==", "a=", 1}, {"a!=", "a!=", 1},
		{"metadata.name=foo,spec.nodeName=", "metadata.name=foo,spec.nodeName=", 2},
		{"spec.nodeName=,metadata.name=foo", "metadata.name=foo,spec.nodeName=", 2},
		{"b=1,a!=2", "a!=2,b=1", 2}, {"a=b\\,c", "a=b\\,c", 1}, {"a=b\\=c", "a=b\\=c", 1},
		{"a=b\\\\c", "a=b\\\\c", 1}, {"x=\\,,y=1", "x=\\,,y=1", 2},
		{"=", "", 0}, {"!=", "", 0}, {"==", "", 0}, {"=x", "=x", 1}, {"!=x", "!=x", 1},
		{"a!b=c", "a!b=c", 1}, {"a=!b", "a=!b", 1}, {"a = b", "a = b", 1},
		{"status.phase!=Running,status.phase!=Succeeded",
		 "status.phase!=Running,status.phase!=Succeeded", 2},
		{"a==z,a=b", "a=z,a=b", 2} /* sorted as written: "a==z" < "a=b" */,
		{"a=b,,c=d,", "a=b,c=d", 2}, {"\xc3\xa9=\xc3\xa9", "\xc3\xa9=\xc3\xa9", 1},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		struct kube_fieldsel fs;
		struct ks_err e = {0};
		if (kube_fieldsel_parse(t[i].in, strlen(t[i].in), &fs, &e) != 0)
			fail_msg("'%s': %s", t[i].in, e.msg);
		assert_int_equal(fs.nreqs, t[i].n);
		char *s = field_string(&fs);
		if (strcmp(s, t[i].out) != 0)
			fail_msg("'%s': String() '%s', want '%s'", t[i].in, s, t[i].out);
		free(s);
		kube_fieldsel_free(&fs);
	}

	struct kube_fieldsel fs;
	assert_int_equal(kube_fieldsel_parse("a=b\\,c\\\\,x!=\\=", 14, &fs, NULL), 0);
	assert_int_equal(fs.nreqs, 2);
	assert_string_equal(fs.reqs[0].field, "a");
	assert_string_equal(fs.reqs[0].value, "b,c\\");
	assert_int_equal(fs.reqs[0].op, KUBE_FIELD_EQ);
	assert_string_equal(fs.reqs[1].field, "x");
	assert_string_equal(fs.reqs[1].value, "=");
	assert_int_equal(fs.reqs[1].op, KUBE_FIELD_NEQ);
	kube_fieldsel_free(&fs);

	struct {
		const char *in, *msg;
	} bad[] = {
		{"abc", "invalid selector: 'abc'; can't understand 'abc'"},
		{"a=b,abc", "invalid selector: 'a=b,abc'; can't understand 'abc'"},
		{"a=b=c", "field selector 'a=b=c': invalid field selector: unescaped character in "
			  "value: 61 ('=')"},
		{"a===b", "unescaped character in value: 61"},
		{"a=b\\",
		 "field selector 'a=b\\x5c': invalid field selector: invalid escape sequence: \\"},
		{"a=b\\x", "invalid field selector: invalid escape sequence: \\x"},
		{"a=b\\!", "invalid field selector: invalid escape sequence: \\!"},
		{"a=b\\\xc3\xa9", "invalid escape sequence: \\\\xc3\\xa9"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		struct ks_err e = {0};
		assert_int_equal(kube_fieldsel_parse(bad[i].in, strlen(bad[i].in), &fs, &e),
				 KS_EINVAL);
		assert_contains(e.msg, bad[i].msg);
		assert_int_equal(fs.nreqs, 0);
		kube_fieldsel_free(&fs);
	}
	struct ks_err e = {0};
	assert_int_equal(kube_fieldsel_parse("a=b\0c", 5, &fs, &e), KS_EINVAL);
	assert_string_equal(e.msg, "field selector 'a=b\\x00c': NUL byte at offset 3");
	char *big = ks_malloc(KUBE_SELECTOR_MAX_LEN + 1);
	memset(big, 'a', KUBE_SELECTOR_MAX_LEN + 1);
	assert_int_equal(kube_fieldsel_parse(big, KUBE_SELECTOR_MAX_LEN + 1, &fs, &e), KS_ETOOBIG);
	assert_string_equal(e.msg, "field selector of 65537 bytes exceeds the 65536-byte limit");
	free(big);
	assert_int_equal(kube_fieldsel_parse(NULL, 0, &fs, NULL), 0);
	assert_int_equal(fs.nreqs, 0);
}

static const char *upper_lookup(void *ctx, const char *field)
{
	(void)ctx;
	return strcmp(field, "kind") == 0 ? "Pod" : "";
}

static void field_matching(void **state)
{
	(void)state;
	const char *pod =
		"{\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\"},"
		"\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":true,\"priority\":5,"
		"\"ratio\":0.5,\"containers\":[],\"x\":{}},\"status\":{\"phase\":\"Running\"}}";
	const char *pending = "{\"metadata\":{\"name\":\"p2\"},\"spec\":{},\"status\":null}";
	cJSON *a = ks_json_parse(pod, strlen(pod), 1 << 20, NULL);
	cJSON *b = ks_json_parse(pending, strlen(pending), 1 << 20, NULL);
	assert_non_null(a);
	assert_non_null(b);
	struct {
		const char *sel;
		bool a, b;
	} t[] = {
		{"", true, true},
		{"metadata.name=p1", true, false},
		{"metadata.name!=p1", false, true},
		{"metadata.name==p2", false, true},
		{"spec.nodeName=", false, true},
		{"spec.nodeName!=", true, false},
		{"spec.nodeName=n1,status.phase=Running", true, false},
		{"status.phase=", false, true},
		{"status.phase!=Running,status.phase!=Succeeded", false, true},
		{"spec.hostNetwork=true", true, false},
		{"spec.hostNetwork=false", false, false},
		{"spec.priority=5", true, false},
		{"spec.ratio=0.5", true, false},
		{"spec.schedulerName=", true, true},
		{"spec.containers=", false, true},
		{"spec.containers!=x", true, true},
		{"spec.x=", false, true},
		{"metadata.namespace=default", true, false},
		{"metadata.namespace=", false, true},
		{"=x", false, false},
		{"!=x", true, true},
		{"metadata..name=p1", false, false},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		struct kube_fieldsel fs;
		struct ks_err e = {0};
		if (kube_fieldsel_parse(t[i].sel, strlen(t[i].sel), &fs, &e) != 0)
			fail_msg("'%s': %s", t[i].sel, e.msg);
		if (kube_fieldsel_matches_json(&fs, a) != t[i].a)
			fail_msg("'%s' on the running pod", t[i].sel);
		if (kube_fieldsel_matches_json(&fs, b) != t[i].b)
			fail_msg("'%s' on the pending pod", t[i].sel);
		kube_fieldsel_free(&fs);
	}
	struct kube_fieldsel fs;
	assert_int_equal(kube_fieldsel_parse("kind=Pod,other=", 15, &fs, NULL), 0);
	assert_true(kube_fieldsel_matches(&fs, upper_lookup, NULL));
	kube_fieldsel_free(&fs);
	cJSON_Delete(a);
	cJSON_Delete(b);

	/* for a URL the String() form is percent-encoded */
	struct ks_buf url;
	ks_buf_init(&url, KS_BUF_UNLIMITED);
	assert_int_equal(kube_fieldsel_parse("spec.nodeName=n\\,1", 18, &fs, NULL), 0);
	char *s = field_string(&fs);
	ks_buf_append_urlenc(&url, s);
	assert_string_equal(url.data, "spec.nodeName%3Dn%5C%2C1");
	free(s);
	kube_fieldsel_free(&fs);
	ks_buf_release(&url);

	/* the format output honours its buffer's ceiling */
	struct kube_selector sel;
	assert_int_equal(kube_selector_parse("x in (a,b)", 10, &sel, NULL), 0);
	struct ks_buf small;
	ks_buf_init(&small, 4);
	assert_int_equal(kube_selector_format(&sel, &small), KS_ETOOBIG);
	ks_buf_release(&small);
	kube_selector_free(&sel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_parse_good),       cmocka_unit_test(label_parse_bad),
		cmocka_unit_test(label_matching),         cmocka_unit_test(label_selector_objects),
		cmocka_unit_test(field_parse),            cmocka_unit_test(field_matching),
	};
	return cmocka_run_group_tests_name("selector", tests, NULL, NULL);
}
