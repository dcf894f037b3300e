/* an_karpenter.c — "Karpenter": NodePools (karpenter.sh v1 and v1beta1 share the fields read
 * here: spec.template.spec.requirements/taints, spec.template.metadata.labels, spec.limits,
 * status.resources) and the nodes they own (label karpenter.sh/nodepool). Runs only where
 * the NodePool kind is served.
 *
 * Findings, one per NodePool (or node):
 *   NodePoolLimitReached — Unschedulable pods that the pool could hold but for its limits
 *     (capacity.h's verdict CAP_POOL_LIMIT); group "nodepool-limit:<pool>", which the
 *     Scheduling analyzer's findings on those workloads follow.
 *   NodePoolRequirementsUnsatisfiable — no catalog instance type meets the requirements.
 *   NodePoolOverprovisioned — the pods on the pool's nodes request under a quarter of the
 *     nodes' allocatable CPU and memory while a requirement (instance-size, -type, -cpu,
 *     -memory) keeps Karpenter from choosing smaller types, so consolidation cannot help.
 *     Not while the pool is settling: a node whose labels no longer satisfy the pool's
 *     requirements (drifted: Karpenter replaces it) or that is being deleted proves nothing
 *     about the requirements as they are now (a change that just narrowed them would
 *     otherwise be blamed for the nodes it is replacing).
 *   NodeDisruptionBlocked — a node Karpenter wants to disrupt (DisruptionBlocked events, or
 *     its karpenter.sh/disruption taint) that something holds: the do-not-disrupt annotation
 *     on the node or one of its pods, or a PodDisruptionBudget allowing 0 disruptions.
 * Pools are few; the pending pods are screened with the accessors and each workload's
 * verdicts computed once (cached by owner uid). */
#include "base/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/hashmap.h"
#include "base/json.h"
#include "cost/catalog.h"
#include "diag/capacity.h"
#include "diag/infra.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "kube/selector.h"

#define AN "Karpenter"
#define NODEPOOL_LABEL "karpenter.sh/nodepool"
#define DND "karpenter.sh/do-not-disrupt"
#define HOURS_PER_MONTH 730.0
#define OVERPROVISIONED_RATIO 0.25
#define MAX_OWNERS 8

struct pool_state {
	struct wobj o;
	const cJSON *j;
	const char *name;
	struct cap_pool_eval limit_eval; /* of a pending pod it is limited for */
	size_t pending;                  /* pods pending because of the limit */
	int64_t pending_cpu_m;
	struct wobj owners[MAX_OWNERS];
	size_t owner_pods[MAX_OWNERS];
	size_t nowners;
	struct wobj example_pod;
};

struct karp {
	struct diag_ctx *cx;
	struct world *w;
	const struct cost_catalog *cat;
	struct pool_state *pools;
	size_t npools, cap;
	char zones[512];
	struct ks_map verdicts; /* owner uid -> enum cap_pool_verdict[npools] + 1 (as bytes) */
};

static int collect_pool(void *ctx, struct wobj o)
{
	struct karp *k = ctx;
	k->pools = ks_grow(k->pools, sizeof *k->pools, k->npools + 1, &k->cap);
	k->pools[k->npools++] = (struct pool_state){
		.o = o, .j = world_json(k->w, o), .name = wobj_name(k->w, o), .pending = 0};
	return 0;
}

/* ---- pods pending because of a pool's limits ---- */

static void count_pending(struct karp *k, struct pool_state *p, struct wobj pod, struct wobj owner,
			  int64_t cpu_m)
{
	p->pending++;
	p->pending_cpu_m += cpu_m;
	if (!wobj_ok(p->example_pod))
		p->example_pod = pod;
	for (size_t i = 0; i < p->nowners; i++)
		if (p->owners[i].id == owner.id && p->owners[i].kind == owner.kind) {
			p->owner_pods[i]++;
			return;
		}
	if (p->nowners < MAX_OWNERS) {
		p->owners[p->nowners] = owner;
		p->owner_pods[p->nowners++] = 1;
	}
}

