/* an_netpol.c — the NetworkPolicy analyzer.
 *
 * The pod selector is matched in full (matchLabels and matchExpressions; K8sGPT ignores the
 * expressions):
 *   - a non-empty selector matching no pod in the namespace: NetworkPolicySelectsNoPods
 *     (low: the policy protects nothing, often a label typo);
 *   - an empty selector selects every pod of the namespace (K8sGPT calls that "allows all",
 *     which is wrong: it depends on the rules). It is NetworkPolicyAllPods (info), unless it
 *     denies all ingress (Ingress among its policy types and no ingress rule) in a namespace
 *     with Services while no other policy there allows any ingress: then
 *     NetworkPolicyDeniesAllIngress (high), since those Services cannot be reached. A
 *     default-deny next to policies that open what is needed is the recommended pattern and
 *     stays info. */
#include "base/common.h"

#include <string.h>

#include "base/json.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

/* Whether the policy restricts ingress (policyTypes has Ingress, or is absent: then Ingress
 * is implied) and allows none (no ingress rule). */
static bool denies_all_ingress(const cJSON *j)
{
	const cJSON *types = ks_json_get(j, "spec.policyTypes");
	bool ingress = !types || !ks_json_len(types);
	const cJSON *t;
	cJSON_ArrayForEach(t, types)
		if (cJSON_IsString(t) && !strcmp(t->valuestring, "Ingress"))
			ingress = true;
	return ingress && ks_json_len(ks_json_get(j, "spec.ingress")) == 0;
}

struct other_scan {
	struct world *w;
	uint32_t self;
	bool allows;
};

static int other_visit(void *p, struct wobj np)
{
	struct other_scan *os = p;
	if (np.id == os->self)
		return 0;
	if (kube_objstore_len(np.st, wobj_get(np, "spec.ingress")) > 0) {
		os->allows = true;
		return 1;
	}
	return 0;
}

static int count_visit(void *p, struct wobj o)
{
	(*(size_t *)p)++;
	return 0;
}

static int netpol_visit(void *p, struct wobj np)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	const char *ns = wobj_ns(w, np), *name = wobj_name(w, np);
	struct diag_ref ref = diag_ref_of(w, np);
	struct kube_selector sel;
	if (!infra_selector_at(np, "spec.podSelector", &sel))
		return 0;
	bool all = kube_selector_empty(&sel);
	size_t pods = infra_pods_matching(w, ns, &sel, NULL, NULL);
	kube_selector_free(&sel);
	if (!all) {
		if (pods > 0)
			return 0;
		char text[512];
		infra_map_text(np, "spec.podSelector.matchLabels", text, sizeof text);
		struct diag_finding *f = diag_new(cx, "NetworkPolicy", "NetworkPolicySelectsNoPods",
						  DIAG_LOW, np);
		diag_set_symptom(f, "NetworkPolicy %s/%s applies to no pod", ns, name);
		diag_set_root_cause(f, "The pod selector of NetworkPolicy %s/%s (%s) matches no pod in "
				    "namespace %s, so it restricts nothing.", ns, name,
				    text[0] ? text : "expressions", ns);
		diag_ev_field(f, &ref, ".spec.podSelector", "%s", text[0] ? text : "(expressions)");
		diag_fix_human(f, "fix the selector to the labels of the pods to protect, or delete "
			       "the policy");
		diag_fix_check(f, "kubectl -n %s get pods --show-labels", ns);
		f->confidence = 0.7;
		return 0;
	}
	const cJSON *j = world_json(w, np);
	size_t services = 0;
	world_in_namespace(w, WK_SERVICE, ns, count_visit, &services);
	struct other_scan os = {.w = w, .self = np.id};
	world_in_namespace(w, WK_NETWORKPOLICY, ns, other_visit, &os);
	if (denies_all_ingress(j) && services > 0 && !os.allows && pods > 0) {
		struct diag_finding *f = diag_new(cx, "NetworkPolicy", "NetworkPolicyDeniesAllIngress",
						  DIAG_HIGH, np);
		diag_set_symptom(f, "no pod of namespace %s accepts connections", ns);
		diag_set_root_cause(f, "NetworkPolicy %s/%s selects every pod of namespace %s and "
				    "allows no ingress, and no other policy there allows any: the %zu "
				    "Service(s) of the namespace are unreachable.", ns, name, ns,
				    services);
		diag_ev_field(f, &ref, ".spec.podSelector", "{} (all %zu pods)", pods);
		diag_ev_field(f, &ref, ".spec.ingress", "[] (no rule)");
		diag_fix_human(f, "add NetworkPolicies that allow the traffic the Services need, or "
			       "delete %s/%s", ns, name);
		f->confidence = 0.8;
		return 0;
	}
	struct diag_finding *f = diag_new(cx, "NetworkPolicy", "NetworkPolicyAllPods", DIAG_INFO, np);
	diag_set_symptom(f, "NetworkPolicy %s/%s applies to every pod of namespace %s", ns, name,
			 ns);
	diag_set_root_cause(f, "NetworkPolicy %s/%s has an empty pod selector: its rules apply to "
			    "all %zu pod(s) of namespace %s.", ns, name, pods, ns);
	diag_ev_field(f, &ref, ".spec.podSelector", "{}");
	diag_fix_human(f, "nothing to do if a namespace-wide policy is intended");
	f->confidence = 0.5;
	return 0;
}

void diag_an_netpol(struct diag_ctx *cx)
{
	diag_each(cx, WK_NETWORKPOLICY, netpol_visit, cx);
}
