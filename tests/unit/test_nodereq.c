/* test_nodereq.c — node selector requirements: parsing and validation of the three JSON
 * shapes, matching as apimachinery's Requirement.Matches (cases after its selector_test.go),
 * nodeSelector AND affinity terms ORed, Karpenter's compatibility (Intersects, after its
 * requirements_test.go), and tolerations against taints (after v1 toleration_test.go). */
#include "testutil.h"

#include "base/json.h"
#include "kube/nodereq.h"

#include <stdio.h>
#include <string.h>

static cJSON *js(const char *s)
{
	cJSON *j = ks_json_parse(s, strlen(s), 1 << 20, NULL);
	assert_non_null(j);
	return j;
}

static void parse_term(const char *json, struct kube_nodereq_term *t)
{
	cJSON *j = js(json);
	struct ks_err err = {0};
	int rc = kube_nodereq_parse_list(j, t, &err);
	if (rc)
		fail_msg("%s: %s", json, err.msg);
	cJSON_Delete(j);
}

static void expect_list_error(const char *json, int code, const char *msg)
{
	cJSON *j = js(json);
	struct kube_nodereq_term t;
	struct ks_err err = {0};
	assert_int_equal(kube_nodereq_parse_list(j, &t, &err), code);
	assert_contains(err.msg, msg);
	kube_nodereq_term_free(&t);
	cJSON_Delete(j);
}

static void list_errors(void **state)
{
	(void)state;
	expect_list_error("{}", KS_EINVAL, "requirements: must be an array");
	expect_list_error("[1]", KS_EINVAL, "requirements[0]: a requirement must be an object");
	expect_list_error("[{\"operator\":\"In\",\"values\":[\"a\"]}]", KS_EINVAL,
			  "requirements[0].key: a non-empty string is required");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"Equals\"}]", KS_EINVAL,
			  "requirements[0].operator: 'Equals' is not a supported operator");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"In\"}]", KS_EINVAL,
			  "values: must be non-empty when operator is In");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[]}]", KS_EINVAL,
			  "values: must be non-empty when operator is NotIn");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]", KS_EINVAL,
			  "may not be specified when operator is Exists");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\",\"2\"]}]",
			  KS_EINVAL, "must have one element when operator is Gt");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"Lt\",\"values\":[\"1.5\"]}]", KS_EINVAL,
			  "requirements[0].values[0]: '1.5' is not an integer");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"Lt\",\"values\":[\"9223372036854775808\"]}]",
			  KS_EINVAL, "is not an integer");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]", KS_EINVAL,
			  "requirements[0].values[0]: must be a string");
	expect_list_error("[{\"key\":\"a\",\"operator\":\"Exists\",\"minValues\":0}]", KS_EINVAL,
			  "minValues: must be an integer from 1 to 50");
	/* the ceiling on values */
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&b, "[{\"key\":\"a\",\"operator\":\"In\",\"values\":[");
	for (int i = 0; i <= NODEREQ_MAX_VALUES; i++)
		ks_buf_appendf(&b, "%s\"v%d\"", i ? "," : "", i);
	ks_buf_appendstr(&b, "]}]");
	expect_list_error(b.data, KS_ETOOBIG, "more than 1000 values");
	ks_buf_release(&b);

	struct kube_nodereq_term t;
	parse_term("[{\"key\":\"karpenter.k8s.aws/instance-category\",\"operator\":\"In\","
		   "\"values\":[\"c\",\"m\"],\"minValues\":2},{\"key\":\"x\",\"operator\":\"Gt\","
		   "\"values\":[\"-7\"]}]", &t);
	assert_int_equal(t.nreqs, 2);
	assert_int_equal(t.reqs[0].min_values, 2);
	assert_int_equal(t.reqs[1].op, KUBE_NR_GT);
	assert_int_equal(t.reqs[1].num, -7);
	kube_nodereq_term_free(&t);
}