static int visit_pending(void *ctx, struct wobj o)
{
	struct karp *k = ctx;
	const cJSON *pod;
	if (!cap_pod_unschedulable(k->w, o, &pod))
		return 0;
	struct wobj owner = cap_pod_owner(k->w, pod, o);
	const char *uid = wobj_uid(k->w, owner);
	struct cap_res req;
	cap_pod_requests(pod, &req);
	char *cached = ks_map_get(&k->verdicts, uid);
	if (!cached) {
		cached = ks_calloc(k->npools + 1, 1);
		struct kube_nodereq_sel sel = {0};
		bool ok = kube_nodereq_from_pod(pod, &sel, NULL) == 0;
		for (size_t i = 0; i < k->npools; i++) {
			struct cap_pool_eval e;
			if (ok)
				cap_pool_eval(k->w, k->cat, k->pools[i].j, pod, &sel, &req, k->zones, &e);
			cached[i] = (char)(ok ? e.verdict : CAP_POOL_REQUIREMENTS);
			if (ok && e.verdict == CAP_POOL_LIMIT && k->pools[i].pending == 0)
				k->pools[i].limit_eval = e;
		}
		kube_nodereq_sel_free(&sel);
		ks_map_put(&k->verdicts, uid, cached);
	}
	bool fits_somewhere = false;
	for (size_t i = 0; i < k->npools; i++)
		fits_somewhere |= cached[i] == CAP_POOL_FITS;
	if (fits_somewhere)
		return 0; /* Karpenter can launch it elsewhere */
	for (size_t i = 0; i < k->npools; i++)
		if (cached[i] == CAP_POOL_LIMIT)
			count_pending(k, &k->pools[i], o, owner, req.cpu_m);
	return 0;
}

struct karp_event {
	struct diag_finding *f;
	struct world *w;
	bool done;
};

static int add_karpenter_event(void *ctx, struct wobj e)
{
	struct karp_event *c = ctx;
	if (!c->done && wobj_str_eq(e, "reason", "FailedScheduling") &&
	    wobj_str_eq(e, "source.component", "karpenter")) {
		diag_ev_event(c->f, c->w, e);
		c->done = true;
	}
	return 0;
}

static int add_any_event(void *ctx, struct wobj e)
{
	struct karp_event *c = ctx;
	diag_ev_event(c->f, c->w, e);
	return 0;
}

