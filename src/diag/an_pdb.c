/* an_pdb.c — the PodDisruptionBudget analyzer: budgets that allow no disruption, and whether
 * one is blocking a drain right now.
 *
 * Screen: status.disruptionsAllowed (policy/v1 and v1beta1; podDisruptionsAllowed before
 * 1.15) above 0 is healthy. A budget at 0:
 *   - covering no pod at all (expectedPods 0): PDBSelectsNoPods (low; K8sGPT's NoPods);
 *   - covering a pod that sits on a cordoned node (spec.unschedulable, or Karpenter's
 *     karpenter.sh/disruption taint): PDBBlocksDrain (high) — a drain or a Karpenter
 *     disruption is waiting on it; the node's refused-eviction events (DrainBlocked,
 *     FailedDraining, Karpenter's DisruptionBlocked "Pdb prevents pod evictions…") are
 *     evidence, and the Node analyzer's cordon finding for that node joins this one;
 *   - otherwise PDBAllowsNoDisruption (low): the next drain will hang, nothing waits yet.
 * Remediation: with minAvailable a number and the workload at replicas >= 2, a merge patch of
 * minAvailable to replicas - 1; with maxUnavailable 0, maxUnavailable 1; else what to check. */
#include "base/common.h"

#include <string.h>

#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

#define PDB_NODES_MAX 8

struct covered_scan {
	struct world *w;
	size_t pods;
	struct wobj workload, first_pod;
	struct {
		struct wobj node, pod;
		const char *how; /* "cordoned (spec.unschedulable)", "being disrupted by Karpenter…" */
	} blocked[PDB_NODES_MAX];
	size_t n_blocked;
};

/* Why node is being drained, or NULL when it is not cordoned. */
static const char *node_cordon(struct wobj node)
{
	if (wobj_bool(node, "spec.unschedulable", false))
		return "cordoned (spec.unschedulable)";
	uint32_t taints = wobj_get(node, "spec.taints");
	size_t n = kube_objstore_len(node.st, taints);
	for (size_t i = 0; i < n; i++) {
		uint32_t k = kube_objstore_child(node.st, kube_objstore_at(node.st, taints, i),
						 "key", 3);
		if (kube_objstore_str_eq(node.st, k, "karpenter.sh/disruption", 23))
			return "being disrupted by Karpenter (karpenter.sh/disruption taint)";
	}
	return NULL;
}

static int covered_visit(void *p, struct wobj pod)
{
	struct covered_scan *cs = p;
	cs->pods++;
	if (!wobj_ok(cs->first_pod)) {
		cs->first_pod = pod;
		cs->workload = infra_pod_workload(cs->w, pod);
	}
	char node_name[254];
	if (cs->n_blocked == PDB_NODES_MAX ||
	    !wobj_str(pod, "spec.nodeName", node_name, sizeof node_name))
		return 0;
	struct wobj node = world_get(cs->w, WK_NODE, "", node_name);
	const char *how = wobj_ok(node) ? node_cordon(node) : NULL;
	if (how) {
		cs->blocked[cs->n_blocked].node = node;
		cs->blocked[cs->n_blocked].pod = pod;
		cs->blocked[cs->n_blocked].how = how;
		cs->n_blocked++;
	}
	return 0;
}

struct event_pick {
	struct wobj last;
	size_t n;
	const char *pdb_ns, *pdb_name;
};

static bool event_refuses_eviction(struct wobj ev, const char *ns, const char *name)
{
	char reason[64], msg[1024];
	if (!wobj_str(ev, "reason", reason, sizeof reason) ||
	    !wobj_str(ev, "message", msg, sizeof msg))
		return false;
	if (!strcmp(reason, "DrainBlocked") || !strcmp(reason, "FailedDraining") ||
	    !strcmp(reason, "EvictionBlocked"))
		return strstr(msg, "disruption budget") || strstr(msg, "evict");
	if (!strcmp(reason, "DisruptionBlocked")) {
		char want[600];
		snprintf(want, sizeof want, "%s/%s", ns, name);
		return strstr(msg, "PodDisruptionBudget") && strstr(msg, want);
	}
	return false;
}

