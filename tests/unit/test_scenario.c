/* test_scenario.c — scenarios: every embedded one parses; bad ones are refused with the file
 * and field named; the ground-truth check evaluator ([*], [N], equals, not_equals, exists,
 * equals_path, numbers and booleans); globs; durations. */
#include "testutil.h"

#include "base/json.h"
#include "base/timeutil.h"
#include "sim/scenario.h"

#include <stdio.h>
#include <string.h>

static void embedded_parse(void **state)
{
	(void)state;
	size_t n;
	const char **names = sim_scenario_names(&n);
	assert_true(n >= 12);
	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(names[i], '/') + 1;
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)(strlen(base) - 5), base);
		struct sim_scenario *sc = NULL;
		struct ks_err err = {0};
		int rc = sim_scenario_load(name, &sc, &err);
		if (rc)
			fail_msg("%s: %s", name, err.msg);
		assert_string_equal(sc->name, name);
		assert_non_null(sc->summary);
		assert_non_null(ks_json_get(sc->truth, "broken"));
		sim_scenario_free(sc);
	}
	free(names);
	struct sim_scenario *sc = NULL;
	struct ks_err err = {0};
	assert_int_equal(sim_scenario_load("no-such-scenario", &sc, &err), KS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "kswarm sim --list"));
}