static void value_matching(void **state)
{
	(void)state;
	struct kube_nodereq_term t;
	parse_term("[{\"key\":\"k\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
		   "{\"key\":\"k\",\"operator\":\"NotIn\",\"values\":[\"a\"]},"
		   "{\"key\":\"k\",\"operator\":\"Exists\"},"
		   "{\"key\":\"k\",\"operator\":\"DoesNotExist\"},"
		   "{\"key\":\"k\",\"operator\":\"Gt\",\"values\":[\"5\"]},"
		   "{\"key\":\"k\",\"operator\":\"Lt\",\"values\":[\"5\"]}]", &t);
	const struct kube_nodereq *in = &t.reqs[0], *notin = &t.reqs[1], *ex = &t.reqs[2],
				  *dne = &t.reqs[3], *gt = &t.reqs[4], *lt = &t.reqs[5];
	assert_true(kube_nodereq_matches_value(in, "b"));
	assert_false(kube_nodereq_matches_value(in, "c"));
	assert_false(kube_nodereq_matches_value(in, NULL));
	assert_false(kube_nodereq_matches_value(notin, "a"));
	assert_true(kube_nodereq_matches_value(notin, "c"));
	assert_true(kube_nodereq_matches_value(notin, NULL)); /* absent: not in */
	assert_true(kube_nodereq_matches_value(ex, ""));
	assert_false(kube_nodereq_matches_value(ex, NULL));
	assert_true(kube_nodereq_matches_value(dne, NULL));
	assert_false(kube_nodereq_matches_value(dne, "a"));
	assert_true(kube_nodereq_matches_value(gt, "6"));
	assert_true(kube_nodereq_matches_value(gt, "+6"));
	assert_false(kube_nodereq_matches_value(gt, "5"));
	assert_false(kube_nodereq_matches_value(gt, "x"));
	assert_false(kube_nodereq_matches_value(gt, "6 "));
	assert_false(kube_nodereq_matches_value(gt, NULL));
	assert_false(kube_nodereq_matches_value(gt, "99999999999999999999"));
	assert_true(kube_nodereq_matches_value(lt, "-9223372036854775808"));
	assert_false(kube_nodereq_matches_value(lt, "5"));
	assert_false(kube_nodereq_matches_value(lt, NULL));
	kube_nodereq_term_free(&t);
}

static bool pod_matches(const char *pod, const char *labels)
{
	cJSON *p = js(pod), *l = js(labels);
	struct kube_nodereq_sel s;
	struct ks_err err = {0};
	if (kube_nodereq_from_pod(p, &s, &err))
		fail_msg("%s: %s", pod, err.msg);
	bool m = kube_nodereq_sel_matches_json(&s, l);
	kube_nodereq_sel_free(&s);
	cJSON_Delete(p);
	cJSON_Delete(l);
	return m;
}

