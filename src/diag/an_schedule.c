/* an_schedule.c — "Scheduling": why pending pods cannot be placed, per constraint.
 *
 * Pods that are Pending with PodScheduled=False/Unschedulable are grouped by the workload
 * that owns them (Deployment through its ReplicaSet, or the controller, or the pod): one
 * finding per workload, group "schedule:<owner uid>" (the ReplicaSet's and the pods' keys
 * are aliased to it, so the Pod analyzer's Unschedulable findings join it). One pod of the
 * group is examined against every node — the first constraint that excludes it, in the
 * order node selector/affinity, taints, cordon, resources — and against every Karpenter
 * NodePool (capacity.h). The root cause is then:
 *   - NodePoolLimitReached: some NodePool could hold the pod but for its limits (the group
 *     also follows and is aliased to "nodepool-limit:<pool>", the Karpenter analyzer's);
 *   - otherwise, when no NodePool can launch a node either, the constraint that leaves no
 *     node: NodeSelectorUnsatisfiable / NodeAffinityUnsatisfiable (no node matches),
 *     UntoleratedTaint (every matching node is tainted), NodesCordoned, else
 *     InsufficientResources;
 *   - a pod some node or NodePool can take is only waiting (no finding).
 * The summary reads like the scheduler's ("0/10 nodes are available: ...") but names the
 * constraint and the nodes. */
#include "base/common.h"

#include <stdio.h>
#include <string.h>

#include "base/hashmap.h"
#include "base/json.h"
#include "diag/capacity.h"
#include "diag/analyzers.h"
#include "diag/diag.h"

#define AN "Scheduling"
#define MAX_NAMED 6 /* nodes named per constraint in texts */
#define MAX_EVIDENCE_NODES 12 /* nodes given as evidence items (the texts count them all) */

enum node_reason { NR_OK, NR_SELECTOR, NR_TAINT, NR_CORDONED, NR_CPU, NR_MEMORY, NR_PODS,
		   NR_COUNT };

static const char *const reason_text[NR_COUNT] = {
	"fit", "didn't match the pod's node selector/affinity", "had an untolerated taint",
	"were unschedulable (cordoned)", "had insufficient cpu", "had insufficient memory",
	"had too many pods",
};

struct node_info {
	struct wobj o;
	cJSON *j;      /* node_summary: owned */
	cJSON *labels; /* node_labels: owned, decoded on first use */
	struct wobj labels_o; /* metadata.labels in the store */
	const char *name;
	bool have_free;
	struct cap_res alloc, used;
};

struct pending_group {
	struct wobj owner;
	struct wobj pod;     /* the one examined */
	const cJSON *pod_j;
	size_t count;
	char *pod_uids;      /* "uid,uid,..." for aliases */
};

struct sched {
	struct diag_ctx *cx;
	struct world *w;
	struct pending_group *groups;
	size_t ngroups, cap;
	struct ks_map by_owner; /* owner uid -> index + 1 */
	struct ks_map fit_memo; /* placement constraints -> node_fits verdicts; "pool:…" keys ->
				 * cap_pool_eval results */
	struct node_info *nodes;
	size_t nnodes, nodes_cap;
	char zones[512];
};

static int collect_pending(void *ctx, struct wobj o)
{
	struct sched *s = ctx;
	const cJSON *pod;
	if (!cap_pod_unschedulable(s->w, o, &pod))
		return 0;
	struct wobj owner = cap_pod_owner(s->w, pod, o);
	const char *uid = wobj_uid(s->w, owner);
	uintptr_t idx = (uintptr_t)ks_map_get(&s->by_owner, uid);
	struct pending_group *g;
	if (!idx) {
		s->groups = ks_grow(s->groups, sizeof *s->groups, s->ngroups + 1, &s->cap);
		g = &s->groups[s->ngroups++];
		*g = (struct pending_group){.owner = owner, .pod = o, .pod_j = pod, .count = 0,
					    .pod_uids = ks_strdup("")};
		ks_map_put(&s->by_owner, uid, (void *)(uintptr_t)s->ngroups);
	} else {
		g = &s->groups[idx - 1];
	}
	g->count++;
	char *u = ks_asprintf("%s%s%s", g->pod_uids, g->pod_uids[0] ? "," : "", wobj_uid(s->w, o));
	free(g->pod_uids);
	g->pod_uids = u;
	return 0;
}

