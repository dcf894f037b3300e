/* test_diag_pod.c — the Pod analyzer over fixtures recorded from the simulator's scenarios
 * (tests/fixtures/diag/pod-*.yaml): each scenario gives its root cause, on the right object,
 * with its evidence and remediation; the healthy shop gives nothing. */
#include "testutil.h"

#include <string.h>

#include "base/json.h"
#include "diag/diag.h"
#include "world/world.h"

/* The evidence of f printed, for substring checks. */
static char *evidence_text(const struct diag_finding *f)
{
	return ks_json_print(f->evidence);
}

static char *remediation_text(const struct diag_finding *f)
{
	return ks_json_print(f->remediation);
}

static void assert_object(const struct diag_finding *f, const char *kind, const char *ns,
			  const char *name)
{
	assert_string_equal(f->object.kind, kind);
	assert_string_equal(f->object.ns, ns);
	assert_string_equal(f->object.name, name);
}

static const struct diag_finding *one(struct diag_report *rep, const char *cause)
{
	const struct diag_finding *f = tu_finding(rep, cause);
	if (!f) {
		for (size_t i = 0; i < rep->n; i++)
			print_message("finding %s on %s %s/%s\n", rep->findings[i]->cause,
				      rep->findings[i]->object.kind, rep->findings[i]->object.ns,
				      rep->findings[i]->object.name);
		fail_msg("no finding %s", cause);
	}
	return f;
}

static void test_payment_db_secret(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-payment-db-secret.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod,Deployment", &rep);
	const struct diag_finding *f = one(&rep, "CredentialsRejected");
	assert_object(f, "Secret", "payments", "db-secret");
	assert_true(f->object.uid[0] != '\0');
	assert_int_equal(rep.n, 1); /* both pods and the Deployment: one finding */
	assert_true(f->n_affected >= 2);
	assert_contains(f->root_cause, "key password");
	assert_contains(f->root_cause, "DB_PASSWORD");
	char *ev = evidence_text(f);
	assert_contains(ev, "CrashLoopBackOff");
	assert_contains(ev, "exit code 1");
	assert_contains(ev, "authentication failed for user \\\"payments\\\"");
	assert_contains(ev, "env[DB_PASSWORD] <- secretKeyRef db-secret/password");
	assert_contains(ev, "payment-service");
	free(ev);
	char *rem = remediation_text(f);
	assert_contains(rem, "\"type\":\"human\"");
	assert_contains(rem, "source of truth");
	assert_contains(rem, "rollout restart");
	free(rem);
	diag_report_free(&rep);
	world_free(w);
}

static void test_image_typo(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-image-typo.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod,Deployment", &rep);
	const struct diag_finding *f = one(&rep, "ImageTagNotFound");
	assert_object(f, "Deployment", "catalog", "catalog-api");
	assert_int_equal(rep.n, 1);
	char *ev = evidence_text(f);
	assert_contains(ev, "Failed to pull image \\\"ghcr.io/acme/catalog-api:4.2.O\\\"");
	assert_contains(ev, "\"type\":\"diff\"");
	assert_contains(ev, "\"before\":\"ghcr.io/acme/catalog-api:4.2.0\"");
	assert_contains(ev, "\"after\":\"ghcr.io/acme/catalog-api:4.2.O\"");
	free(ev);
	assert_string_equal(ks_json_str(f->remediation, "type"), "patch");
	assert_string_equal(ks_json_str(f->remediation, "patch_type"), "strategic");
	char *rem = remediation_text(f);
	assert_contains(rem, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"api\","
			     "\"image\":\"ghcr.io/acme/catalog-api:4.2.0\"}]}}}}");
	free(rem);
	diag_report_free(&rep);
	world_free(w);
}

static void test_oom_limit(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-oom-limit.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod,Deployment", &rep);
	const struct diag_finding *f = one(&rep, "MemoryLimitTooLow");
	assert_object(f, "Deployment", "analytics", "report-builder");
	char *ev = evidence_text(f);
	assert_contains(ev, "reason OOMKilled, exit code 137");
	assert_contains(ev, "limits.memory = 256Mi");
	assert_contains(ev, "restartCount");
	assert_contains(ev, "memory_max_bytes");
	free(ev);
	/* peak 304 MiB: max(304*1.2, 304+100) = 404 MiB */
	char *rem = remediation_text(f);
	assert_contains(rem, "\"limits\":{\"memory\":\"404Mi\"}");
	assert_contains(rem, "\"name\":\"builder\"");
	free(rem);
	diag_report_free(&rep);

	/* without the metric: double the limit, and say so */
	world_free(w);
	char *text = tu_read_fixture("diag/pod-oom-limit.yaml");
	char *cut = strstr(text, "- apiVersion: kswarm.dev/v1\n  kind: ContainerMetric");
	assert_non_null(cut);
	*cut = '\0';
	w = world_new();
	struct ks_err err = {0};
	assert_int_equal(world_load_snapshot_mem(w, text, strlen(text), &err), 0);
	free(text);
	tu_analyze(w, "Pod", &rep);
	f = one(&rep, "MemoryLimitTooLow");
	rem = remediation_text(f);
	assert_contains(rem, "\"memory\":\"512Mi\"");
	assert_contains(rem, "unknown");
	free(rem);
	diag_report_free(&rep);
	world_free(w);
}

