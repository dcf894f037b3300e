/* an_service.c — the Service analyzer: Services whose Endpoints hold no ready address.
 *
 * Screen: a Service with a selector (selector-less Services and ExternalName are managed by
 * hand and never findings) whose Endpoints object has at least one ready address is healthy;
 * that is one look-up per Service. For the rest:
 *   - the selector matches pods, none ready: ServiceNoReadyEndpoints, derived from the pods'
 *     problem (follows "workload:<uid>", which the Pod analyzer aliases to its cause);
 *   - the selector matches no pod, but pods in the namespace look intended (same label keys
 *     with other values, most keys in common, an owning workload whose name resembles the
 *     Service): ServiceSelectorMismatch, with the labels those pods carry and a merge patch
 *     of spec.selector to labels that select exactly that workload's pods;
 *   - the selector matches no pod and nothing looks intended: ServiceNoPods.
 * Services whose selected pods are ready but whose Endpoints lag behind are left alone (the
 * endpoints controller catches up). */
#include "base/common.h"

#include <string.h>

#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

struct backend_scan {
	struct world *w;
	size_t ready, total;
	struct wobj first_unready, workload;
};

static int backend_visit(void *p, struct wobj pod)
{
	struct backend_scan *b = p;
	b->total++;
	if (infra_pod_ready(pod)) {
		b->ready++;
		return 1; /* one ready backend is enough to know: stop */
	}
	if (!wobj_ok(b->first_unready)) {
		b->first_unready = pod;
		b->workload = infra_pod_workload(b->w, pod);
	}
	return 0;
}

/* A candidate for "the pods the Service was meant for": one workload's pods. */
struct candidate {
	struct wobj workload; /* or a lone pod's own wobj when it has no workload */
	struct wobj pod;      /* a representative pod */
	int score;
	size_t pods, ready;
};

struct nearest_scan {
	struct world *w;
	const struct kube_selector *sel;
	const char *svc_name;
	struct candidate cand[16];
	size_t n;
};

/* One name resembles the other: equal, or one contains the other as a whole dash-part
 * prefix/suffix ("search" / "search-api"). */
static bool names_resemble(const char *a, const char *b)
{
	if (!*a || !*b)
		return false;
	if (strstr(a, b) || strstr(b, a))
		return true;
	return false;
}

static int pod_score(struct nearest_scan *ns, struct wobj pod, struct wobj workload)
{
	int score = 0;
	for (size_t i = 0; i < ns->sel->nreqs; i++) {
		const struct kube_selreq *r = &ns->sel->reqs[i];
		char v[256];
		if (!infra_label(pod, r->key, v, sizeof v))
			continue;
		score += 2; /* same key */
		if (r->nvalues && strcmp(v, r->values[0]) && names_resemble(v, r->values[0]))
			score += 2; /* a value close to the wanted one: "search-api" for "search" */
		else if (r->nvalues && !strcmp(v, r->values[0]))
			score += 1;
	}
	if (wobj_ok(workload) && names_resemble(wobj_name(ns->w, workload), ns->svc_name))
		score += 3;
	return score;
}

static int nearest_visit(void *p, struct wobj pod)
{
	struct nearest_scan *ns = p;
	struct wobj wl = infra_pod_workload(ns->w, pod);
	struct wobj key = wobj_ok(wl) ? wl : pod;
	int score = pod_score(ns, pod, wl);
	if (score <= 0)
		return 0;
	size_t i;
	for (i = 0; i < ns->n; i++)
		if (ns->cand[i].workload.id == key.id && ns->cand[i].workload.kind == key.kind)
			break;
	if (i == ns->n) {
		if (ns->n == KS_ARRAY_LEN(ns->cand))
			return 0;
		ns->cand[ns->n++] = (struct candidate){.workload = key, .pod = pod};
	}
	struct candidate *c = &ns->cand[i];
	if (score > c->score)
		c->score = score;
	c->pods++;
	if (infra_pod_ready(pod))
		c->ready++;
	return 0;
}

static const struct candidate *best_candidate(const struct nearest_scan *ns)
{
	const struct candidate *best = NULL;
	for (size_t i = 0; i < ns->n; i++)
		if (!best || ns->cand[i].score > best->score ||
		    (ns->cand[i].score == best->score && ns->cand[i].ready > best->ready))
			best = &ns->cand[i];
	return best;
}

struct owned_count {
	struct world *w;
	struct wobj workload;
	size_t matched, owned_matched;
};

static int owned_visit(void *p, struct wobj pod)
{
	struct owned_count *oc = p;
	struct wobj wl = infra_pod_workload(oc->w, pod);
	oc->matched++;
	if (wl.id == oc->workload.id && wl.kind == oc->workload.kind)
		oc->owned_matched++;
	return 0;
}

/* Whether the map selector at path of the candidate's workload selects exactly its pods
 * in ns. */