static int event_visit(void *p, struct wobj ev)
{
	struct event_pick *ep = p;
	if (event_refuses_eviction(ev, ep->pdb_ns, ep->pdb_name)) {
		ep->last = ev;
		ep->n++;
	}
	return 0;
}

/* Refused-eviction events about node. The kubelet, drainers and Karpenter put the node's
 * name where an involvedObject uid goes; look for those first, then the real uid. */
static struct event_pick node_events(struct world *w, struct wobj node, const char *pdb_ns,
				     const char *pdb_name)
{
	struct event_pick ep = {.pdb_ns = pdb_ns, .pdb_name = pdb_name};
	const char *name = wobj_name(w, node);
	world_events_for(w, "Node", "", name, name, event_visit, &ep);
	if (!ep.n)
		world_events_for(w, "Node", "", name, wobj_uid(w, node), event_visit, &ep);
	return ep;
}

/* The number at path, or -1 when absent or a percentage (set *pct then). */
static int64_t int_or_pct(struct wobj o, const char *path, char *pct, size_t n)
{
	pct[0] = '\0';
	uint32_t v = wobj_get(o, path);
	if (v == KUBE_OBJ_NONE)
		return -1;
	if (kube_objstore_type(o.st, v) == KUBE_OBJ_STRING) {
		wobj_str(o, path, pct, n);
		return -1;
	}
	return wobj_int(o, path, -1);
}

static void pdb_remediation(struct diag_finding *f, struct world *w, struct wobj pdb,
			    const struct covered_scan *cs, bool blocking)
{
	struct diag_ref pref = diag_ref_of(w, pdb);
	char min_pct[32], max_pct[32];
	int64_t min_av = int_or_pct(pdb, "spec.minAvailable", min_pct, sizeof min_pct);
	int64_t max_un = int_or_pct(pdb, "spec.maxUnavailable", max_pct, sizeof max_pct);
	int64_t replicas = wobj_ok(cs->workload) ? wobj_int(cs->workload, "spec.replicas", -1)
						 : -1;
	const char *wkind = wobj_ok(cs->workload) ? world_kinds[cs->workload.kind].kind : "";
	const char *wname = wobj_ok(cs->workload) ? wobj_name(w, cs->workload) : "";
	if (min_av >= 0 && replicas >= 2) {
		cJSON *patch = cJSON_CreateObject();
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(patch, "spec"), "minAvailable",
					(double)(replicas - 1));
		diag_fix_patch(f, &pref, "merge", patch, "medium",
			       "set minAvailable of PodDisruptionBudget %s/%s to %lld (replicas - 1 "
			       "of %s %s)%s; risk: while a pod is evicted only %lld of %lld serve "
			       "(scale %s to %lld first to keep %lld serving)",
			       pref.ns, pref.name, (long long)(replicas - 1), wkind, wname,
			       blocking ? " so the drain can evict one pod at a time" : "",
			       (long long)(replicas - 1), (long long)replicas, wname,
			       (long long)(replicas + 1), (long long)replicas);
		return;
	}
	if (min_av < 0 && !min_pct[0] && max_un == 0) {
		cJSON *patch = cJSON_CreateObject();
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(patch, "spec"), "maxUnavailable", 1);
		diag_fix_patch(f, &pref, "merge", patch, "medium",
			       "set maxUnavailable of PodDisruptionBudget %s/%s to 1; risk: one pod "
			       "at a time may be evicted, so capacity drops by one replica during a "
			       "drain",
			       pref.ns, pref.name);
		return;
	}
	diag_fix_human(f,
		       "let PodDisruptionBudget %s/%s allow one disruption: lower minAvailable "
		       "(%s) below the healthy pod count, or scale %s %s up by one",
		       pref.ns, pref.name, min_pct[0] ? min_pct : "set", wkind[0] ? wkind : "the",
		       wname[0] ? wname : "workload");
	diag_fix_check(f, "kubectl -n %s get pdb %s -o yaml", pref.ns, pref.name);
}