static void report_limit(struct karp *k, struct pool_state *p)
{
	struct diag_finding *f = diag_new(k->cx, AN, "NodePoolLimitReached", DIAG_HIGH, p->o);
	const struct cap_pool_eval *e = &p->limit_eval;
	struct diag_ref pr = f->object;
	diag_set_group(f, "nodepool-limit:%s", p->name);
	char lim[32], used[32], pend[32];
	cap_fmt_cpu(lim, sizeof lim, e->limit.cpu_m);
	cap_fmt_cpu(used, sizeof used, e->used.cpu_m);
	cap_fmt_cpu(pend, sizeof pend, p->pending_cpu_m);
	struct ks_buf owners;
	ks_buf_init(&owners, KS_BUF_UNLIMITED);
	for (size_t i = 0; i < p->nowners; i++) {
		struct diag_ref r = diag_ref_of(k->w, p->owners[i]);
		ks_buf_appendf(&owners, "%s%s %s/%s", i ? ", " : "", r.kind, r.ns, r.name);
	}
	diag_set_symptom(f, "%zu pod%s pending: NodePool %s may not launch more nodes", p->pending,
			 p->pending == 1 ? "" : "s", p->name);
	diag_set_root_cause(
		f,
		"NodePool %s is at its limits (cpu %s in use of limit %s), so Karpenter "
		"launches no node for the %zu pending pod%s of %s (%s vCPU requested).",
		p->name, used, lim, p->pending, p->pending == 1 ? "" : "s", owners.data, pend);
	diag_ev_field(f, &pr, ".spec.limits.cpu", "%s", lim);
	diag_ev_field(f, &pr, ".status.resources.cpu", "%s", used);
	if (e->limit.mem >= 0) {
		char lm[32], um[32];
		cap_fmt_mem(lm, sizeof lm, e->limit.mem);
		cap_fmt_mem(um, sizeof um, e->used.mem);
		diag_ev_field(f, &pr, ".spec.limits.memory", "%s (in use %s)", lm, um);
	}
	for (size_t i = 0; i < p->nowners; i++) {
		struct diag_ref r = diag_ref_of(k->w, p->owners[i]);
		diag_ev_object(f, &r, "%zu pod%s Pending (Unschedulable) that only NodePool %s "
				      "could hold",
			       p->owner_pods[i], p->owner_pods[i] == 1 ? "" : "s", p->name);
		diag_related(f, &r, "workload with pending pods");
	}
	struct diag_ref podref = diag_ref_of(k->w, p->example_pod);
	struct karp_event ce = {f, k->w, false};
	world_events_for(k->w, "Pod", podref.ns, podref.name, podref.uid, add_karpenter_event,
			 &ce);
	world_events_for(k->w, "NodePool", "", p->name, wobj_uid(k->w, p->o), add_any_event, &ce);
	cap_fix_pool_limit(f, &pr, e, p->pending_cpu_m);
	f->n_affected = p->pending;
	f->confidence = 0.9;
	ks_buf_release(&owners);
}

/* ---- requirements no instance type satisfies ---- */

static void report_unsatisfiable(struct karp *k, struct pool_state *p)
{
	struct cap_pool_eval e;
	cap_pool_eval(k->w, k->cat, p->j, NULL, NULL, NULL, k->zones, &e);
	if (e.types_pool > 0)
		return;
	struct diag_finding *f =
		diag_new(k->cx, AN, "NodePoolRequirementsUnsatisfiable", DIAG_HIGH, p->o);
	const cJSON *reqs = ks_json_get(p->j, "spec.template.spec.requirements");
	char *txt = reqs ? ks_json_print(reqs) : ks_strdup("[]");
	diag_set_symptom(f, "NodePool %s can launch no node", p->name);
	diag_set_root_cause(f,
			    "No instance type of the catalog (%zu types) satisfies NodePool %s's "
			    "requirements, so it can never launch a node.",
			    cost_catalog_count(k->cat), p->name);
	diag_ev_field(f, &f->object, ".spec.template.spec.requirements", "%s", txt);
	diag_fix_human(f, "correct NodePool %s's requirements (instance family, size, arch, "
			  "capacity type) so that some instance type meets them all",
		       p->name);
	diag_fix_check(f, "requirements that contradict each other (e.g. an arm64 family with "
			  "kubernetes.io/arch In [amd64])");
	f->confidence = 0.85;
	free(txt);
}

/* ---- overprovisioned pools ---- */

#define MAX_POOL_WORKLOADS 10

struct pool_nodes {
	struct karp *k;
	const char *pool;
	size_t n;
	struct cap_res alloc, used;
	double hourly;
	char types[256];
	struct diag_ref workloads[MAX_POOL_WORKLOADS]; /* the workloads that ask for the pool */
	size_t nworkloads;
	bool workloads_too; /* collect them (only once the pool is found overprovisioned) */
	const struct kube_nodereq_term *term; /* the pool's requirements (cap_pool_term) */
	size_t settling;    /* nodes drifted from the requirements, or being deleted */
};

