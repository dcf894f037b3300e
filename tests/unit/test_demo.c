/* test_demo.c — the demo's summary from a transcript (src/daemon/demo.h): found (distinct
 * subjects diagnosed), fixed (succeeded outcomes, once per plan), time to fix (from the first
 * diagnosis of the plan's subject), savings, refusals once per subject and rule; the JSON
 * and text renderings; the scenario table. */
#include "testutil.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "daemon/demo.h"

#include <math.h>
#include <string.h>

static cJSON *load(void)
{
	char *text = tu_read_fixture("demo/transcript.json");
	cJSON *j = cJSON_Parse(text);
	free(text);
	assert_non_null(j);
	return j;
}

static void test_summary_counts(void **state)
{
	(void)state;
	cJSON *msgs = load();
	struct demo_summary s;
	demo_summary_compute(msgs, NULL, 0, &s);
	assert_int_equal(s.found, 3);
	assert_int_equal(s.fixed, 2);
	/* p1: 10:00:00 -> 10:00:40.5 (40.5 s); p3: 10:00:02 -> 10:01:22 (80 s) */
	assert_true(fabs(s.time_to_fix_s - 60.25) < 1e-6);
	assert_true(fabs(s.monthly_savings_usd - 12.345) < 1e-9);
	assert_int_equal(ks_json_len(s.refused), 2);
	const cJSON *r0 = cJSON_GetArrayItem(s.refused, 0);
	assert_string_equal(ks_json_str(r0, "subject"), "NodePool internal-tools");
	assert_string_equal(ks_json_str(r0, "by"), "reliability");
	assert_string_equal(ks_json_str(r0, "rule"), "spread-replicas");
	const cJSON *r1 = cJSON_GetArrayItem(s.refused, 1);
	assert_string_equal(ks_json_str(r1, "subject"), "Deployment catalog/catalog-api");
	assert_string_equal(ks_json_str(r1, "reason"), "the catalog team ships its own fixes");
	demo_summary_release(&s);
	cJSON_Delete(msgs);
}

static void test_summary_json_and_text(void **state)
{
	(void)state;
	cJSON *msgs = load();
	struct demo_summary s;
	demo_summary_compute(msgs, NULL, 0, &s);
	cJSON *j = demo_summary_json(&s);
	assert_int_equal(ks_json_int_or(j, "found", -1), 3);
	assert_int_equal(ks_json_int_or(j, "fixed", -1), 2);
	assert_true(fabs(cJSON_GetObjectItem(j, "time_to_fix_s")->valuedouble - 60.3) < 1e-9);
	assert_true(fabs(cJSON_GetObjectItem(j, "monthly_savings_usd")->valuedouble - 12.35) <
		    1e-9);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "refused")));
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	demo_summary_format(&s, &b);
	assert_non_null(strstr(b.data, "problems found:     3\n"));
	assert_non_null(strstr(b.data, "problems fixed:     2 (mean time to fix 60s)"));
	assert_non_null(strstr(b.data, "money saved:        $12.35/month"));
	assert_non_null(strstr(b.data, "NodePool internal-tools: refused by reliability "
				       "(spread-replicas): replicated workloads on one node"));
	ks_buf_release(&b);
	cJSON_Delete(j);
	demo_summary_release(&s);
	cJSON_Delete(msgs);
}

static void test_summary_empty(void **state)
{
	(void)state;
	cJSON *msgs = cJSON_CreateArray();
	struct demo_summary s;
	demo_summary_compute(msgs, NULL, 0, &s);
	assert_int_equal(s.found, 0);
	assert_int_equal(s.fixed, 0);
	assert_true(s.time_to_fix_s == 0);
	cJSON *j = demo_summary_json(&s);
	char *text = ks_json_print(j);
	assert_string_equal(text, "{\"found\":0,\"fixed\":0,\"time_to_fix_s\":0,"
				  "\"monthly_savings_usd\":0,\"measured_monthly_savings_usd\":0,"
				  "\"measured_plans\":0,\"refused\":[],\"fixes\":[]}");
	free(text);
	cJSON_Delete(j);
	demo_summary_release(&s);
	cJSON_Delete(msgs);
}