static void refuse(const char *yaml, const char *want)
{
	struct sim_scenario *sc = NULL;
	struct ks_err err = {0};
	assert_int_equal(sim_scenario_parse("t.yaml", yaml, strlen(yaml), &sc, &err), KS_EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
	assert_null(sc);
}

#define HEAD "name: t\nsummary: s\n"
#define TRUTH                                                                                  \
	"ground_truth:\n  root_cause: r\n  fix: {description: d, steps: []}\n"                 \
	"  diagnosis: {cause: C, kind: Pod, namespace: n, name: p}\n"                           \
	"  broken: [{what: w, kind: Pod, path: a, equals: 1}]\n"                                \
	"  healthy: [{what: w, kind: Pod, path: a, exists: true}]\n"

static void bad_scenarios(void **state)
{
	(void)state;
	refuse("name: [\n", "t.yaml");
	refuse("- a\n", "a scenario is a mapping");
	refuse("summary: s\n", "(top).name: is required");
	refuse("name: Bad_Name\nsummary: s\n", "must be lower-case");
	refuse(HEAD "behaviors:\n  - exit: {code: 300}\n", "behaviors[0].exit: code must be");
	refuse(HEAD "behaviors:\n  - when: {sometimes: 1}\n", "behaviors[0].when: must be");
	refuse(HEAD "behaviors:\n  - when: {secret_differs_from_vault: {secret: s}}\n",
	       "secret_differs_from_vault.key: is required");
	refuse(HEAD "timeline:\n  - at: 5 minutes\n    drain: {nodepool: x}\n",
	       "timeline[0].at: bad duration");
	refuse(HEAD "timeline:\n  - at: 5s\n", "needs exactly one of apply, delete, scale, drain");
	refuse(HEAD "timeline:\n  - at: 5s\n    interrupt: x\n", "timeline[0].interrupt: must be");
	refuse(HEAD "timeline:\n  - interrupt: {}\n    drain: {nodepool: a}\n", "needs exactly one");
	refuse(HEAD "timeline:\n  - scale: {namespace: a, name: b, replicas: x}\n",
	       "replicas must be a count");
	refuse(HEAD "objects:\n  - {kind: Pod}\n", "objects[0]: needs apiVersion, kind and metadata.name");
	refuse(HEAD "usage:\n  - {namespace: a, workload: b, noise: 2}\n", "usage[0]");
	refuse(HEAD "nodes:\n  - {instance_type: m5.large, capacity_type: reserved}\n",
	       "nodes[0]: capacity_type must be");
	refuse(HEAD, "ground_truth: is required");
	refuse(HEAD "ground_truth:\n  root_cause: r\n  broken: []\n",
	       "ground_truth.diagnosis: is required");
	refuse(HEAD "ground_truth:\n  root_cause: r\n  diagnosis: {cause: C, name: x}\n",
	       "ground_truth.diagnosis.kind: is required");
	refuse(HEAD "ground_truth:\n  root_cause: r\n  diagnosis: {none: true}\n  broken: []\n",
	       "ground_truth.broken: at least one");
	refuse(HEAD "ground_truth:\n  root_cause: r\n  diagnosis: {none: true}\n  fix: {description: d}\n"
		    "  broken: [{what: w, kind: Pod, path: a}]\n",
	       "needs one of equals, not_equals, equals_path, exists");
	struct sim_scenario *sc = NULL;
	struct ks_err err = {0};
	const char *good = HEAD "timeline:\n  - {at: 1h, every: 6h, interrupt: {}}\n" TRUTH;
	assert_int_equal(sim_scenario_parse("t.yaml", good, strlen(good), &sc, &err), 0);
	assert_int_equal(sc->n_actions, 1);
	assert_int_equal(sc->actions[0].kind, SIM_ACT_INTERRUPT);
	assert_null(sc->actions[0].name);
	assert_true(sc->actions[0].at_s == 3600 && sc->actions[0].every_s == 6 * 3600);
	sim_scenario_free(sc);
}

static bool eval(const char *check, const char *obj)
{
	cJSON *c = cJSON_Parse(check), *o = cJSON_Parse(obj);
	assert_non_null(c);
	assert_non_null(o);
	char found[128];
	bool r = sim_scenario_check_object(c, o, found, sizeof found);
	cJSON_Delete(c);
	cJSON_Delete(o);
	return r;
}

static void checks(void **state)
{
	(void)state;
	const char *pod = "{\"spec\":{\"replicas\":2},\"status\":{\"readyReplicas\":2,"
			  "\"containerStatuses\":[{\"ready\":true,\"state\":{\"running\":{}}},"
			  "{\"ready\":false,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
			  "\"lastState\":{\"terminated\":{\"exitCode\":137}}}]}}";
	assert_true(eval("{\"path\":\"status.containerStatuses[*].state.waiting.reason\","
			 "\"equals\":\"CrashLoopBackOff\"}", pod));
	assert_false(eval("{\"path\":\"status.containerStatuses[0].state.waiting.reason\","
			  "\"equals\":\"CrashLoopBackOff\"}", pod));
	assert_true(eval("{\"path\":\"status.containerStatuses[1].lastState.terminated.exitCode\","
			 "\"equals\":137}", pod));
	assert_true(eval("{\"path\":\"status.containerStatuses[*].ready\",\"equals\":false}", pod));
	assert_false(eval("{\"path\":\"status.containerStatuses[*].ready\",\"not_equals\":false}",
			  pod));
	assert_true(eval("{\"path\":\"status.readyReplicas\",\"equals_path\":\"spec.replicas\"}",
			 pod));
	assert_false(eval("{\"path\":\"status.missing\",\"equals_path\":\"spec.replicas\"}", pod));
	assert_true(eval("{\"path\":\"status.containerStatuses[*].state.waiting\",\"exists\":true}",
			 pod));
	assert_true(eval("{\"path\":\"status.nothing[*].x\",\"exists\":false}", pod));
	assert_false(eval("{\"path\":\"status.containerStatuses[9].ready\",\"equals\":true}", pod));
	assert_false(eval("{\"path\":\"status.readyReplicas[*]\",\"equals\":2}", pod));
}

static void globs(void **state)
{
	(void)state;
	assert_true(sim_glob_match("*:2.0.0", "ghcr.io/acme/orders-api:2.0.0"));
	assert_false(sim_glob_match("*:2.0.0", "ghcr.io/acme/orders-api:2.0.01"));
	assert_true(sim_glob_match("Deployment/*", "Deployment/wiki"));
	assert_true(sim_glob_match("a?c*", "abcdef"));
	assert_true(sim_glob_match("*", ""));
	assert_false(sim_glob_match("a", ""));
	assert_true(sim_glob_match("**a*b*", "xxaxxb"));
}

static void durations(void **state)
{
	(void)state;
	double d;
	struct ks_err err = {0};
	assert_int_equal(ks_parse_duration("90s", &d, &err), 0);
	assert_true(d == 90);
	assert_int_equal(ks_parse_duration("1h30m", &d, &err), 0);
	assert_true(d == 5400);
	assert_int_equal(ks_parse_duration("2w", &d, &err), 0);
	assert_true(d == 14 * 86400);
	assert_int_equal(ks_parse_duration("1.5h", &d, &err), 0);
	assert_true(d == 5400);
	assert_int_equal(ks_parse_duration("250ms", &d, &err), 0);
	assert_true(d == 0.25);
	assert_int_equal(ks_parse_duration("0", &d, &err), 0);
	assert_true(d == 0);
	static const char *const bad[] = {"", "5", "s", "5x", "1..5s", "-1s", "1 s", "20y",
					  "99999999999999d"};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++)
		assert_int_equal(ks_parse_duration(bad[i], &d, &err), KS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(embedded_parse), cmocka_unit_test(bad_scenarios),
		cmocka_unit_test(checks),         cmocka_unit_test(globs),
		cmocka_unit_test(durations),
	};
	return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