static void test_missing_config_key(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-missing-config-key.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod,Deployment", &rep);
	const struct diag_finding *f = one(&rep, "ConfigMapKeyMissing");
	assert_object(f, "ConfigMap", "checkout", "checkout-config");
	assert_int_equal(rep.n, 1);
	char *ev = evidence_text(f);
	assert_contains(ev, "couldn't find key FEATURE_FLAGS in ConfigMap checkout/checkout-config");
	assert_contains(ev, "env[FEATURE_FLAGS] <- configMapKeyRef checkout-config/FEATURE_FLAGS");
	assert_contains(ev, "has keys: ");
	assert_contains(ev, "PAYMENT_URL");
	free(ev);
	char *rem = remediation_text(f);
	assert_contains(rem, "add key FEATURE_FLAGS");
	assert_contains(rem, "optional");
	free(rem);
	diag_report_free(&rep);
	world_free(w);
}

static void test_bad_rollout(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-bad-rollout.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod,Deployment", &rep);
	const struct diag_finding *f = one(&rep, "RolloutRegression");
	assert_object(f, "Deployment", "orders", "orders-api");
	assert_int_equal(rep.n, 1);
	char *ev = evidence_text(f);
	assert_contains(ev, "Readiness probe failed: HTTP probe failed with statuscode: 500");
	assert_contains(ev, "run migration 42_add_order_channel");
	assert_contains(ev, "\"before\":\"ghcr.io/acme/orders-api:1.9.0\"");
	assert_contains(ev, "\"after\":\"ghcr.io/acme/orders-api:2.0.0\"");
	free(ev);
	assert_string_equal(ks_json_str(f->remediation, "risk"), "low");
	char *rem = remediation_text(f);
	assert_contains(rem, "\"image\":\"ghcr.io/acme/orders-api:1.9.0\"");
	assert_contains(rem, "rollout undo");
	free(rem);
	diag_report_free(&rep);
	world_free(w);
}

/* The same rollout when Helm owns the Deployment: the release and its revision are
 * evidence and a related object. */
static void test_bad_rollout_helm(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-bad-rollout-helm.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod,Deployment", &rep);
	const struct diag_finding *f = one(&rep, "RolloutRegression");
	assert_object(f, "Deployment", "orders", "orders-api");
	char *ev = evidence_text(f);
	assert_contains(ev, "Helm release orders/orders is at revision 4 (deployed); previous "
			    "revision 3 (superseded)");
	free(ev);
	char *rel = tu_json(f->related);
	assert_contains(rel, "\"name\":\"sh.helm.release.v1.orders.v4\",\"uid\":\"7a3e2f10-0000-"
			     "4000-8000-000000000004\",\"role\":\"helm-release\"");
	free(rel);
	diag_report_free(&rep);
	world_free(w);
}

/* Between two crashes a container is Running: a recent non-zero exit still makes it the
 * crash loop it is; after it stayed up for minutes, it has recovered. */
static void test_crash_between_restarts(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-crash-between-restarts.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod,Deployment", &rep);
	const struct diag_finding *f = one(&rep, "CredentialsRejected");
	assert_object(f, "Secret", "payments", "db-secret");
	char *ev = evidence_text(f);
	assert_contains(ev, "running again after restart 1 (crash-looping)");
	free(ev);
	diag_report_free(&rep);
	world_free(w);
	w = tu_world("diag/pod-crash-recovered.yaml");
	tu_analyze(w, "Pod", &rep);
	assert_null(tu_finding(&rep, "CredentialsRejected"));
	assert_null(tu_finding(&rep, "CrashLoopBackOff"));
	diag_report_free(&rep);
	world_free(w);
}

static void test_baseline_quiet(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-baseline.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod,Deployment,ReplicaSet,StatefulSet,DaemonSet,Job,CronJob", &rep);
	for (size_t i = 0; i < rep.n; i++)
		print_message("unexpected %s on %s\n", rep.findings[i]->cause,
			      rep.findings[i]->object.name);
	assert_int_equal(rep.n, 0);
	diag_report_free(&rep);
	world_free(w);
}

static void test_generic_and_others(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-misc.yaml");
	struct diag_report rep;
	tu_analyze(w, "Pod", &rep);
	const struct diag_finding *f = one(&rep, "CrashLoopBackOff");
	assert_object(f, "Deployment", "misc", "worker");
	char *ev = evidence_text(f);
	assert_contains(ev, "exit code 2");
	assert_contains(ev, "done processing batch 7");
	free(ev);
	f = one(&rep, "SecretNotFound");
	assert_object(f, "Secret", "misc", "api-token");
	assert_string_equal(f->object.uid, "");
	f = one(&rep, "PodEvicted");
	assert_contains(f->root_cause, "DiskPressure");
	f = one(&rep, "SchedulingGated");
	assert_object(f, "Pod", "misc", "gated");
	f = one(&rep, "Unschedulable");
	assert_non_null(f->follows);
	assert_contains(f->follows, "schedule:");
	f = one(&rep, "InvalidImageName");
	assert_object(f, "Deployment", "misc", "web");
	f = one(&rep, "DependencyUnresolvable");
	assert_contains(f->root_cause, "redis.misc");
	f = one(&rep, "VolumeMountFailed");
	assert_contains(f->root_cause, "persistentvolumeclaim");
	f = one(&rep, "ContainerExitedNonZero");
	assert_contains(f->symptom, "init container");
	diag_report_free(&rep);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payment_db_secret),  cmocka_unit_test(test_image_typo),
		cmocka_unit_test(test_oom_limit),          cmocka_unit_test(test_missing_config_key),
		cmocka_unit_test(test_bad_rollout),        cmocka_unit_test(test_bad_rollout_helm),
		cmocka_unit_test(test_crash_between_restarts),
		cmocka_unit_test(test_baseline_quiet),
		cmocka_unit_test(test_generic_and_others),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