/* The controller a pod belongs to, through its ReplicaSet to the Deployment. */
static struct wobj top_owner(struct world *w, struct wobj o)
{
	for (int depth = 0; depth < 3; depth++) {
		uint32_t refs = wobj_get(o, "metadata.ownerReferences");
		struct wobj ref = {.st = o.st, .id = kube_objstore_at(o.st, refs, 0)};
		char uid[64];
		if (!wobj_ok(ref) || !wobj_str(ref, "uid", uid, sizeof uid))
			break;
		struct wobj owner = world_by_uid(w, uid);
		if (!wobj_ok(owner))
			break;
		o = owner;
	}
	return o;
}

static int note_pool_workload(void *ctx, struct wobj pod)
{
	struct pool_nodes *pn = ctx;
	if (pn->nworkloads == MAX_POOL_WORKLOADS)
		return 1;
	/* Only the pool's own workloads, the pods that ask for it by name: others that landed
	 * there are not what the pool is for. */
	uint32_t want = kube_objstore_child(pod.st, wobj_get(pod, "spec.nodeSelector"),
					    NODEPOOL_LABEL, strlen(NODEPOOL_LABEL));
	if (!kube_objstore_str_eq(pod.st, want, pn->pool, strlen(pn->pool)))
		return 0;
	struct diag_ref r = diag_ref_of(pn->k->w, top_owner(pn->k->w, pod));
	for (size_t i = 0; i < pn->nworkloads; i++)
		if (!strcmp(pn->workloads[i].uid, r.uid))
			return 0;
	pn->workloads[pn->nworkloads++] = r;
	return 0;
}

static int visit_pool_node(void *ctx, struct wobj o)
{
	struct pool_nodes *pn = ctx;
	if (cap_node_settling(o, pn->term, pn->k->cat)) {
		pn->settling++;
		return 0;
	}
	struct cap_res a, u;
	cap_wnode_allocatable(o, &a);
	cap_node_requested(pn->k->w, wobj_name(pn->k->w, o), &u);
	pn->alloc.cpu_m += a.cpu_m;
	pn->alloc.mem += a.mem;
	pn->used.cpu_m += u.cpu_m;
	pn->used.mem += u.mem;
	pn->used.pods += u.pods;
	pn->n++;
	if (pn->workloads_too)
		world_pods_on_node(pn->k->w, wobj_name(pn->k->w, o), note_pool_workload, pn);
	char tbuf[64];
	const char *type = infra_label(o, "node.kubernetes.io/instance-type", tbuf, sizeof tbuf);
	if (!type)
		type = "";
	const struct cost_instance_type *t =
		pn->k->cat ? cost_catalog_find(pn->k->cat, type) : NULL;
	if (t)
		pn->hourly += t->od_price_usd_hr;
	if (!strstr(pn->types, type) && strlen(pn->types) + strlen(type) + 3 < sizeof pn->types)
		snprintf(pn->types + strlen(pn->types), sizeof pn->types - strlen(pn->types),
			 "%s%s", pn->types[0] ? ", " : "", type);
	return 0;
}

static const char *const size_keys[] = {
	"karpenter.k8s.aws/instance-size", "node.kubernetes.io/instance-type",
	"karpenter.k8s.aws/instance-cpu", "karpenter.k8s.aws/instance-memory",
};

static const cJSON *restricting_requirement(const cJSON *reqs, size_t *index)
{
	size_t i = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, reqs) {
		const char *key = ks_json_str_or(r, "key", "");
		for (size_t k = 0; k < KS_ARRAY_LEN(size_keys); k++)
			if (!strcmp(key, size_keys[k])) {
				*index = i;
				return r;
			}
		i++;
	}
	return NULL;
}