static void status_evidence(struct diag_finding *f, struct world *w, struct wobj pdb,
			    int64_t allowed)
{
	struct diag_ref pref = diag_ref_of(w, pdb);
	char pct[32];
	int64_t v = int_or_pct(pdb, "spec.minAvailable", pct, sizeof pct);
	if (v >= 0)
		diag_ev_field(f, &pref, ".spec.minAvailable", "%lld", (long long)v);
	else if (pct[0])
		diag_ev_field(f, &pref, ".spec.minAvailable", "%s", pct);
	v = int_or_pct(pdb, "spec.maxUnavailable", pct, sizeof pct);
	if (v >= 0)
		diag_ev_field(f, &pref, ".spec.maxUnavailable", "%lld", (long long)v);
	else if (pct[0])
		diag_ev_field(f, &pref, ".spec.maxUnavailable", "%s", pct);
	diag_ev_field(f, &pref, ".status", "expectedPods %lld, desiredHealthy %lld, "
		      "currentHealthy %lld",
		      (long long)wobj_int(pdb, "status.expectedPods", 0),
		      (long long)wobj_int(pdb, "status.desiredHealthy", 0),
		      (long long)wobj_int(pdb, "status.currentHealthy", 0));
	diag_ev_field(f, &pref, ".status.disruptionsAllowed", "%lld", (long long)allowed);
}

/* "requires minAvailable 2 while Deployment ledger has 2 replicas" (or, without a known
 * workload, the healthy counts). */
static void budget_text(struct world *w, struct wobj pdb, const struct covered_scan *cs,
			int64_t desired, int64_t current, char *out, size_t n)
{
	char pct[32], spec[64];
	int64_t v = int_or_pct(pdb, "spec.minAvailable", pct, sizeof pct);
	if (v >= 0) {
		snprintf(spec, sizeof spec, "minAvailable %lld", (long long)v);
	} else if (pct[0]) {
		snprintf(spec, sizeof spec, "minAvailable %s", pct);
	} else {
		v = int_or_pct(pdb, "spec.maxUnavailable", pct, sizeof pct);
		if (v >= 0)
			snprintf(spec, sizeof spec, "maxUnavailable %lld", (long long)v);
		else
			snprintf(spec, sizeof spec, "maxUnavailable %s", pct);
	}
	if (wobj_ok(cs->workload))
		snprintf(out, n, "requires %s while %s %s has %lld replicas (%lld healthy, %lld "
			 "needed)", spec, world_kinds[cs->workload.kind].kind,
			 wobj_name(w, cs->workload),
			 (long long)wobj_int(cs->workload, "spec.replicas", 0), (long long)current,
			 (long long)desired);
	else
		snprintf(out, n, "requires %s and has %lld healthy pod(s) of %lld needed", spec,
			 (long long)current, (long long)desired);
}