#define AFF(terms)                                                                            \
	"\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":" \
	"{\"nodeSelectorTerms\":" terms "}}}"

static void pod_selectors(void **state)
{
	(void)state;
	const char *node = "{\"kubernetes.io/arch\":\"amd64\",\"zone\":\"a\",\"gen\":\"6\"}";
	assert_true(pod_matches("{\"spec\":{}}", node));
	assert_true(pod_matches("{\"spec\":{\"nodeSelector\":{}}}", node));
	assert_true(pod_matches("{\"spec\":{\"nodeSelector\":{\"zone\":\"a\"}}}", node));
	assert_false(pod_matches("{\"spec\":{\"nodeSelector\":{\"zone\":\"b\"}}}", node));
	/* terms are ORed */
	const char *either = "{\"spec\":{" AFF("[{\"matchExpressions\":[{\"key\":\"zone\","
		"\"operator\":\"In\",\"values\":[\"b\"]}]},{\"matchExpressions\":[{\"key\":\"gen\","
		"\"operator\":\"Gt\",\"values\":[\"5\"]}]}]") "}}";
	assert_true(pod_matches(either, node));
	assert_false(pod_matches(either, "{\"zone\":\"a\",\"gen\":\"5\"}"));
	/* nodeSelector ANDed with the terms */
	const char *both = "{\"spec\":{\"nodeSelector\":{\"kubernetes.io/arch\":\"arm64\"},"
		AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"Exists\"}]}]") "}}";
	assert_false(pod_matches(both, node));
	assert_true(pod_matches(both, "{\"kubernetes.io/arch\":\"arm64\",\"zone\":\"c\"}"));
	/* an empty term matches nothing; so does an empty term list */
	assert_false(pod_matches("{\"spec\":{" AFF("[{}]") "}}", node));
	assert_false(pod_matches("{\"spec\":{" AFF("[]") "}}", node));
	assert_true(pod_matches("{\"spec\":{" AFF("[{},{\"matchExpressions\":[{\"key\":\"zone\","
				"\"operator\":\"In\",\"values\":[\"a\"]}]}]") "}}", node));
	/* matchFields: metadata.name */
	assert_true(pod_matches("{\"spec\":{" AFF("[{\"matchFields\":[{\"key\":\"metadata.name\","
				"\"operator\":\"In\",\"values\":[\"n1\"]}]}]") "}}",
				"{\"metadata.name\":\"n1\"}"));

	/* errors name the field */
	struct {
		const char *pod, *msg;
	} bad[] = {
		{"{\"spec\":{\"nodeSelector\":{\"a\":1}}}", "spec.nodeSelector.a: must be a string"},
		{"{\"spec\":{\"nodeSelector\":[]}}", "spec.nodeSelector: must be an object"},
		{"{\"spec\":{" AFF("{}") "}}", "nodeSelectorTerms: must be an array"},
		{"{\"spec\":{" AFF("[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}]") "}}",
		 "nodeSelectorTerms[0].matchExpressions[0].values: must be non-empty"},
		{"{\"spec\":{" AFF("[{\"matchFields\":[{\"key\":\"spec.x\",\"operator\":\"In\","
				   "\"values\":[\"a\"]}]}]") "}}",
		 "nodeSelectorTerms[0].matchFields[0].key: 'spec.x' is not a supported field"},
		{"{\"spec\":{" AFF("[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\","
				   "\"minValues\":2}]}]") "}}", "minValues: not allowed here"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		cJSON *p = js(bad[i].pod);
		struct kube_nodereq_sel s;
		struct ks_err err = {0};
		assert_int_equal(kube_nodereq_from_pod(p, &s, &err), KS_EINVAL);
		assert_contains(err.msg, bad[i].msg);
		kube_nodereq_sel_free(&s);
		cJSON_Delete(p);
	}
}

static bool compat(const char *a, const char *b, char *why, size_t len)
{
	struct kube_nodereq_term ta, tb;
	parse_term(a, &ta);
	parse_term(b, &tb);
	bool r = kube_nodereq_compatible(&ta, &tb, why, len);
	kube_nodereq_term_free(&ta);
	kube_nodereq_term_free(&tb);
	return r;
}

#define R(k, op, vals) "{\"key\":\"" k "\",\"operator\":\"" op "\",\"values\":[" vals "]}"
#define E(k, op) "{\"key\":\"" k "\",\"operator\":\"" op "\"}"

static void compatibility(void **state)
{
	(void)state;
	char why[256];
	assert_true(compat("[" R("k", "In", "\"a\",\"b\"") "]", "[" R("k", "In", "\"b\"") "]", NULL,
			   0));
	assert_false(compat("[" R("k", "In", "\"a\",\"b\"") "]", "[" R("k", "In", "\"c\"") "]", why,
			    sizeof why));
	assert_string_equal(why, "key k, In [c] not in In [a b]");
	assert_false(compat("[" R("k", "In", "\"a\"") "]", "[" R("k", "NotIn", "\"a\"") "]", NULL, 0));
	assert_true(compat("[" R("k", "In", "\"a\"") "]", "[" R("k", "NotIn", "\"b\"") "]", NULL, 0));
	assert_true(compat("[" E("k", "Exists") "]", "[" R("k", "NotIn", "\"b\"") "]", NULL, 0));
	assert_false(compat("[" E("k", "Exists") "]", "[" E("k", "DoesNotExist") "]", why,
			    sizeof why));
	assert_string_equal(why, "key k, DoesNotExist not in Exists");
	/* both allow the label to be absent */
	assert_true(compat("[" R("k", "NotIn", "\"a\"") "]", "[" E("k", "DoesNotExist") "]", NULL, 0));
	assert_true(compat("[" E("k", "DoesNotExist") "]", "[" E("k", "DoesNotExist") "]", NULL, 0));
	/* bounds */
	assert_true(compat("[" R("g", "Gt", "\"5\"") "]", "[" R("g", "In", "\"6\",\"x\"") "]", NULL,
			   0));
	assert_false(compat("[" R("g", "Gt", "\"5\"") "]", "[" R("g", "In", "\"5\",\"x\"") "]", NULL,
			    0));
	assert_false(compat("[" R("g", "Gt", "\"5\"") "]", "[" R("g", "Lt", "\"3\"") "]", NULL, 0));
	assert_true(compat("[" R("g", "Gt", "\"5\"") "]", "[" R("g", "Lt", "\"9\"") "]", NULL, 0));
	/* several requirements on one key narrow each other */
	assert_false(compat("[" R("k", "In", "\"a\",\"b\"") "," R("k", "NotIn", "\"b\"") "]",
			    "[" R("k", "In", "\"b\"") "]", NULL, 0));
	/* keys only on one side do not matter */
	assert_true(compat("[" R("x", "In", "\"a\"") "]", "[" R("y", "In", "\"b\"") "]", NULL, 0));
}

static bool tol(const char *tolerations, const char *taints, bool hard_only)
{
	cJSON *a = js(tolerations), *b = js(taints);
	bool r = kube_tolerates_taints(a, b, hard_only, NULL);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return r;
}

static void tolerations(void **state)
{
	(void)state;
	const char *t = "[{\"key\":\"spot\",\"value\":\"true\",\"effect\":\"NoSchedule\"}]";
	assert_true(tol("[]", "[]", false));
	assert_false(tol("[]", t, false));
	assert_true(tol("[{\"key\":\"spot\",\"operator\":\"Equal\",\"value\":\"true\"}]", t, false));
	assert_true(tol("[{\"key\":\"spot\",\"value\":\"true\"}]", t, false)); /* "" is Equal */
	assert_false(tol("[{\"key\":\"spot\",\"value\":\"false\"}]", t, false));
	assert_true(tol("[{\"key\":\"spot\",\"operator\":\"Exists\"}]", t, false));
	assert_false(tol("[{\"key\":\"spot\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]", t,
			 false));
	assert_true(tol("[{\"operator\":\"Exists\"}]", t, false)); /* empty key + Exists: all */
	assert_false(tol("[{\"operator\":\"Equal\",\"value\":\"x\"}]", t, false));
	assert_false(tol("[{\"key\":\"spot\",\"operator\":\"Bogus\"}]", t, false));
	const char *soft = "[{\"key\":\"a\",\"effect\":\"PreferNoSchedule\"}]";
	assert_false(tol("[]", soft, false));
	assert_true(tol("[]", soft, true));
	cJSON *ts = js("[{\"key\":\"a\",\"effect\":\"NoSchedule\"},{\"key\":\"b\",\"effect\":"
		       "\"NoExecute\"}]");
	cJSON *tl = js("[{\"key\":\"a\",\"operator\":\"Exists\"}]");
	const cJSON *un = NULL;
	assert_false(kube_tolerates_taints(tl, ts, true, &un));
	assert_string_equal(ks_json_str(un, "key"), "b");
	cJSON_Delete(ts);
	cJSON_Delete(tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_errors),   cmocka_unit_test(value_matching),
		cmocka_unit_test(pod_selectors), cmocka_unit_test(compatibility),
		cmocka_unit_test(tolerations),
	};
	return cmocka_run_group_tests_name("nodereq", tests, NULL, NULL);
}