static void report_overprovisioned(struct karp *k, struct pool_state *p)
{
	size_t idx = 0;
	const cJSON *reqs = ks_json_get(p->j, "spec.template.spec.requirements");
	const cJSON *restrict_req = restricting_requirement(reqs, &idx);
	if (!restrict_req)
		return; /* consolidation can pick smaller types on its own */
	struct kube_nodereq_term term = {0};
	if (cap_pool_term(p->j, NULL, &term)) {
		kube_nodereq_term_free(&term);
		return; /* requirements that do not parse: nothing to judge them by */
	}
	char kv[128];
	snprintf(kv, sizeof kv, NODEPOOL_LABEL "=%s", p->name);
	struct pool_nodes pn = {.k = k, .pool = p->name, .term = &term};
	world_with_label(k->w, WK_NODE, kv, visit_pool_node, &pn);
	double cpu_ratio = pn.alloc.cpu_m > 0 ? (double)pn.used.cpu_m / (double)pn.alloc.cpu_m : 1;
	double mem_ratio = pn.alloc.mem > 0 ? (double)pn.used.mem / (double)pn.alloc.mem : 1;
	if (pn.n == 0 || pn.settling || cpu_ratio >= OVERPROVISIONED_RATIO ||
	    mem_ratio >= OVERPROVISIONED_RATIO) {
		kube_nodereq_term_free(&term);
		return;
	}
	/* overprovisioned: a second pass for the workloads the finding names */
	pn = (struct pool_nodes){
		.k = k, .pool = p->name, .workloads_too = true, .term = &term};
	world_with_label(k->w, WK_NODE, kv, visit_pool_node, &pn);
	kube_nodereq_term_free(&term);
	struct diag_finding *f = diag_new(k->cx, AN, "NodePoolOverprovisioned", DIAG_MEDIUM, p->o);
	char ucpu[32], acpu[32], umem[32], amem[32];
	cap_fmt_cpu(ucpu, sizeof ucpu, pn.used.cpu_m);
	cap_fmt_cpu(acpu, sizeof acpu, pn.alloc.cpu_m);
	cap_fmt_mem(umem, sizeof umem, pn.used.mem);
	cap_fmt_mem(amem, sizeof amem, pn.alloc.mem);
	char *reqtxt = ks_json_print(restrict_req);
	const char *key = ks_json_str_or(restrict_req, "key", "");
	diag_set_symptom(f, "the %zu node%s (%s) of NodePool %s are %.0f%% requested", pn.n,
			 pn.n == 1 ? "" : "s", pn.types, p->name, cpu_ratio * 100);
	diag_set_root_cause(f,
			    "The requirement %s of NodePool %s keeps it on large instances: its "
			    "%zu node%s (%s) hold pods requesting %s vCPU and %s of %s vCPU and %s "
			    "allocatable, about $%.0f a month.",
			    reqtxt, p->name, pn.n, pn.n == 1 ? "" : "s", pn.types, ucpu, umem, acpu,
			    amem, pn.hourly * HOURS_PER_MONTH);
	diag_ev_field(f, &f->object, ".spec.template.spec.requirements", "%s", reqtxt);
	diag_ev_object(f, &f->object, "%zu node%s: %s", pn.n, pn.n == 1 ? "" : "s", pn.types);
	for (size_t i = 0; i < pn.nworkloads; i++)
		diag_related(f, &pn.workloads[i], "runs on the pool's nodes");
	diag_ev_object(f, &f->object,
		       "requests %s vCPU of %s allocatable (%.1f%%), %s of %s (%.1f%%)", ucpu, acpu,
		       cpu_ratio * 100, umem, amem, mem_ratio * 100);
	if (pn.hourly > 0)
		diag_ev_object(f, &f->object,
			       "on-demand cost $%.3f/hour, $%.0f/month (catalog prices, us-east-1)",
			       pn.hourly, pn.hourly * HOURS_PER_MONTH);
	/* The fix: the whole requirements list (a merge patch replaces lists) with the
	 * restricting requirement opened to the small and medium sizes. */
	cJSON *list = cJSON_Duplicate(reqs, true);
	cJSON *r = cJSON_GetArrayItem(list, (int)idx);
	cJSON *sizes = cJSON_CreateArray();
	static const char *const smaller[] = {"large", "xlarge", "2xlarge"};
	for (size_t i = 0; i < KS_ARRAY_LEN(smaller); i++)
		cJSON_AddItemToArray(sizes, cJSON_CreateString(smaller[i]));
	cJSON_ReplaceItemInObject(r, "key", cJSON_CreateString("karpenter.k8s.aws/instance-size"));
	cJSON_ReplaceItemInObject(r, "operator", cJSON_CreateString("In"));
	if (cJSON_GetObjectItem(r, "values"))
		cJSON_ReplaceItemInObject(r, "values", sizes);
	else
		cJSON_AddItemToObject(r, "values", sizes);
	cJSON *patch = cJSON_CreateObject();
	cJSON *tspec = cJSON_AddObjectToObject(
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"), "template"),
		"spec");
	cJSON_AddItemToObject(tspec, "requirements", list);
	diag_fix_patch(f, &f->object, "merge", patch, "medium",
		       "let NodePool %s use sizes large to 2xlarge instead of %s so that Karpenter "
		       "consolidates onto right-sized nodes",
		       p->name, key);
	f->confidence = 0.8;
	free(reqtxt);
}

