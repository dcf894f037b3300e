/* test_diag_karpenter.c — the Karpenter analyzer on recorded objects.
 *
 * karp-capacity.yaml: the shared control plane playing capacity-exhaustion (NodePool events
 * limited to 8 vCPU, full; 10 ingest replicas Pending); karp-capacity-fixed.yaml the same
 * after the documented fix (limit 64); karp-overprovisioned.yaml: overprovisioned-nodepool
 * (NodePool internal-tools restricted to 8xlarge: two m5.8xlarge); karp-unsatisfiable.yaml
 * and karp-disruption.yaml: the recorded cluster with one change each (noted in the files). */
#include "testutil.h"

#include <string.h>

#include "base/json.h"
#include "diag/diag.h"
#include "world/world.h"

static void test_limit_reached(void **state)
{
	struct world *w = tu_world("diag/karp-capacity.yaml");
	struct diag_report rep;
	/* Both analyzers: the workload's finding joins the NodePool's. */
	tu_analyze(w, "Karpenter,Scheduling", &rep);
	assert_true(rep.n >= 1);
	const struct diag_finding *f = rep.findings[0];
	assert_string_equal(f->cause, "NodePoolLimitReached");
	assert_string_equal(f->analyzer, "Karpenter");
	assert_string_equal(f->object.kind, "NodePool");
	assert_string_equal(f->object.name, "events");
	assert_int_equal(tu_count_cause(&rep, "NodePoolLimitReached"), 1);
	assert_string_equal(f->group, "nodepool-limit:events");
	assert_contains(f->root_cause, "cpu 8 in use of limit 8");
	assert_contains(f->root_cause, "10 pending pods of Deployment events/ingest");
	char *ev = tu_json(f->evidence);
	assert_contains(ev, "\"path\":\".spec.limits.cpu\",\"value\":\"8\"");
	assert_contains(ev, "\"path\":\".status.resources.cpu\",\"value\":\"8\"");
	assert_contains(ev, "10 pods Pending (Unschedulable) that only NodePool events could hold");
	assert_contains(ev, "all available instance types exceed limits for nodepool");
	free(ev);
	char *aff = tu_json(f->affected);
	assert_contains(aff, "\"name\":\"ingest\""); /* the Scheduling finding merged in */
	free(aff);
	char *fix = tu_json(f->remediation);
	assert_contains(fix, "\"patch_type\":\"merge\"");
	/* 8 in use + 10 x 1 vCPU pending, 25% headroom: 23 */
	assert_contains(fix, "\"patch\":{\"spec\":{\"limits\":{\"cpu\":\"23\"}}}");
	assert_contains(fix, "\"name\":\"events\"");
	free(fix);
	diag_report_free(&rep);

	/* The Scheduling analyzer alone names the same cause, on the workload. */
	tu_analyze(w, "Scheduling", &rep);
	f = tu_finding(&rep, "NodePoolLimitReached");
	assert_non_null(f);
	assert_string_equal(f->object.name, "ingest");
	assert_contains(f->explanation, "2 node(s) had insufficient cpu");
	diag_report_free(&rep);
	world_free(w);
}

static void test_limit_fixed(void **state)
{
	struct world *w = tu_world("diag/karp-capacity-fixed.yaml");
	struct diag_report rep;
	tu_analyze(w, "Karpenter,Scheduling", &rep);
	assert_null(tu_finding(&rep, "NodePoolLimitReached"));
	for (size_t i = 0; i < rep.n; i++)
		assert_string_equal(rep.findings[i]->object.name, "internal-tools");
	diag_report_free(&rep);
	world_free(w);
}