static void test_scope(void **state)
{
	(void)state;
	cJSON *msgs = load();
	static const char *const scope[] = {"search", "internal-tools"};
	struct demo_summary s;
	demo_summary_compute(msgs, scope, 2, &s);
	assert_int_equal(s.found, 2); /* search/search, NodePool internal-tools */
	assert_int_equal(s.fixed, 1); /* p3 */
	assert_true(fabs(s.time_to_fix_s - 80) < 1e-6);
	assert_int_equal(ks_json_len(s.refused), 1);
	demo_summary_release(&s);
	cJSON *sub = cJSON_Parse(
		"{\"kind\":\"Deployment\",\"namespace\":\"ml\",\"name\":\"search\"}");
	assert_false(demo_in_scope(sub, scope, 2));
	assert_true(demo_in_scope(sub, NULL, 0));
	cJSON_Delete(sub);
	cJSON_Delete(msgs);
}

static void test_scenarios(void **state)
{
	(void)state;
	size_t n;
	const struct demo_scenario *sc = demo_scenarios(&n);
	assert_true(n >= demo_default_scenarios_n);
	for (size_t i = 0; i < demo_default_scenarios_n; i++)
		assert_non_null(demo_story(demo_default_scenarios[i]));
	assert_non_null(strstr(demo_story("payment-db-secret"), "Vault"));
	assert_null(demo_story("no-such-scenario"));
	assert_non_null(sc[0].name);
}

/* Two plans on one NodePool: the second was priced while the first one's nodes were still
 * being replaced, so the pool's saving counts once (the larger), and other subjects add. */
static void test_savings_once_per_subject(void **state)
{
	(void)state;
#define MSG(type, kind, name, body, ts)                                                        \
	"{\"type\":\"" type "\",\"ts\":\"2026-11-21T10:00:" ts "Z\",\"subject\":{\"kind\":\"" \
	kind "\",\"namespace\":\"\",\"name\":\"" name "\"},\"body\":" body "}"
	static const char transcript[] =
		"[" MSG("plan", "NodePool", "general", "{\"plan_id\":\"p1\",\"savings_per_month\":100}",
			"01") ","
		MSG("outcome", "", "", "{\"plan_id\":\"p1\",\"result\":\"succeeded\"}", "02") ","
		MSG("plan", "NodePool", "general", "{\"plan_id\":\"p2\",\"savings_per_month\":80}",
		    "03") ","
		MSG("outcome", "", "", "{\"plan_id\":\"p2\",\"result\":\"succeeded\"}", "04") ","
		MSG("plan", "NodePool", "gpu", "{\"plan_id\":\"p3\",\"savings_per_month\":10}",
		    "05") ","
		MSG("outcome", "", "", "{\"plan_id\":\"p3\",\"result\":\"succeeded\"}", "06") ","
		/* p1's saving, measured once Karpenter replaced the nodes */
		"{\"type\":\"observation\",\"from\":\"learning\",\"ts\":\"2026-11-21T10:01:00Z\","
		"\"subject\":{\"kind\":\"NodePool\",\"namespace\":\"\",\"name\":\"general\"},"
		"\"body\":{\"plan_id\":\"p1\",\"measured\":{\"savings_per_month\":90.5}}}]";
#undef MSG
	cJSON *msgs = cJSON_Parse(transcript);
	assert_non_null(msgs);
	struct demo_summary s;
	demo_summary_compute(msgs, NULL, 0, &s);
	assert_int_equal(s.fixed, 3);
	assert_true(fabs(s.monthly_savings_usd - 110) < 1e-9);
	assert_int_equal(s.measured_plans, 1);
	assert_true(fabs(s.measured_monthly_savings_usd - 90.5) < 1e-9);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	demo_summary_format(&s, &b);
	assert_non_null(strstr(b.data, "saves $100.00/month (measured: $90.50)"));
	assert_non_null(strstr(b.data, "money saved:        $110.00/month predicted; "
				       "$90.50/month measured (1 plan)"));
	ks_buf_release(&b);
	demo_summary_release(&s);
	cJSON_Delete(msgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_counts),
		cmocka_unit_test(test_savings_once_per_subject),
		cmocka_unit_test(test_summary_json_and_text),
		cmocka_unit_test(test_summary_empty),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_scenarios),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