/* The parts of a node the scheduling checks read (taints, cordon, allocatable), decoded
 * alone: a whole node (its image list, conditions…) is many times bigger. Labels are read
 * in the store (wobj_label_lookup), and decoded only for the texts of a finding. */
static cJSON *node_summary(struct wobj o)
{
	static const char *const paths[][2] = {
		{"spec", "taints"}, {"spec", "unschedulable"}, {"status", "allocatable"}};
	cJSON *j = cJSON_CreateObject();
	for (size_t i = 0; i < KS_ARRAY_LEN(paths); i++) {
		char path[64];
		snprintf(path, sizeof path, "%s.%s", paths[i][0], paths[i][1]);
		uint32_t id = wobj_get(o, path);
		if (!id)
			continue;
		cJSON *parent = cJSON_GetObjectItemCaseSensitive(j, paths[i][0]);
		if (!parent)
			parent = cJSON_AddObjectToObject(j, paths[i][0]);
		cJSON_AddItemToObject(parent, paths[i][1], kube_objstore_to_cjson(o.st, id));
	}
	return j;
}

static const cJSON *node_labels(struct node_info *n)
{
	if (!n->labels)
		n->labels = kube_objstore_to_cjson(n->o.st, wobj_get(n->o, "metadata.labels"));
	if (!n->labels)
		n->labels = cJSON_CreateObject();
	return n->labels;
}

static int collect_node(void *ctx, struct wobj o)
{
	struct sched *s = ctx;
	s->nodes = ks_grow(s->nodes, sizeof *s->nodes, s->nnodes + 1, &s->nodes_cap);
	struct node_info *n = &s->nodes[s->nnodes++];
	*n = (struct node_info){.o = o, .j = node_summary(o), .name = wobj_name(s->w, o),
				.labels_o = {.st = o.st, .id = wobj_get(o, "metadata.labels"),
					     .kind = o.kind},
				.have_free = false};
	return 0;
}

/* The constraints of the node itself (labels, taints, cordon), which depend only on the
 * pod's node selector, affinity and tolerations. */
/* The taints and cordon of a node against the pod's tolerations. */
static enum node_reason judge_node_taints(struct node_info *n, const cJSON *tolerations)
{
	bool cordoned = ks_json_bool_or(n->j, "spec.unschedulable", false);
	const cJSON *taints = ks_json_get(n->j, "spec.taints");
	if (cJSON_GetArraySize(taints) && !kube_tolerates_taints(tolerations, taints, true, NULL))
		return cordoned ? NR_CORDONED : NR_TAINT;
	return cordoned ? NR_CORDONED : NR_OK;
}

static enum node_reason judge_node_room(struct sched *s, struct node_info *n,
					const struct cap_res *req)
{
	if (!n->have_free) {
		cap_node_allocatable(n->j, &n->alloc);
		cap_node_requested(s->w, n->name, &n->used);
		n->have_free = true;
	}
	if (n->alloc.cpu_m - n->used.cpu_m < req->cpu_m)
		return NR_CPU;
	if (n->alloc.mem - n->used.mem < req->mem)
		return NR_MEMORY;
	if (n->alloc.pods - n->used.pods < 1)
		return NR_PODS;
	return NR_OK;
}

/* judge_node_fit of every node for the pod, memoized per distinct (node selector,
 * affinity, tolerations): workloads with the same placement constraints (most have none)
 * share one pass over the nodes. */
/* One verdict a node (NR_SELECTOR, NR_TAINT, NR_CORDONED or NR_OK), memoized under key:
 * the selector's verdicts depend only on the pod's node selector and affinity, the taints'
 * only on its tolerations, and workloads share both far more often than not. */
