/* test_diag_schedule.c — the Scheduling analyzer on recorded objects.
 *
 * sched-unschedulable.yaml is the shared control plane playing scenario unschedulable-pending
 * (10 nodes in us-east-1a/b/c, NodePools events and internal-tools, Deployment ml/trainer
 * pinned to us-east-1z) plus the healthy namespace shop; sched-taint.yaml and
 * sched-insufficient.yaml are the same cluster with the trainer's template changed (noted in
 * each file). */
#include "testutil.h"

#include <string.h>

#include "base/json.h"
#include "diag/diag.h"
#include "world/world.h"

/* No finding of these analyzers names an object in namespace ns. */
static void assert_none_in(const struct diag_report *rep, const char *ns)
{
	for (size_t i = 0; i < rep->n; i++)
		if (!strcmp(rep->findings[i]->object.ns, ns))
			fail_msg("unexpected finding %s on %s %s/%s", rep->findings[i]->cause,
				 rep->findings[i]->object.kind, ns, rep->findings[i]->object.name);
}

static void test_node_selector_zone(void **state)
{
	struct world *w = tu_world("diag/sched-unschedulable.yaml");
	struct diag_report rep;
	tu_analyze(w, "Scheduling", &rep);
	const struct diag_finding *f = tu_finding(&rep, "NodeSelectorUnsatisfiable");
	assert_non_null(f);
	assert_int_equal(rep.n, 1);
	assert_string_equal(f->object.kind, "Deployment");
	assert_string_equal(f->object.ns, "ml");
	assert_string_equal(f->object.name, "trainer");
	assert_int_equal(f->severity, DIAG_HIGH);
	assert_contains(f->group, "schedule:");
	assert_contains(f->root_cause, "topology.kubernetes.io/zone=us-east-1z");
	assert_contains(f->root_cause, "us-east-1a, us-east-1b, us-east-1c");
	assert_contains(f->root_cause, "no NodePool offers it");
	assert_contains(f->explanation, "0/10 nodes are available: 10 node(s) didn't match");
	assert_contains(f->explanation, "NodePool events: cannot launch a node");

	char *ev = tu_json(f->evidence);
	assert_contains(ev, "\"path\":\".spec.template.spec.nodeSelector\"");
	assert_contains(ev, "\"value\":\"topology.kubernetes.io/zone=us-east-1z\"");
	assert_contains(ev, "\"note\":\"topology.kubernetes.io/zone=us-east-1a\"");
	assert_contains(ev, "\"kind\":\"NodePool\"");
	assert_contains(ev, "topology.kubernetes.io/zone"); /* the pool's incompatibility */
	assert_contains(ev, "\"reason\":\"FailedScheduling\"");
	assert_contains(ev, "didn't match Pod's node affinity");
	assert_contains(ev, "incompatible with nodepool");
	free(ev);

	char *fix = tu_json(f->remediation);
	assert_contains(fix, "\"type\":\"patch\"");
	assert_contains(fix, "\"patch_type\":\"json\"");
	assert_contains(fix, "\"risk\":\"medium\"");
	assert_contains(fix, "\"op\":\"remove\"");
	assert_contains(fix, "\"path\":\"/spec/template/spec/nodeSelector/"
			     "topology.kubernetes.io~1zone\"");
	assert_contains(fix, "\"name\":\"trainer\"");
	free(fix);
	assert_none_in(&rep, "shop");
	diag_report_free(&rep);
	world_free(w);
}

static void test_taint(void **state)
{
	struct world *w = tu_world("diag/sched-taint.yaml");
	struct diag_report rep;
	tu_analyze(w, "Scheduling", &rep);
	const struct diag_finding *f = tu_finding(&rep, "UntoleratedTaint");
	assert_non_null(f);
	assert_int_equal(rep.n, 1);
	assert_string_equal(f->object.name, "trainer");
	assert_contains(f->root_cause, "dedicated=tools:NoSchedule on 2 node(s)");
	char *ev = tu_json(f->evidence);
	assert_contains(ev, "taint dedicated=tools:NoSchedule not tolerated");
	assert_contains(ev, "taint dedicated=tools:NoSchedule is not tolerated"); /* the pool */
	free(ev);
	char *fix = tu_json(f->remediation);
	assert_contains(fix, "\"type\":\"human\"");
	free(fix);
	diag_report_free(&rep);
	world_free(w);
}

static void test_insufficient(void **state)
{
	struct world *w = tu_world("diag/sched-insufficient.yaml");
	struct diag_report rep;
	tu_analyze(w, "Scheduling", &rep);
	const struct diag_finding *f = tu_finding(&rep, "InsufficientResources");
	assert_non_null(f);
	assert_int_equal(rep.n, 1);
	assert_contains(f->root_cause, "request 200 vCPU");
	assert_contains(f->explanation, "had insufficient cpu");
	char *ev = tu_json(f->evidence);
	assert_contains(ev, "no instance type satisfies its requirements and holds 200 vCPU");
	free(ev);
	diag_report_free(&rep);
	world_free(w);
}

/* Healthy pods, and a pending pod Karpenter can place, give nothing. */
static void test_no_false_positive(void **state)
{
	tu_expect_no_findings("diag/sched-waiting.yaml", "Scheduling");
}

int main(void)
{
	tu_set_data_dir();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_selector_zone),
		cmocka_unit_test(test_taint),
		cmocka_unit_test(test_insufficient),
		cmocka_unit_test(test_no_false_positive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
