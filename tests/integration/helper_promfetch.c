/* helper_promfetch.c — world_fetch_metrics against a real Prometheus (Debian's 2.42) holding a
 * simulator's backfill. Run by test_promfetch.sh, which sets KSWARM_PROM_URL (the
 * Prometheus), KSWARM_PROM_NS and KSWARM_PROM_PODS (the pods of a Deployment with requests
 * 150m CPU / limits 300m CPU and 256Mi). Not a test by itself: scripts/run-tests.sh runs
 * only test_*. */
#include "testutil.h"

#include <string.h>

#include "world/promfetch.h"
#include "world/world.h"

static void test_fetch_backfill(void **state)
{
	const char *url = getenv("KSWARM_PROM_URL");
	const char *ns = getenv("KSWARM_PROM_NS");
	const char *pods = getenv("KSWARM_PROM_PODS");
	if (!url || !*url || !ns || !pods || !*pods)
		skip();
	struct world *w = world_new();
	struct ks_err err = {0};
	assert_int_equal(world_fetch_metrics(w, url, 3600, &err), 0);
	/* No sim_time_seconds in a backfill: scale 1, the hour asked is the hour covered. */
	assert_true(world_metrics_window(w) == 3600);
	char *list = ks_strdup(pods), *save = NULL;
	size_t n = 0;
	for (char *pod = strtok_r(list, " ", &save); pod; pod = strtok_r(NULL, " ", &save), n++) {
		double avg = -1, p95 = -1, mem = -1, thr = -1, oom = -1;
		assert_true(world_metric(w, WM_CPU_AVG_CORES, ns, pod, "app", &avg));
		assert_true(world_metric(w, WM_CPU_P95_CORES, ns, pod, "app", &p95));
		assert_true(world_metric(w, WM_MEM_MAX_BYTES, ns, pod, "app", &mem));
		assert_true(world_metric(w, WM_CPU_THROTTLED_RATIO, ns, pod, "app", &thr));
		assert_true(world_metric(w, WM_OOM_EVENTS, ns, pod, "app", &oom));
		print_message(
			"# %s: cpu avg %.4f p95 %.4f, memory max %.0f, throttled %.3f, oom %.0f\n",
			pod, avg, p95, mem, thr, oom);
		assert_true(avg > 0 && avg <= 0.3 + 1e-6);  /* capped at the 300m limit */
		assert_true(p95 >= avg * 0.5 && p95 <= 0.3 + 1e-3);
		assert_true(mem > 0 && mem <= 256.0 * 1024 * 1024);
		assert_true(thr >= 0 && thr <= 1);
		assert_true(oom >= 0);
		/* no pod-level or pause-container series */
		assert_false(world_metric(w, WM_CPU_AVG_CORES, ns, pod, "POD", &avg));
		assert_false(world_metric(w, WM_CPU_AVG_CORES, ns, pod, "", &avg));
	}
	assert_true(n >= 2);
	free(list);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_backfill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