static bool selects_exactly(struct world *w, const char *ns, const struct candidate *c,
			    struct wobj from, const char *path)
{
	struct kube_selector sel;
	if (!infra_map_selector_at(from, path, &sel))
		return false;
	struct owned_count oc = {.w = w, .workload = c->workload};
	infra_pods_matching(w, ns, &sel, owned_visit, &oc);
	kube_selector_free(&sel);
	return oc.matched > 0 && oc.matched == oc.owned_matched && oc.owned_matched == c->pods;
}

/* {"spec":{"selector":{new pairs…, old keys not in new: null}}} */
static cJSON *selector_patch(struct wobj svc, struct wobj from, const char *path)
{
	cJSON *patch = cJSON_CreateObject();
	cJSON *sel = cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"), "selector");
	cJSON *want = kube_objstore_to_cjson(from.st, wobj_get(from, path));
	cJSON *item;
	cJSON_ArrayForEach(item, want)
		if (cJSON_IsString(item))
			cJSON_AddStringToObject(sel, item->string, item->valuestring);
	cJSON *old = kube_objstore_to_cjson(svc.st, wobj_get(svc, "spec.selector"));
	cJSON_ArrayForEach(item, old)
		if (!cJSON_GetObjectItemCaseSensitive(sel, item->string))
			cJSON_AddNullToObject(sel, item->string);
	cJSON_Delete(want);
	cJSON_Delete(old);
	return patch;
}

static void report_mismatch(struct diag_ctx *cx, struct wobj svc, struct wobj ep,
			    const struct candidate *c)
{
	struct world *w = cx->w;
	const char *ns = wobj_ns(w, svc), *name = wobj_name(w, svc);
	struct diag_ref sref = diag_ref_of(w, svc), wref = diag_ref_of(w, c->workload);
	char want[512], carry[512];
	infra_map_text(svc, "spec.selector", want, sizeof want);
	/* What the pods carry: the workload's template labels (no pod-template-hash), or the
	 * pod's own for a lone pod. */
	bool templ = c->workload.kind != WK_POD &&
		     wobj_get(c->workload, "spec.template.metadata.labels") != KUBE_OBJ_NONE;
	if (templ)
		infra_map_text(c->workload, "spec.template.metadata.labels", carry, sizeof carry);
	else
		infra_map_text(c->pod, "metadata.labels", carry, sizeof carry);

	/* The selector to propose: the workload's matchLabels when they pick exactly its pods,
	 * else its template labels, else the pod's labels. */
	struct wobj from = c->pod;
	const char *path = "metadata.labels";
	const char *risk = "medium";
	if (templ && selects_exactly(w, ns, c, c->workload, "spec.selector.matchLabels")) {
		from = c->workload, path = "spec.selector.matchLabels", risk = "low";
	} else if (templ && selects_exactly(w, ns, c, c->workload,
					    "spec.template.metadata.labels")) {
		from = c->workload, path = "spec.template.metadata.labels", risk = "low";
	}
	char proposed[512];
	infra_map_text(from, path, proposed, sizeof proposed);

	struct diag_finding *f = diag_new(cx, "Service", "ServiceSelectorMismatch", DIAG_HIGH,
					  svc);
	diag_set_symptom(f, "Service %s/%s has no endpoints: its selector %s matches no pod",
			 ns, name, want);
	diag_set_root_cause(f,
			    "Service %s/%s selects %s, but the pods of %s %s carry %s, so the "
			    "Service has no endpoints.",
			    ns, name, want, wref.kind, wref.name, carry);
	diag_set_explanation(f,
			     "A Service sends traffic to the pods whose labels match all of its "
			     "selector. No pod in namespace %s matches %s; the %zu pod(s) of %s %s "
			     "(%zu ready) look intended but are labelled %s.",
			     ns, want, c->pods, wref.kind, wref.name, c->ready, carry);
	diag_ev_field(f, &sref, ".spec.selector", "%s", want);
	diag_ev_object(f, &wref, "%zu pod(s), %zu ready, carry %s", c->pods, c->ready, carry);
	if (wobj_ok(ep)) {
		struct diag_ref eref = diag_ref_of(w, ep);
		diag_ev_field(f, &eref, ".subsets", "[] (no addresses)");
		diag_related(f, &eref, "endpoints");
	} else {
		struct diag_ref eref = diag_ref_make("Endpoints", ns, name, "");
		diag_ev_object(f, &eref, "no Endpoints object");
	}
	diag_related(f, &wref, "intended-backend");
	struct diag_ref pref = diag_ref_of(w, c->pod);
	diag_related(f, &pref, "pod");
	diag_fix_patch(f, &sref, "merge", selector_patch(svc, from, path), risk,
		       "set the selector of Service %s/%s to %s (selects exactly the pods of %s %s)",
		       ns, name, proposed, wref.kind, wref.name);
	f->confidence = c->score >= 5 ? 0.95 : 0.75;
	diag_set_group(f, "service:%s/%s", ns, name);
}

