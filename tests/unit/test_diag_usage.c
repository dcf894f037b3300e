/* test_diag_usage.c — the Usage analyzer on recorded objects and metrics.
 *
 * usage-cost-spike.yaml: the shared control plane playing cost-spike (image-resizer scaled
 * from 2 to 30 replicas) and the healthy namespace shop, with ContainerMetric items from the
 * recorded Prometheus answers of tests/fixtures/prom (CPU rates divided by the recorded time
 * scale). The usage-hpa-* and usage-limits variants change one thing each (noted in them). */
#include "testutil.h"

#include <string.h>

#include "base/json.h"
#include "diag/diag.h"
#include "world/world.h"

static void test_idle_replicas(void **state)
{
	struct world *w = tu_world("diag/usage-cost-spike.yaml");
	assert_true(world_has_metrics(w));
	struct diag_report rep;
	tu_analyze(w, "Usage", &rep);
	assert_int_equal(rep.n, 1); /* nothing about shop */
	const struct diag_finding *f = tu_finding(&rep, "IdleReplicas");
	assert_non_null(f);
	assert_string_equal(f->object.kind, "Deployment");
	assert_string_equal(f->object.ns, "media");
	assert_string_equal(f->object.name, "image-resizer");
	assert_int_equal(f->severity, DIAG_MEDIUM);
	assert_contains(f->root_cause, "scaled up to 30 replicas while its load needs 7");
	assert_contains(f->root_cause, "23 idle replicas request 11.5 vCPU and 11.5 GiB");
	char *ev = tu_json(f->evidence);
	assert_contains(ev, "\"path\":\".spec.replicas\",\"value\":\"30\"");
	assert_contains(ev, "\"message\":\"Scaled up replica set image-resizer-847f66d47c to 30\"");
	assert_contains(ev, "\"component\":\"deployment-controller\"");
	assert_contains(ev, "\"name\":\"cpu_p95_cores\"");
	assert_contains(ev, "quantile_over_time(0.95");
	assert_contains(ev, "\"value\":\"0.5\""); /* the request per replica */
	free(ev);
	char *fix = tu_json(f->remediation);
	/* 30 replicas x ~72m p95 = 2.17 cores; / (0.5 x 0.7) -> 7 (more than the 2 before) */
	assert_contains(fix, "\"patch_type\":\"merge\"");
	assert_contains(fix, "\"patch\":{\"spec\":{\"replicas\":7}}");
	assert_contains(fix, "\"kind\":\"Deployment\"");
	free(fix);
	diag_report_free(&rep);
	world_free(w);
}

static void test_hpa(void **state)
{
	struct world *w = tu_world("diag/usage-hpa-min.yaml");
	struct diag_report rep;
	tu_analyze(w, "Usage", &rep);
	const struct diag_finding *f = tu_finding(&rep, "IdleReplicas");
	assert_non_null(f);
	char *fix = tu_json(f->remediation);
	assert_contains(fix, "\"kind\":\"HorizontalPodAutoscaler\"");
	assert_contains(fix, "\"patch\":{\"spec\":{\"minReplicas\":7}}");
	free(fix);
	diag_report_free(&rep);
	world_free(w);

	/* An HPA with a low minimum scaled up on its own metric: not idle replicas. */
	w = tu_world("diag/usage-hpa-low.yaml");
	tu_analyze(w, "Usage", &rep);
	assert_int_equal(rep.n, 0);
	diag_report_free(&rep);
	world_free(w);
}

static void test_limits(void **state)
{
	struct world *w = tu_world("diag/usage-limits.yaml");
	struct diag_report rep;
	tu_analyze(w, "Usage", &rep);
	const struct diag_finding *t = tu_finding(&rep, "CPUThrottled");
	assert_non_null(t);
	assert_string_equal(t->object.name, "api");
	assert_int_equal(t->severity, DIAG_LOW);
	assert_contains(t->root_cause, "42% of its CFS periods");
	char *fix = tu_json(t->remediation);
	assert_contains(fix, "\"patch_type\":\"strategic\"");
	assert_contains(fix, "\"containers\":[{\"name\":\"api\",\"resources\":{\"limits\":{\"cpu\":"
			     "\"500m\"}}}]");
	free(fix);
	const struct diag_finding *m = tu_finding(&rep, "MemoryNearLimit");
	assert_non_null(m);
	assert_string_equal(m->object.name, "api");
	assert_contains(m->root_cause, "730 MiB of its 768 MiB memory limit");
	fix = tu_json(m->remediation);
	assert_contains(fix, "\"memory\":\"912Mi\"");
	free(fix);
	assert_int_equal(rep.n, 3); /* and image-resizer's IdleReplicas */
	diag_report_free(&rep);
	world_free(w);
}

/* No metrics: the analyzer says nothing (the Karpenter fixtures carry none). */
static void test_no_metrics(void **state)
{
	struct world *w = tu_world("diag/karp-overprovisioned.yaml");
	assert_false(world_has_metrics(w));
	struct diag_report rep;
	tu_analyze(w, "Usage", &rep);
	assert_int_equal(rep.n, 0);
	diag_report_free(&rep);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_replicas),
		cmocka_unit_test(test_hpa),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_no_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
