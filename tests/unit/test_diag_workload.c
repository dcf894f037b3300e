/* test_diag_workload.c — the Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and CronJob
 * analyzers over tests/fixtures/diag/wl-misc.yaml: each cause once on the right object, and
 * the healthy or in-progress workloads of the fixture quiet. */
#include "testutil.h"

#include <string.h>

#include "diag/diag.h"
#include "world/world.h"

static const struct diag_finding *on(const struct diag_report *rep, const char *cause,
				     const char *name)
{
	for (size_t i = 0; i < rep->n; i++)
		if (!strcmp(rep->findings[i]->cause, cause) &&
		    !strcmp(rep->findings[i]->object.name, name))
			return rep->findings[i];
	for (size_t i = 0; i < rep->n; i++)
		print_message("finding %s on %s\n", rep->findings[i]->cause,
			      rep->findings[i]->object.name);
	fail_msg("no %s on %s", cause, name);
	return NULL;
}

static size_t count_on(const struct diag_report *rep, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < rep->n; i++)
		n += !strcmp(rep->findings[i]->object.name, name);
	return n;
}

static void test_workloads(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/wl-misc.yaml");
	struct diag_report rep;
	tu_analyze(w, "Deployment,ReplicaSet,StatefulSet,DaemonSet,Job,CronJob", &rep);
	const struct diag_finding *f = on(&rep, "StatefulSetServiceMissing", "db");
	assert_contains(f->root_cause, "wl/db-headless");
	f = on(&rep, "StorageClassNotFound", "db");
	assert_contains(f->root_cause, "fast-ssd");
	f = on(&rep, "StatefulSetReplicaNotRunning", "db");
	assert_contains(f->root_cause, "db-1");
	assert_non_null(f->follows);
	f = on(&rep, "DaemonSetNotReady", "agent");
	assert_contains(f->symptom, "3 ready pods of 5");
	f = on(&rep, "PodCreationFailed", "quota-7f9");
	assert_contains(f->root_cause, "exceeded quota: compute");
	f = on(&rep, "ProgressDeadlineExceeded", "stuck");
	assert_contains(f->symptom, "timed out progressing");
	f = on(&rep, "JobFailed", "import");
	assert_contains(f->root_cause, "backoff limit");
	f = on(&rep, "JobSuspended", "paused");
	assert_int_equal(f->severity, DIAG_INFO);
	f = on(&rep, "CronScheduleInvalid", "bad-schedule");
	assert_contains(f->root_cause, "field hour: end of range (25) above maximum (23)");
	f = on(&rep, "CronJobSuspended", "off");
	f = on(&rep, "CronStartingDeadlineNegative", "negative");
	f = on(&rep, "CronJobMissedSchedule", "late");
	assert_contains(f->symptom, "last ran 20d");
	/* quiet: healthy, mid-rollout, retried-then-succeeded, on schedule */
	assert_int_equal(count_on(&rep, "healthy-agent"), 0);
	assert_int_equal(count_on(&rep, "rolling"), 0);
	assert_int_equal(count_on(&rep, "retried"), 0);
	assert_int_equal(count_on(&rep, "nightly"), 0);
	diag_report_free(&rep);
	world_free(w);
}

/* A Deployment not ready because of its pods is one finding with the pods' cause. */
static void test_deployment_joins_pod_cause(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-missing-config-key.yaml");
	struct diag_report rep;
	tu_analyze(w, "Deployment", &rep);
	assert_int_equal(rep.n, 1);
	assert_string_equal(rep.findings[0]->cause, "DeploymentNotReady");
	assert_string_equal(rep.findings[0]->object.name, "checkout");
	diag_report_free(&rep);
	tu_analyze(w, "Pod,Deployment", &rep);
	assert_int_equal(rep.n, 1);
	assert_string_equal(rep.findings[0]->cause, "ConfigMapKeyMissing");
	diag_report_free(&rep);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workloads),
		cmocka_unit_test(test_deployment_joins_pod_cause),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
