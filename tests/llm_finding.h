/* llm_finding.h — the finding test_anonymize and test_explain send to an LLM, built by hand
 * over the fixture world diag/llm-payments.yaml the way the Pod analyzer reports a crash
 * loop: every kind of evidence (field values, an event, a log line, an object note, a
 * metric), related objects, an affected pod and a remediation. The log line and a note
 * carry the planted Secret value raw, as a careless analyzer might pass them on. */
#ifndef KS_TEST_LLM_FINDING_H
#define KS_TEST_LLM_FINDING_H

#include "diag/diag.h"
#include "world/world.h"

#define PLANTED_SECRET "Pl4nted-S3cret-Value-91"
#define POD_NAME "payment-service-7d9f8c6b5-x2kqp"
#define POD_UID "5b0c1d7e-2f4a-4c55-9f0e-0a1b2c3d4e04"
#define IMAGE "registry.acme-corp.io/payments/payment-service:v2.3.1"
#define NODE "ip-10-42-7-19.eu-west-1.compute.internal"
#define LOG_LINE                                                                              \
	"2026-11-21T09:58:40.530Z FATAL pq: password authentication failed for user "       \
	"\"svc-payments-rw\" (password=" PLANTED_SECRET ") host=pg-main.payments.svc.cluster.local"

/* The log line as the world redacts it (both Secret values of 6 bytes or more). */
#define LOG_LINE_REDACTED                                                                     \
	"2026-11-21T09:58:40.530Z FATAL pq: password authentication failed for user "       \
	"\"[redacted]\" (password=[redacted]) host=pg-main.payments.svc.cluster.local"

/* What identifies the cluster: none of it may be in a masked prompt. */
static const char *const identifying[] = {
	"payments", "payment-service", POD_NAME, POD_UID, "5b0c1d7e", IMAGE, "acme",
	"registry", "v2.3.1", NODE, "ip-10-42-7-19", "checkout-squad", "db-credentials",
	"pg-main", "password authentication failed", "Back-off restarting", "x2kqp", "api",
	PLANTED_SECRET, NULL,
};

static inline struct diag_finding *llm_finding(struct world *w, struct diag_report *rep)
{
	struct diag_ctx cx = {.w = w, .rep = rep};
	struct wobj dep = world_get(w, WK_DEPLOYMENT, "payments", "payment-service");
	struct wobj pod = world_get(w, WK_POD, "payments", POD_NAME);
	struct wobj sec = world_get(w, WK_SECRET, "payments", "db-credentials");
	struct wobj ev = world_get(w, WK_EVENT, "payments", POD_NAME ".17a9c3e5d1f0b2a4");
	assert_true(wobj_ok(dep) && wobj_ok(pod) && wobj_ok(sec) && wobj_ok(ev));
	struct diag_ref podref = diag_ref_of(w, pod), secref = diag_ref_of(w, sec);
	struct diag_finding *f = diag_new(&cx, "Pod", "CrashLoopBackOff", DIAG_HIGH, dep);
	diag_set_symptom(f, "2 pods of Deployment payments/payment-service crash-loop "
			    "(container api, exit code 1)");
	diag_set_root_cause(f, "Container api of payments/payment-service cannot log in to "
			       "pg-main.payments.svc.cluster.local with the password from Secret "
			       "payments/db-credentials");
	diag_set_explanation(f, "The api container of payment-service exits at start because "
				"the database rejects its password; the kubelet restarts it with "
				"a growing back-off.");
	diag_ev_field(f, &podref, ".status.containerStatuses[api].state.waiting.reason", "%s",
		      "CrashLoopBackOff");
	diag_ev_field(f, &podref, ".status.containerStatuses[api].image", "%s", IMAGE);
	diag_ev_field(f, &podref, ".spec.nodeName", "%s", NODE);
	diag_ev_field(f, &podref, ".status.containerStatuses[api].restartCount", "%d", 7);
	diag_ev_event(f, w, ev);
	diag_ev_log(f, &podref, "api", true, LOG_LINE);
	diag_ev_object(f, &secref, "key password (%s) is read through envFrom", PLANTED_SECRET);
	cJSON *labels = cJSON_CreateObject();
	cJSON_AddStringToObject(labels, "namespace", "payments");
	cJSON_AddStringToObject(labels, "pod", POD_NAME);
	cJSON_AddStringToObject(labels, "team", "checkout-squad");
	diag_ev_metric(f, "kube_pod_container_status_restarts_total", labels, 7, NULL,
		       "kube_pod_container_status_restarts_total{namespace=\"payments\"}");
	diag_related(f, &podref, "symptom");
	diag_related(f, &secref, "config");
	diag_fix_human(f, "Check the password in Secret payments/db-credentials against the "
			  "database user svc-payments-rw on pg-main.payments.svc.cluster.local");
	diag_fix_check(f, "kubectl -n payments get secret db-credentials -o yaml");
	f->confidence = 0.9;
	return f;
}

#endif