static int pdb_visit(void *p, struct wobj pdb)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	if (wobj_get(pdb, "status") == KUBE_OBJ_NONE)
		return 0;
	int64_t allowed = wobj_int(pdb, "status.disruptionsAllowed",
				   wobj_int(pdb, "status.podDisruptionsAllowed", 1));
	if (allowed > 0)
		return 0;
	const char *ns = wobj_ns(w, pdb), *name = wobj_name(w, pdb);
	struct diag_ref pref = diag_ref_of(w, pdb);
	int64_t expected = wobj_int(pdb, "status.expectedPods", 0);
	struct kube_selector sel;
	struct covered_scan cs = {.w = w};
	if (infra_selector_at(pdb, "spec.selector", &sel)) {
		infra_pods_matching(w, ns, &sel, covered_visit, &cs);
		kube_selector_free(&sel);
	}
	struct diag_finding *f;
	if (expected == 0 && cs.pods == 0) {
		char sel_text[512];
		infra_map_text(pdb, "spec.selector.matchLabels", sel_text, sizeof sel_text);
		f = diag_new(cx, "PodDisruptionBudget", "PDBSelectsNoPods", DIAG_LOW, pdb);
		diag_set_symptom(f, "PodDisruptionBudget %s/%s covers no pod", ns, name);
		diag_set_root_cause(f, "No pod in namespace %s matches the selector %s of "
				    "PodDisruptionBudget %s.", ns, sel_text[0] ? sel_text : "(none)",
				    name);
		diag_ev_field(f, &pref, ".spec.selector", "%s", sel_text);
		diag_ev_field(f, &pref, ".status.expectedPods", "0");
		diag_fix_human(f, "point the selector at the pods to protect, or delete the budget");
		f->confidence = 0.7;
		return 0;
	}
	int64_t current = wobj_int(pdb, "status.currentHealthy", 0);
	int64_t desired = wobj_int(pdb, "status.desiredHealthy", 0);
	bool blocking = cs.n_blocked > 0;
	f = diag_new(cx, "PodDisruptionBudget", blocking ? "PDBBlocksDrain" : "PDBAllowsNoDisruption",
		     blocking ? DIAG_HIGH : DIAG_LOW, pdb);
	diag_set_group(f, "pdb:%s/%s", ns, name);
	status_evidence(f, w, pdb, allowed);
	if (wobj_ok(cs.workload)) {
		struct diag_ref wref = diag_ref_of(w, cs.workload);
		diag_ev_object(f, &wref, "replicas %lld; %zu pod(s) covered by the budget",
			       (long long)wobj_int(cs.workload, "spec.replicas", 0), cs.pods);
		diag_related(f, &wref, "protected-workload");
	}
	if (blocking) {
		struct diag_ref nref = diag_ref_of(w, cs.blocked[0].node);
		struct diag_ref podref = diag_ref_of(w, cs.blocked[0].pod);
		diag_set_symptom(f, "a drain of node %s hangs: pod %s/%s cannot be evicted", nref.name,
				 ns, podref.name);
		char why[400];
		budget_text(w, pdb, &cs, desired, current, why, sizeof why);
		diag_set_root_cause(f,
				    "PodDisruptionBudget %s/%s %s, so it allows 0 disruptions and every "
				    "eviction from node %s, %s, is refused.",
				    ns, name, why, nref.name, cs.blocked[0].how);
		for (size_t i = 0; i < cs.n_blocked; i++) {
			struct diag_ref n = diag_ref_of(w, cs.blocked[i].node);
			struct diag_ref pd = diag_ref_of(w, cs.blocked[i].pod);
			diag_ev_object(f, &n, "%s, still runs pod %s/%s",
				       cs.blocked[i].how, ns, pd.name);
			diag_related(f, &n, "cordoned-node");
			diag_related(f, &pd, "stuck-pod");
			struct event_pick ev = node_events(w, cs.blocked[i].node, ns, name);
			if (ev.n)
				diag_ev_event(f, w, ev.last);
			char key[400];
			snprintf(key, sizeof key, "node-cordoned:%s", n.name);
			diag_alias(cx, key, f->group);
		}
		f->confidence = 0.95;
	} else {
		diag_set_symptom(f, "PodDisruptionBudget %s/%s allows 0 disruptions", ns, name);
		if (current < desired && wobj_ok(cs.workload)) {
			diag_set_root_cause(f, "PodDisruptionBudget %s/%s needs %lld healthy pods and "
					    "only %lld are healthy.", ns, name, (long long)desired,
					    (long long)current);
			diag_set_follows(f, "workload:%s", wobj_uid(w, cs.workload));
		} else {
			char why[400];
			budget_text(w, pdb, &cs, desired, current, why, sizeof why);
			diag_set_root_cause(f, "PodDisruptionBudget %s/%s %s, so no pod can be evicted: "
					    "the next node drain will hang.", ns, name, why);
		}
		f->confidence = 0.85;
	}
	pdb_remediation(f, w, pdb, &cs, blocking);
	return 0;
}

void diag_an_pdb(struct diag_ctx *cx)
{
	diag_each(cx, WK_PDB, pdb_visit, cx);
}