static void test_overprovisioned(void **state)
{
	struct world *w = tu_world("diag/karp-overprovisioned.yaml");
	struct diag_report rep;
	tu_analyze(w, "Karpenter", &rep);
	assert_int_equal(rep.n, 1);
	const struct diag_finding *f = tu_finding(&rep, "NodePoolOverprovisioned");
	assert_non_null(f);
	assert_string_equal(f->object.kind, "NodePool");
	assert_string_equal(f->object.name, "internal-tools");
	assert_int_equal(f->severity, DIAG_MEDIUM);
	/* the six internal pods (1.5 vCPU) and shop pods the scheduler put there (1 vCPU) */
	assert_contains(f->root_cause, "2 nodes (m5.8xlarge)");
	assert_contains(f->root_cause, "requesting 2.5 vCPU");
	assert_contains(f->root_cause, "of 63.7 vCPU");
	/* related: the pool's own workloads (namespace internal), not the shop pods that landed */
	char *rel = tu_json(f->related);
	assert_contains(rel, "\"namespace\":\"internal\"");
	assert_null(strstr(rel, "\"namespace\":\"shop\""));
	free(rel);
	char *ev = tu_json(f->evidence);
	assert_contains(ev, "\"values\\\":[\\\"8xlarge\\\"]");
	assert_contains(ev, "2 nodes: m5.8xlarge");
	assert_contains(ev, "$3.072/hour"); /* 2 x m5.8xlarge at $1.536 */
	free(ev);
	char *fix = tu_json(f->remediation);
	assert_contains(fix, "\"patch_type\":\"merge\"");
	assert_contains(fix, "{\"key\":\"karpenter.k8s.aws/instance-size\",\"operator\":\"In\","
			     "\"values\":[\"large\",\"xlarge\",\"2xlarge\"]}");
	assert_contains(fix, "{\"key\":\"karpenter.k8s.aws/instance-category\"");
	free(fix);
	diag_report_free(&rep);
	world_free(w);
}

/* The requirement of karp-overprovisioned.yaml's internal-tools pool, and the same pool right
 * after a plan narrowed it to smaller instance types (tu_world_edited): its two m5.8xlarge
 * nodes no longer satisfy it (Karpenter is replacing them). */
static const char karp_8xlarge_req[] = "        - key: karpenter.k8s.aws/instance-size\n"
				       "          operator: In\n"
				       "          values:\n"
				       "          - 8xlarge\n";
static const char karp_narrowed_req[] = "        - key: node.kubernetes.io/instance-type\n"
					"          operator: In\n"
					"          values:\n"
					"          - m5a.large\n"
					"          - m7a.medium\n";

/* The replaced nodes prove nothing about the new requirements: no finding while the pool
 * settles. */
static void test_overprovisioned_not_while_settling(void **state)
{
	(void)state;
	struct world *w = tu_world_edited("diag/karp-overprovisioned.yaml", karp_8xlarge_req,
					  karp_narrowed_req);
	struct diag_report rep;
	tu_analyze(w, "Karpenter", &rep);
	assert_null(tu_finding(&rep, "NodePoolOverprovisioned"));
	diag_report_free(&rep);
	world_free(w);
}

static void test_unsatisfiable(void **state)
{
	struct world *w = tu_world("diag/karp-unsatisfiable.yaml");
	struct diag_report rep;
	tu_analyze(w, "Karpenter", &rep);
	const struct diag_finding *f = tu_finding(&rep, "NodePoolRequirementsUnsatisfiable");
	assert_non_null(f);
	assert_string_equal(f->object.name, "events");
	char *ev = tu_json(f->evidence);
	assert_contains(ev, "arm64");
	free(ev);
	assert_int_equal(tu_count_cause(&rep, "NodePoolRequirementsUnsatisfiable"), 1);
	diag_report_free(&rep);
	world_free(w);
}

static void test_disruption_blocked(void **state)
{
	struct world *w = tu_world("diag/karp-disruption.yaml");
	struct diag_report rep;
	tu_analyze(w, "Karpenter", &rep);
	const struct diag_finding *f = tu_finding(&rep, "NodeDisruptionBlocked");
	assert_non_null(f);
	assert_string_equal(f->object.kind, "Node");
	assert_string_equal(f->object.name, "ip-10-0-14-50.ec2.internal");
	assert_int_equal(f->severity, DIAG_LOW);
	char *ev = tu_json(f->evidence);
	assert_contains(ev, "karpenter.sh/do-not-disrupt");
	free(ev);
	assert_int_equal(tu_count_cause(&rep, "NodeDisruptionBlocked"), 1);
	diag_report_free(&rep);
	world_free(w);
}

/* Without NodePools served, nothing (the shop baseline). */
static void test_no_karpenter(void **state)
{
	tu_expect_no_findings("diag/usage-cost-spike.yaml", "Karpenter");
}

int main(void)
{
	tu_set_data_dir();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_reached),
		cmocka_unit_test(test_limit_fixed),
		cmocka_unit_test(test_overprovisioned),
		cmocka_unit_test(test_overprovisioned_not_while_settling),
		cmocka_unit_test(test_unsatisfiable),
		cmocka_unit_test(test_disruption_blocked),
		cmocka_unit_test(test_no_karpenter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