static unsigned char *verdicts_memo(struct sched *s, const char *key, bool *fresh)
{
	unsigned char *v = ks_map_get(&s->fit_memo, key);
	*fresh = !v;
	if (!v) {
		v = ks_malloc(s->nnodes + 1);
		ks_map_put(&s->fit_memo, key, v);
	}
	return v;
}

static const unsigned char *node_fits(struct sched *s, struct wobj pod_o, const cJSON *pod,
				      const struct kube_nodereq_sel *sel)
{
	uint32_t spec = wobj_get(pod_o, "spec");
	uint32_t ns_id = kube_objstore_child(pod_o.st, spec, "nodeSelector", 12);
	uint32_t aff_id = kube_objstore_child(pod_o.st, spec, "affinity", 8);
	uint32_t tol_id = kube_objstore_child(pod_o.st, spec, "tolerations", 11);
	char key[64];
	bool fresh;
	snprintf(key, sizeof key, "fit:%u:%u:%u", ns_id, aff_id, tol_id);
	unsigned char *fit = verdicts_memo(s, key, &fresh);
	if (!fresh)
		return fit;
	snprintf(key, sizeof key, "sel:%u:%u", ns_id, aff_id);
	unsigned char *selv = verdicts_memo(s, key, &fresh);
	for (size_t i = 0; fresh && i < s->nnodes; i++) {
		struct wobj_labels l = {.labels = s->nodes[i].labels_o};
		selv[i] = kube_nodereq_sel_matches(sel, wobj_label_lookup, &l) ? NR_OK
										: NR_SELECTOR;
	}
	snprintf(key, sizeof key, "taint:%u", tol_id);
	unsigned char *taintv = verdicts_memo(s, key, &fresh);
	const cJSON *tolerations = ks_json_get(pod, "spec.tolerations");
	for (size_t i = 0; fresh && i < s->nnodes; i++)
		taintv[i] = (unsigned char)judge_node_taints(&s->nodes[i], tolerations);
	for (size_t i = 0; i < s->nnodes; i++)
		fit[i] = selv[i] != NR_OK ? selv[i] : taintv[i];
	return fit;
}

static void unmatched_selector_keys(struct sched *s, const cJSON *pod, struct ks_buf *out,
				    const char **first_key)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, ks_json_get(pod, "spec.nodeSelector")) {
		if (!cJSON_IsString(e))
			continue;
		bool found = false;
		for (size_t i = 0; i < s->nnodes && !found; i++) {
			const cJSON *v = ks_json_child(
				node_labels(&s->nodes[i]), e->string);
			found = cJSON_IsString(v) && !strcmp(v->valuestring, e->valuestring);
		}
		if (!found) {
			ks_buf_appendf(out, "%s%s=%s", out->len ? ", " : "", e->string,
				       e->valuestring);
			if (!*first_key)
				*first_key = e->string;
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "us-east-1a, us-east-1b": the distinct values of label key on the nodes, sorted. */
static void node_values(struct sched *s, const char *key, struct ks_buf *out)
{
	const char **vals = ks_calloc(s->nnodes + 1, sizeof *vals);
	for (size_t i = 0; i < s->nnodes; i++) {
		const cJSON *v = ks_json_child(node_labels(&s->nodes[i]), key);
		vals[i] = cJSON_IsString(v) ? v->valuestring : "(none)";
	}
	qsort(vals, s->nnodes, sizeof *vals, cmp_str);
	for (size_t i = 0; i < s->nnodes; i++)
		if (i == 0 || strcmp(vals[i], vals[i - 1]))
			ks_buf_appendf(out, "%s%s", out->len ? ", " : "", vals[i]);
	free(vals);
}

static const char *workload_template_path(enum world_kind k)
{
	switch (k) {
	case WK_DEPLOYMENT:
	case WK_STATEFULSET:
	case WK_DAEMONSET:
	case WK_REPLICASET:
	case WK_JOB:
		return "/spec/template/spec";
	case WK_CRONJOB:
		return "/spec/jobTemplate/spec/template/spec";
	default:
		return NULL;
	}
}

/* A JSON pointer token: '~' -> "~0", '/' -> "~1". */
static void pointer_token(struct ks_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '~')
			ks_buf_appendstr(b, "~0");
		else if (*s == '/')
			ks_buf_appendstr(b, "~1");
		else
			ks_buf_appendc(b, *s);
	}
}