/* ---- disruption blocked ---- */

struct blockers {
	struct karp *k;
	struct diag_finding *f;
	size_t n;
	bool candidate;
	struct wobj node;
};

static int pod_blockers(void *ctx, struct wobj o)
{
	struct blockers *b = ctx;
	if (!cap_pod_active(o))
		return 0;
	const cJSON *pod = world_json(b->k->w, o);
	struct diag_ref pr = diag_ref_of(b->k->w, o);
	const cJSON *ann = ks_json_child(ks_json_get(pod, "metadata.annotations"), DND);
	if (b->f && cJSON_IsString(ann) && !strcmp(ann->valuestring, "true")) {
		diag_ev_object(b->f, &pr, "pod has the " DND " annotation");
		b->n++;
	}
	return 0;
}

struct pdb_scan {
	struct karp *k;
	struct blockers *b;
};

struct pdb_hit {
	struct world *w;
	const struct kube_selector *sel;
	const char *ns;
	bool hit;
};

static int pod_in_pdb(void *ctx, struct wobj o)
{
	struct pdb_hit *h = ctx;
	if (!h->hit && cap_pod_active(o) && !strcmp(wobj_ns(h->w, o), h->ns) &&
	    kube_selector_matches_json(h->sel, ks_json_get(world_json(h->w, o), "metadata.labels")))
		h->hit = true;
	return 0;
}

static int pdb_blocks(void *ctx, struct wobj o)
{
	struct pdb_scan *s = ctx;
	if (wobj_int(o, "status.disruptionsAllowed", 1) != 0)
		return 0;
	struct kube_selector sel;
	if (kube_selector_from_json(ks_json_get(world_json(s->k->w, o), "spec.selector"), &sel,
				    NULL))
		return 0;
	struct pdb_hit h = {s->k->w, &sel, wobj_ns(s->k->w, o), false};
	world_pods_on_node(s->k->w, wobj_name(s->k->w, s->b->node), pod_in_pdb, &h);
	if (h.hit) {
		struct diag_ref r = diag_ref_of(s->k->w, o);
		diag_ev_object(s->b->f, &r,
			       "PodDisruptionBudget allows 0 disruptions for pods on this node");
		diag_related(s->b->f, &r, "blocking PodDisruptionBudget");
		s->b->n++;
	}
	kube_selector_free(&sel);
	return 0;
}

static int disruption_event(void *ctx, struct wobj e)
{
	struct blockers *b = ctx;
	if (wobj_str_eq(e, "reason", "DisruptionBlocked")) {
		b->candidate = true;
		if (b->f)
			diag_ev_event(b->f, b->k->w, e);
	}
	return 0;
}

