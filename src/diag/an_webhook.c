/* an_webhook.c — the admission webhook analyzers (ValidatingWebhookConfiguration,
 * MutatingWebhookConfiguration): webhooks whose backend cannot answer.
 *
 * For each webhook calling an in-cluster Service (clientConfig.service; url webhooks are
 * outside the cluster and not judged):
 *   - the Service does not exist: WebhookServiceMissing;
 *   - the Service has no ready endpoint: WebhookNoReadyEndpoints; when pods are selected but
 *     none is ready the finding follows their workload ("workload:<uid>").
 * failurePolicy Fail (the default in admissionregistration/v1; v1beta1 defaulted to Ignore)
 * makes every matching API request fail: critical; Ignore lets requests through unchecked:
 * medium. One finding per configuration and Service. */
#include "base/common.h"

#include <string.h>

#include "base/json.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"
#include "kube/client.h"

struct ready_scan {
	struct world *w;
	size_t pods, ready;
	struct wobj workload;
};

static int ready_visit(void *p, struct wobj pod)
{
	struct ready_scan *r = p;
	r->pods++;
	if (infra_pod_ready(pod))
		r->ready++;
	else if (!wobj_ok(r->workload))
		r->workload = infra_pod_workload(r->w, pod);
	return 0;
}

struct wh_ctx {
	struct diag_ctx *cx;
	const char *analyzer;
	bool v1beta1;
};

static void check_webhook(struct wh_ctx *wc, struct wobj cfg, const cJSON *hook)
{
	struct diag_ctx *cx = wc->cx;
	struct world *w = cx->w;
	const cJSON *svc = ks_json_get(hook, "clientConfig.service");
	if (!svc)
		return;
	const char *sns = ks_json_str_or(svc, "namespace", "");
	const char *sname = ks_json_str_or(svc, "name", "");
	const char *hname = ks_json_str_or(hook, "name", "");
	const char *policy = ks_json_str_or(hook, "failurePolicy", wc->v1beta1 ? "Ignore" : "Fail");
	bool fail = !strcmp(policy, "Fail");
	struct diag_ref cref = diag_ref_of(w, cfg);
	struct wobj s = world_get(w, WK_SERVICE, sns, sname);
	struct diag_finding *f;
	if (!wobj_ok(s)) {
		f = diag_new(cx, wc->analyzer, "WebhookServiceMissing",
			     fail ? DIAG_CRITICAL : DIAG_MEDIUM, cfg);
		diag_set_symptom(f, "admission webhook %s cannot be called%s", hname,
				 fail ? ": matching API requests are refused" : "");
		diag_set_root_cause(f, "Webhook %s of %s %s calls Service %s/%s, which does not "
				    "exist (failurePolicy %s).", hname, cref.kind, cref.name, sns,
				    sname, policy);
		struct diag_ref sref = diag_ref_make("Service", sns, sname, "");
		diag_ev_object(f, &sref, "not found");
	} else {
		struct wobj ep = world_get(w, WK_ENDPOINTS, sns, sname);
		size_t ready = 0, not_ready = 0;
		if (wobj_ok(ep))
			infra_endpoint_counts(ep, &ready, &not_ready);
		if (ready > 0)
			return;
		struct ready_scan rs = {.w = w};
		struct kube_selector sel;
		if (infra_map_selector_at(s, "spec.selector", &sel)) {
			infra_pods_matching(w, sns, &sel, ready_visit, &rs);
			kube_selector_free(&sel);
		} else if (!wobj_ok(ep)) {
			return; /* selector-less Service with hand-made endpoints elsewhere */
		}
		if (rs.ready > 0)
			return; /* endpoints lag behind ready pods */
		f = diag_new(cx, wc->analyzer, "WebhookNoReadyEndpoints",
			     fail ? DIAG_CRITICAL : DIAG_MEDIUM, cfg);
		diag_set_symptom(f, "admission webhook %s has no ready backend%s", hname,
				 fail ? ": matching API requests are refused" : "");
		diag_set_root_cause(f, "Webhook %s of %s %s calls Service %s/%s, which has no ready "
				    "endpoint (%zu pod(s) selected, 0 ready; failurePolicy %s).",
				    hname, cref.kind, cref.name, sns, sname, rs.pods, policy);
		struct diag_ref sref = diag_ref_of(w, s);
		diag_ev_object(f, &sref, "%zu pod(s) selected, 0 ready", rs.pods);
		diag_related(f, &sref, "webhook-service");
		if (wobj_ok(rs.workload)) {
			struct diag_ref wref = diag_ref_of(w, rs.workload);
			diag_related(f, &wref, "webhook-backend");
			diag_set_follows(f, "workload:%s", wobj_uid(w, rs.workload));
		}
	}
	diag_ev_field(f, &cref, ".webhooks[].failurePolicy", "%s (webhook %s)", policy, hname);
	diag_set_group(f, "webhook:%s/%s:%s/%s", cref.kind, cref.name, sns, sname);
	diag_fix_human(f, "restore Service %s/%s and its pods, or delete %s %s if the webhook is "
		       "gone", sns, sname, cref.kind, cref.name);
	diag_fix_check(f, "kubectl -n %s get svc,endpoints,pods", sns);
	f->confidence = 0.9;
}

static int config_visit(void *p, struct wobj cfg)
{
	struct wh_ctx *wc = p;
	const cJSON *j = world_json(wc->cx->w, cfg);
	const char *api = ks_json_str_or(j, "apiVersion", "");
	wc->v1beta1 = strstr(api, "v1beta1") != NULL;
	if (!*api) {
		const struct kube_resource *r = world_resource(wc->cx->w, cfg.kind);
		wc->v1beta1 = r && !strcmp(r->version, "v1beta1");
	}
	const cJSON *hook;
	cJSON_ArrayForEach(hook, ks_json_get(j, "webhooks"))
		check_webhook(wc, cfg, hook);
	return 0;
}

void diag_an_validating_webhook(struct diag_ctx *cx)
{
	struct wh_ctx wc = {.cx = cx, .analyzer = "ValidatingWebhookConfiguration"};
	diag_each(cx, WK_VALIDATINGWEBHOOK, config_visit, &wc);
}

void diag_an_mutating_webhook(struct diag_ctx *cx)
{
	struct wh_ctx wc = {.cx = cx, .analyzer = "MutatingWebhookConfiguration"};
	diag_each(cx, WK_MUTATINGWEBHOOK, config_visit, &wc);
}