struct ev_ctx {
	struct diag_finding *f;
	struct world *w;
	size_t n;
};

static int add_sched_event(void *ctx, struct wobj e)
{
	struct ev_ctx *c = ctx;
	if (c->n < 4 && wobj_str_eq(e, "reason", "FailedScheduling")) {
		diag_ev_event(c->f, c->w, e);
		c->n++;
	}
	return 0;
}

struct verdicts {
	size_t per_reason[NR_COUNT];
	enum node_reason *node;     /* per node */
	struct cap_pool_eval *pool; /* per NodePool */
	struct wobj *pool_o;
	size_t npools, pools_cap;
};

static int collect_pool(void *ctx, struct wobj o)
{
	struct verdicts *v = ctx;
	v->pool_o = ks_grow(v->pool_o, sizeof *v->pool_o, v->npools + 1, &v->pools_cap);
	v->pool_o[v->npools++] = o;
	return 0;
}

static void explain(struct sched *s, const struct verdicts *v, struct ks_buf *b)
{
	ks_buf_appendf(b, "0/%zu nodes are available:", s->nnodes);
	bool first = true;
	for (int r = NR_SELECTOR; r < NR_COUNT; r++) {
		if (!v->per_reason[r])
			continue;
		ks_buf_appendf(b, "%s %zu node(s) %s (", first ? "" : ";", v->per_reason[r],
			       reason_text[r]);
		first = false;
		size_t named = 0;
		for (size_t i = 0; i < s->nnodes; i++) {
			if (v->node[i] != (enum node_reason)r)
				continue;
			if (named < MAX_NAMED)
				ks_buf_appendf(b, "%s%s", named ? ", " : "", s->nodes[i].name);
			named++;
		}
		if (named > MAX_NAMED)
			ks_buf_appendf(b, ", and %zu more", named - MAX_NAMED);
		ks_buf_appendc(b, ')');
	}
	ks_buf_appendc(b, '.');
	for (size_t i = 0; i < v->npools; i++)
		ks_buf_appendf(b, " NodePool %s: %s%s%s.", wobj_name(s->w, v->pool_o[i]),
			       v->pool[i].verdict == CAP_POOL_FITS ? "can launch a node" :
			       "cannot launch a node",
			       v->pool[i].why[0] ? ", " : "", v->pool[i].why);
}

/* cap_pool_eval, memoized per (pool, the pod's placement constraints, its requests):
 * evaluating a pool walks the instance-type catalog, and many pending workloads share
 * constraints and sizes. */
static void pool_eval_memo(struct sched *s, const struct cost_catalog *cat, struct wobj pool,
			   struct wobj pod_o, const cJSON *pod, const struct kube_nodereq_sel *sel,
			   const struct cap_res *req, struct cap_pool_eval *out)
{
	uint32_t spec = wobj_get(pod_o, "spec");
	char key[128];
	snprintf(key, sizeof key, "pool:%u:%u:%u:%u:%lld:%lld", pool.id,
		 kube_objstore_child(pod_o.st, spec, "nodeSelector", 12),
		 kube_objstore_child(pod_o.st, spec, "affinity", 8),
		 kube_objstore_child(pod_o.st, spec, "tolerations", 11), (long long)req->cpu_m,
		 (long long)req->mem);
	const struct cap_pool_eval *memo = ks_map_get(&s->fit_memo, key);
	if (memo) {
		*out = *memo;
		return;
	}
	cap_pool_eval(s->w, cat, world_json(s->w, pool), pod, sel, req, s->zones, out);
	struct cap_pool_eval *copy = ks_malloc(sizeof *copy);
	*copy = *out;
	ks_map_put(&s->fit_memo, key, copy);
}