static void report_no_ready(struct diag_ctx *cx, struct wobj svc, struct wobj ep,
			    const struct backend_scan *b)
{
	struct world *w = cx->w;
	const char *ns = wobj_ns(w, svc), *name = wobj_name(w, svc);
	struct diag_ref sref = diag_ref_of(w, svc);
	char want[512];
	infra_map_text(svc, "spec.selector", want, sizeof want);
	struct diag_finding *f = diag_new(cx, "Service", "ServiceNoReadyEndpoints", DIAG_HIGH,
					  svc);
	diag_set_symptom(f, "Service %s/%s has no ready endpoints (%zu pod(s) selected, none "
			    "ready)", ns, name, b->total);
	if (wobj_ok(b->workload)) {
		struct diag_ref wref = diag_ref_of(w, b->workload);
		diag_set_root_cause(f,
				    "Service %s/%s selects the pods of %s %s, and none of them is "
				    "ready.",
				    ns, name, wref.kind, wref.name);
		diag_ev_object(f, &wref, "%zu pod(s) selected by %s, 0 ready", b->total, want);
		diag_related(f, &wref, "backend");
		diag_set_follows(f, "workload:%s", wobj_uid(w, b->workload));
		diag_fix_human(f, "make the pods of %s %s ready; the Service follows them", wref.kind,
			       wref.name);
	} else {
		diag_set_root_cause(f, "Service %s/%s selects %zu pod(s) and none of them is ready.",
				    ns, name, b->total);
		diag_fix_human(f, "make the selected pods ready");
	}
	diag_ev_field(f, &sref, ".spec.selector", "%s", want);
	if (wobj_ok(ep)) {
		size_t r, nr;
		infra_endpoint_counts(ep, &r, &nr);
		struct diag_ref eref = diag_ref_of(w, ep);
		diag_ev_field(f, &eref, ".subsets", "%zu ready, %zu not ready address(es)", r, nr);
		diag_related(f, &eref, "endpoints");
	}
	if (wobj_ok(b->first_unready)) {
		struct diag_ref pref = diag_ref_of(w, b->first_unready);
		diag_related(f, &pref, "pod");
		diag_fix_check(f, "kubectl -n %s describe pod %s", ns, pref.name);
	}
	f->confidence = 0.9;
}

static void report_no_pods(struct diag_ctx *cx, struct wobj svc)
{
	struct world *w = cx->w;
	const char *ns = wobj_ns(w, svc), *name = wobj_name(w, svc);
	struct diag_ref sref = diag_ref_of(w, svc);
	char want[512];
	infra_map_text(svc, "spec.selector", want, sizeof want);
	struct diag_finding *f = diag_new(cx, "Service", "ServiceNoPods", DIAG_MEDIUM, svc);
	diag_set_symptom(f, "Service %s/%s has no endpoints", ns, name);
	diag_set_root_cause(f,
			    "No pod in namespace %s carries the labels %s that Service %s selects, "
			    "and no pod there looks like its intended backend.",
			    ns, want, name);
	diag_ev_field(f, &sref, ".spec.selector", "%s", want);
	diag_fix_human(f, "deploy the Service's backend, or delete the Service if it is unused");
	diag_fix_check(f, "kubectl -n %s get pods --show-labels", ns);
	f->confidence = 0.7;
}

static int service_visit(void *p, struct wobj svc)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	if (wobj_str_eq(svc, "spec.type", "ExternalName"))
		return 0;
	struct kube_selector sel;
	if (!infra_map_selector_at(svc, "spec.selector", &sel))
		return 0; /* no selector: endpoints are managed by hand */
	const char *ns = wobj_ns(w, svc), *name = wobj_name(w, svc);
	struct wobj ep = world_get(w, WK_ENDPOINTS, ns, name);
	size_t ready = 0, not_ready = 0;
	if (wobj_ok(ep))
		infra_endpoint_counts(ep, &ready, &not_ready);
	if (ready > 0)
		goto out;
	struct backend_scan b = {.w = w};
	infra_pods_matching(w, ns, &sel, backend_visit, &b);
	if (b.total > 0) {
		if (b.ready == 0)
			report_no_ready(cx, svc, ep, &b);
		goto out; /* some selected pods are ready: the endpoints lag */
	}
	struct nearest_scan nsn = {.w = w, .sel = &sel, .svc_name = name};
	world_in_namespace(w, WK_POD, ns, nearest_visit, &nsn);
	const struct candidate *c = best_candidate(&nsn);
	if (c && c->score >= 3)
		report_mismatch(cx, svc, ep, c);
	else
		report_no_pods(cx, svc);
out:
	kube_selector_free(&sel);
	return 0;
}

void diag_an_service(struct diag_ctx *cx)
{
	diag_each(cx, WK_SERVICE, service_visit, cx);
}