static int visit_karpenter_node(void *ctx, struct wobj o)
{
	struct karp *k = ctx;
	/* screened in the store: a node is decoded only once it is a disruption candidate */
	char pool[128];
	if (!infra_label(o, NODEPOOL_LABEL, pool, sizeof pool))
		return 0;
	struct blockers b = {.k = k, .node = o};
	const char *name = wobj_name(k->w, o);
	world_events_for(k->w, "Node", "", name, wobj_uid(k->w, o), disruption_event, &b);
	uint32_t taints = wobj_get(o, "spec.taints");
	for (size_t i = 0, nt = kube_objstore_len(o.st, taints); i < nt && !b.candidate; i++)
		b.candidate = kube_objstore_str_eq(
			o.st, kube_objstore_child(o.st, kube_objstore_at(o.st, taints, i), "key", 3),
			"karpenter.sh/disruption", strlen("karpenter.sh/disruption"));
	if (!b.candidate)
		return 0;
	const cJSON *n = world_json(k->w, o);
	struct diag_finding *f = diag_new(k->cx, AN, "NodeDisruptionBlocked", DIAG_LOW, o);
	b.f = f;
	world_events_for(k->w, "Node", "", name, wobj_uid(k->w, o), disruption_event, &b);
	const cJSON *ann = ks_json_child(ks_json_get(n, "metadata.annotations"), DND);
	if (cJSON_IsString(ann) && !strcmp(ann->valuestring, "true")) {
		diag_ev_field(f, &f->object, ".metadata.annotations." DND, "true");
		b.n++;
	}
	world_pods_on_node(k->w, name, pod_blockers, &b);
	struct pdb_scan ps = {k, &b};
	world_each(k->w, WK_PDB, pdb_blocks, &ps);
	diag_set_symptom(f, "Karpenter cannot disrupt node %s", name);
	diag_set_root_cause(f,
			    "Node %s is a disruption candidate but %zu blocker%s hold%s it (the "
			    "do-not-disrupt annotation or PodDisruptionBudgets allowing 0 "
			    "disruptions), so it keeps running and costing.",
			    name, b.n, b.n == 1 ? "" : "s", b.n == 1 ? "s" : "");
	diag_fix_human(f, "decide whether node %s may be disrupted now", name);
	diag_fix_check(f, "pods or the node annotated " DND "=true");
	diag_fix_check(f, "PodDisruptionBudgets with status.disruptionsAllowed 0 over its pods");
	f->confidence = b.n ? 0.8 : 0.5;
	return 0;
}

void diag_an_karpenter(struct diag_ctx *cx)
{
	if (!world_has(cx->w, WK_NODEPOOL))
		return;
	struct karp k = {.cx = cx, .w = cx->w};
	ks_map_init(&k.verdicts);
	world_each(k.w, WK_NODEPOOL, collect_pool, &k);
	k.cat = cap_catalog(cx);
	cap_cluster_zones(k.w, k.zones, sizeof k.zones);
	if (k.npools) {
		diag_each(cx, WK_POD, visit_pending, &k);
		for (size_t i = 0; i < k.npools; i++) {
			if (!diag_in_scope(cx, k.pools[i].o) && cx->o->ns && !k.pools[i].pending)
				continue;
			if (k.pools[i].pending)
				report_limit(&k, &k.pools[i]);
			if (cx->o->ns)
				continue; /* cluster-scoped checks only for the whole cluster */
			if (k.cat)
				report_unsatisfiable(&k, &k.pools[i]);
			report_overprovisioned(&k, &k.pools[i]);
		}
	}
	if (!cx->o->ns)
		world_each(k.w, WK_NODE, visit_karpenter_node, &k);
	const char *key;
	void *val;
	for (size_t i = 0; ks_map_next(&k.verdicts, &i, &key, &val);)
		free(val);
	ks_map_release(&k.verdicts);
	free(k.pools);
}