static void report(struct sched *s, struct pending_group *g)
{
	struct world *w = s->w;
	const cJSON *pod = g->pod_j;
	struct kube_nodereq_sel sel = {0};
	if (kube_nodereq_from_pod(pod, &sel, NULL))
		return; /* an invalid affinity the API server would not have accepted */
	struct cap_res req;
	cap_pod_requests(pod, &req);
	struct verdicts v = {.node = ks_calloc(s->nnodes + 1, sizeof(enum node_reason))};
	size_t fits = 0;
	const unsigned char *fit = node_fits(s, g->pod, pod, &sel);
	for (size_t i = 0; i < s->nnodes; i++) {
		v.node[i] = fit[i] != NR_OK ? (enum node_reason)fit[i]
					    : judge_node_room(s, &s->nodes[i], &req);
		v.per_reason[v.node[i]]++;
		if (v.node[i] == NR_OK) {
			fits++;
			break; /* a node can take it: waiting for the scheduler, not stuck */
		}
	}
	if (fits)
		goto out;
	if (world_has(w, WK_NODEPOOL))
		world_each(w, WK_NODEPOOL, collect_pool, &v);
	v.pool = ks_calloc(v.npools + 1, sizeof *v.pool);
	const struct cost_catalog *cat = v.npools ? cap_catalog(s->cx) : NULL;
	size_t pool_fits = 0, limit_pool = SIZE_MAX;
	for (size_t i = 0; i < v.npools; i++) {
		pool_eval_memo(s, cat, v.pool_o[i], g->pod, pod, &sel, &req, &v.pool[i]);
		pool_fits += v.pool[i].verdict == CAP_POOL_FITS;
		if (v.pool[i].verdict == CAP_POOL_LIMIT && limit_pool == SIZE_MAX)
			limit_pool = i;
		if (pool_fits)
			break; /* Karpenter can launch a node: waiting, not stuck */
	}
	if (fits || pool_fits)
		goto out; /* waiting for the scheduler or Karpenter, not stuck */

	const char *cause;
	enum diag_severity sev = DIAG_HIGH;
	size_t not_selected = s->nnodes - v.per_reason[NR_SELECTOR];
	size_t not_tainted = not_selected - v.per_reason[NR_TAINT];
	size_t not_cordoned = not_tainted - v.per_reason[NR_CORDONED];
	struct ks_buf keys;
	ks_buf_init(&keys, KS_BUF_UNLIMITED);
	const char *first_key = NULL;
	if (limit_pool != SIZE_MAX) {
		cause = "NodePoolLimitReached";
	} else if (not_selected == 0) {
		unmatched_selector_keys(s, pod, &keys, &first_key);
		cause = first_key ? "NodeSelectorUnsatisfiable" : "NodeAffinityUnsatisfiable";
	} else if (not_tainted == 0) {
		cause = "UntoleratedTaint";
	} else if (not_cordoned == 0) {
		cause = "NodesCordoned";
	} else {
		cause = "InsufficientResources";
	}

	struct diag_finding *f = diag_new(s->cx, AN, cause, sev, g->owner);
	struct diag_ref owner = f->object;
	struct diag_ref podref = diag_ref_of(w, g->pod);
	const char *okind = world_kinds[g->owner.kind].kind;
	diag_set_group(f, "schedule:%s", owner.uid);
	for (const char *p = g->pod_uids; *p;) {
		size_t n = strcspn(p, ",");
		char *k = ks_asprintf("schedule:%.*s", (int)n, p);
		char *to = ks_asprintf("schedule:%s", owner.uid);
		diag_alias(s->cx, k, to);
		free(k);
		free(to);
		p += n + (p[n] == ',');
	}
	const cJSON *rs_ref = NULL;
	cJSON_ArrayForEach(rs_ref, ks_json_get(pod, "metadata.ownerReferences")) {
		if (ks_json_bool_or(rs_ref, "controller", false) &&
		    strcmp(ks_json_str_or(rs_ref, "uid", ""), owner.uid)) {
			char *k = ks_asprintf("schedule:%s", ks_json_str_or(rs_ref, "uid", ""));
			char *to = ks_asprintf("schedule:%s", owner.uid);
			diag_alias(s->cx, k, to);
			free(k);
			free(to);
		}
	}
	diag_set_symptom(f, "%zu pod%s of %s %s/%s %s Pending (Unschedulable)", g->count,
			 g->count == 1 ? "" : "s", okind, owner.ns, owner.name,
			 g->count == 1 ? "is" : "are");
	f->n_affected = g->count;
	diag_related(f, &podref, "pending pod");
	struct ks_buf why;
	ks_buf_init(&why, KS_BUF_UNLIMITED);
	explain(s, &v, &why);
	diag_set_explanation(f, "%s", why.data);
	ks_buf_release(&why);

	char cpu[32], mem[32];
	cap_fmt_cpu(cpu, sizeof cpu, req.cpu_m);
	cap_fmt_mem(mem, sizeof mem, req.mem);
	diag_ev_field(f, &podref, ".spec.containers[*].resources.requests", "cpu %s, memory %s",
		      cpu, mem);

	if (!strcmp(cause, "NodeSelectorUnsatisfiable")) {
		struct ks_buf zones;
		ks_buf_init(&zones, KS_BUF_UNLIMITED);
		node_values(s, first_key, &zones);
		size_t pools_req = 0;
		for (size_t i = 0; i < v.npools; i++)
			pools_req += v.pool[i].verdict == CAP_POOL_REQUIREMENTS;
		diag_set_root_cause(
			f,
			"%s %s/%s's pods require node label %s (nodeSelector); no node has it "
			"(the nodes have %s: %s)%s, so they are Unschedulable.",
			okind, owner.ns, owner.name, keys.data, first_key, zones.data,
			v.npools == 0 ? "" : pools_req == v.npools ?
					  " and no NodePool offers it" :
					  " and no NodePool can launch a node for them");
		const char *tp = workload_template_path(g->owner.kind);
		diag_ev_field(f, &owner, tp ? ".spec.template.spec.nodeSelector" :
					      ".spec.nodeSelector",
			      "%s", keys.data);
		for (size_t i = 0, named = 0; i < s->nnodes && named++ < MAX_EVIDENCE_NODES; i++) {
			const cJSON *lv = ks_json_child(
				node_labels(&s->nodes[i]), first_key);
			struct diag_ref nr = diag_ref_of(w, s->nodes[i].o);
			diag_ev_object(f, &nr, "%s=%s", first_key,
				       cJSON_IsString(lv) ? lv->valuestring : "(not set)");
		}
		ks_buf_release(&zones);
		if (tp) {
			struct ks_buf path;
			ks_buf_init(&path, KS_BUF_UNLIMITED);
			ks_buf_appendf(&path, "%s/nodeSelector/", tp);
			pointer_token(&path, first_key);
			cJSON *patch = cJSON_CreateArray();
			cJSON *op = cJSON_CreateObject();
			cJSON_AddStringToObject(op, "op", "remove");
			cJSON_AddStringToObject(op, "path", path.data);
			cJSON_AddItemToArray(patch, op);
			diag_fix_patch(f, &owner, "json", patch, "medium",
				       "remove the nodeSelector %s from %s %s/%s's pod template "
				       "(or set a value the nodes have)",
				       keys.data, okind, owner.ns, owner.name);
			ks_buf_release(&path);
		} else {
			diag_fix_human(f, "recreate pod %s/%s without the nodeSelector %s",
				       owner.ns, owner.name, keys.data);
		}
		f->confidence = 0.95;
	} else if (!strcmp(cause, "NodeAffinityUnsatisfiable")) {
		diag_set_root_cause(f,
				    "%s %s/%s's pods require node affinity that no node "
				    "matches%s, so they are Unschedulable.",
				    okind, owner.ns, owner.name,
				    v.npools ? " and no NodePool can launch a node for" : "");
		const cJSON *aff =
			ks_json_get(pod, "spec.affinity.nodeAffinity."
					 "requiredDuringSchedulingIgnoredDuringExecution");
		char *txt = aff ? ks_json_print(aff) : ks_strdup("{}");
		diag_ev_field(f, &podref,
			      ".spec.affinity.nodeAffinity."
			      "requiredDuringSchedulingIgnoredDuringExecution",
			      "%s", txt);
		free(txt);
		diag_fix_human(f, "correct the required node affinity of %s %s/%s", okind,
			       owner.ns, owner.name);
		diag_fix_check(
			f, "compare its matchExpressions with `kubectl get nodes --show-labels`");
		f->confidence = 0.85;
	} else if (!strcmp(cause, "UntoleratedTaint")) {
		const cJSON *taint = NULL;
		for (size_t i = 0; i < s->nnodes && !taint; i++)
			if (v.node[i] == NR_TAINT)
				kube_tolerates_taints(ks_json_get(pod, "spec.tolerations"),
						      ks_json_get(s->nodes[i].j, "spec.taints"),
						      true, &taint);
		const char *tk = ks_json_str_or(taint, "key", ""),
			   *tv = ks_json_str_or(taint, "value", ""),
			   *te = ks_json_str_or(taint, "effect", "");
		diag_set_root_cause(
			f,
			"Every node %s %s/%s's pods may run on carries a taint they do not "
			"tolerate (%s=%s:%s on %zu node(s))%s, so they are "
			"Unschedulable.",
			okind, owner.ns, owner.name, tk, tv, te, v.per_reason[NR_TAINT],
			v.npools ? " and no NodePool can launch a node for them" : "");
		for (size_t i = 0, named = 0; i < s->nnodes && named < MAX_EVIDENCE_NODES; i++)
			if (v.node[i] == NR_TAINT && ++named) {
				struct diag_ref nr = diag_ref_of(w, s->nodes[i].o);
				diag_ev_object(f, &nr, "taint %s=%s:%s not tolerated", tk, tv, te);
			}
		diag_fix_human(f, "let %s %s/%s tolerate %s=%s:%s, or run it on other nodes",
			       okind, owner.ns, owner.name, tk, tv, te);
		diag_fix_check(f, "whether the taint %s is meant to keep this workload away", tk);
		f->confidence = 0.85;
	} else if (!strcmp(cause, "NodesCordoned")) {
		diag_set_root_cause(f,
				    "Every node %s %s/%s's pods may run on is cordoned "
				    "(spec.unschedulable), so they are Unschedulable.",
				    okind, owner.ns, owner.name);
		for (size_t i = 0, named = 0; i < s->nnodes && named < MAX_EVIDENCE_NODES; i++)
			if (v.node[i] == NR_CORDONED && ++named) {
				struct diag_ref nr = diag_ref_of(w, s->nodes[i].o);
				diag_ev_field(f, &nr, ".spec.unschedulable", "true");
			}
		diag_fix_human(f, "uncordon the nodes once their maintenance is over");
		diag_fix_check(f, "kubectl uncordon NODE for each cordoned node");
		f->confidence = 0.8;
	} else if (!strcmp(cause, "InsufficientResources")) {
		diag_set_root_cause(
			f,
			"%s %s/%s's pods request %s vCPU and %s, more than any node that "
			"may run them has free%s, so they are Unschedulable.",
			okind, owner.ns, owner.name, cpu, mem,
			v.npools ? " and no NodePool can launch a node that holds them" : "");
		for (size_t i = 0, named = 0; i < s->nnodes && named < MAX_EVIDENCE_NODES; i++)
			if (v.node[i] >= NR_CPU && ++named) {
				struct diag_ref nr = diag_ref_of(w, s->nodes[i].o);
				char a[32], u[32];
				cap_fmt_cpu(a, sizeof a, s->nodes[i].alloc.cpu_m);
				cap_fmt_cpu(u, sizeof u, s->nodes[i].used.cpu_m);
				diag_ev_object(f, &nr, "%s: %s of %s vCPU requested",
					       reason_text[v.node[i]], u, a);
			}
		diag_fix_human(f, "lower %s %s/%s's requests or add capacity", okind, owner.ns,
			       owner.name);
		diag_fix_check(f,
			       "compare the requests with the nodes' allocatable and the largest "
			       "instance type a NodePool allows");
		f->confidence = 0.8;
	} else { /* NodePoolLimitReached */
		const struct cap_pool_eval *e = &v.pool[limit_pool];
		struct diag_ref pr = diag_ref_of(w, v.pool_o[limit_pool]);
		char lim[32], used[32];
		cap_fmt_cpu(lim, sizeof lim, e->limit.cpu_m);
		cap_fmt_cpu(used, sizeof used, e->used.cpu_m);
		diag_set_root_cause(
			f,
			"%s %s/%s's pods fit no existing node, and NodePool %s, which "
			"could launch one, is at its limits (cpu %s of %s), so they stay "
			"Pending.",
			okind, owner.ns, owner.name, pr.name, used, lim);
		diag_ev_field(f, &pr, ".spec.limits.cpu", "%s", lim);
		diag_ev_field(f, &pr, ".status.resources.cpu", "%s", used);
		diag_related(f, &pr, "nodepool at its limits");
		diag_set_follows(f, "nodepool-limit:%s", pr.name);
		char *k = ks_asprintf("schedule:%s", owner.uid);
		char *to = ks_asprintf("nodepool-limit:%s", pr.name);
		diag_alias(s->cx, k, to);
		free(k);
		free(to);
		cap_fix_pool_limit(f, &pr, e, req.cpu_m * (int64_t)g->count);
		f->confidence = 0.85;
	}
	for (size_t i = 0; i < v.npools; i++) {
		if (v.pool[i].verdict == CAP_POOL_FITS)
			continue;
		struct diag_ref pr = diag_ref_of(w, v.pool_o[i]);
		diag_ev_object(f, &pr, "cannot launch a node for the pod: %s",
			       v.pool[i].why[0] ? v.pool[i].why
						: cap_pool_verdict_name(v.pool[i].verdict));
	}
	struct ev_ctx ec = {f, w, 0};
	world_events_for(w, "Pod", podref.ns, podref.name, podref.uid, add_sched_event, &ec);
	ks_buf_release(&keys);
out:
	kube_nodereq_sel_free(&sel);
	free(v.node);
	free(v.pool);
	free(v.pool_o);
}

void diag_an_schedule(struct diag_ctx *cx)
{
	struct sched s = {.cx = cx, .w = cx->w};
	ks_map_init(&s.by_owner);
	ks_map_init(&s.fit_memo);
	diag_each(cx, WK_POD, collect_pending, &s);
	if (s.ngroups) {
		world_each(s.w, WK_NODE, collect_node, &s);
		cap_cluster_zones(s.w, s.zones, sizeof s.zones);
		for (size_t i = 0; i < s.ngroups; i++)
			report(&s, &s.groups[i]);
	}
	for (size_t i = 0; i < s.ngroups; i++)
		free(s.groups[i].pod_uids);
	free(s.groups);
	for (size_t i = 0; i < s.nnodes; i++) {
		cJSON_Delete(s.nodes[i].j);
		cJSON_Delete(s.nodes[i].labels);
	}
	free(s.nodes);
	ks_map_release(&s.by_owner);
	const char *k;
	void *val;
	for (size_t i = 0; ks_map_next(&s.fit_memo, &i, &k, &val);)
		free(val);
	ks_map_release(&s.fit_memo);
}
