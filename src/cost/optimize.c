/* optimize.c — opt_run: the model of the cluster the optimizer works on (NodePools, their
 * nodes and pods, DaemonSet overhead, workloads, which images run on which architecture),
 * then each pool's recommendation (optimize_pool.c), right-sizing (optimize_rightsize.c)
 * and the cluster-wide figures: idle capacity and the top savings. See optimize.h. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "cost/catalog.h"
#include "cost/optimize_internal.h"
#include "cost/pricing.h"
#include "cost/rightsize.h"
#include "diag/capacity.h"
#include "diag/infra.h"
#include "kube/objstore.h"
#include "metrics/prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NODEPOOL_LABEL "karpenter.sh/nodepool"
#define CAPACITY_LABEL "karpenter.sh/capacity-type"
#define TYPE_LABEL "node.kubernetes.io/instance-type"
#define ARCH_LABEL "kubernetes.io/arch"
#define HOSTNAME_LABEL "kubernetes.io/hostname"
#define TOP_SAVINGS 10

int opt_spot_policy_parse(const char *s)
{
	static const char *const names[] = { "keep", "prefer", "never" };
	for (size_t i = 0; s && i < KS_ARRAY_LEN(names); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

const char *opt_bound_method_name(enum opt_bound_method m)
{
	static const char *const names[] = { "none", "lp", "integer", "exact" };
	return (unsigned)m < KS_ARRAY_LEN(names) ? names[m] : "?";
}

const char *opt_spot_policy_name(enum opt_spot_policy p)
{
	static const char *const names[] = { "keep", "prefer", "never" };
	return (unsigned)p < KS_ARRAY_LEN(names) ? names[p] : "?";
}

/* ---- classes of node selectors ----------------------------------------------------------- */

bool om_class_allows(struct om *m, size_t cls, size_t ci)
{
	struct om_class *c = &m->classes[cls];
	if (!c->sel_ok || c->sel.nterms == 0)
		return true;
	if (!c->type_ok) {
		c->type_ok = ks_calloc(m->ncat ? m->ncat : 1, 1);
		for (size_t i = 0; i < m->ncat; i++) {
			const struct cost_instance_type *t = cost_catalog_at(m->o->cat, i);
			for (size_t k = 0; k < c->sel.nterms && !c->type_ok[i]; k++)
				c->type_ok[i] = cap_type_satisfies(t, &c->sel.terms[k]);
		}
	}
	return c->type_ok[ci] != 0;
}

static size_t class_of(struct om *m, struct wobj pod)
{
	uint32_t ns = wobj_get(pod, "spec.nodeSelector");
	uint32_t aff = wobj_get(pod, "spec.affinity.nodeAffinity");
	char key[32];
	snprintf(key, sizeof key, "%u/%u", ns, aff);
	uintptr_t v = (uintptr_t)ks_map_get(&m->class_by_key, key);
	if (v)
		return v - 1;
	m->classes = ks_realloc(m->classes, (m->n_classes + 1) * sizeof *m->classes);
	struct om_class *c = &m->classes[m->n_classes];
	*c = (struct om_class){ .node_selector = ns, .affinity = aff };
	/* only the two subtrees are decoded (a whole pod would stay in the world's cache) */
	cJSON *j = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(j, "spec");
	if (ns)
		cJSON_AddItemToObject(spec, "nodeSelector", kube_objstore_to_cjson(pod.st, ns));
	if (aff)
		cJSON_AddItemToObject(cJSON_AddObjectToObject(spec, "affinity"), "nodeAffinity",
				      kube_objstore_to_cjson(pod.st, aff));
	c->sel_ok = kube_nodereq_from_pod(j, &c->sel, NULL) == 0;
	cJSON_Delete(j);
	if (!c->sel_ok)
		kube_nodereq_sel_free(&c->sel);
	/* terms are ORed: a capacity type is allowed when some term allows it */
	c->spot_ok = c->on_demand_ok = !c->sel_ok || c->sel.nterms == 0;
	for (size_t t = 0; c->sel_ok && t < c->sel.nterms; t++) {
		bool spot = true, od = true;
		const struct kube_nodereq_term *term = &c->sel.terms[t];
		for (size_t r = 0; r < term->nreqs; r++) {
			if (strcmp(term->reqs[r].key, CAPACITY_LABEL))
				continue;
			spot = spot && kube_nodereq_matches_value(&term->reqs[r], "spot");
			od = od && kube_nodereq_matches_value(&term->reqs[r], "on-demand");
		}
		c->spot_ok = c->spot_ok || (spot && !term->nothing);
		c->on_demand_ok = c->on_demand_ok || (od && !term->nothing);
	}
	ks_map_put(&m->class_by_key, key, (void *)(uintptr_t)(m->n_classes + 1));
	return m->n_classes++;
}

/* ---- nodes -------------------------------------------------------------------------------- */

static size_t pool_index(const struct om *m, const char *name)
{
	for (size_t i = 0; name && i < m->n_pools; i++)
		if (!strcmp(m->pools[i].name, name))
			return i;
	return OM_NONE;
}

/* Nodes are read from the store, never decoded (a decoded Node is ~48 KiB the world would
 * keep). */
static int add_node(void *ctx, struct wobj o)
{
	struct om *m = ctx;
	m->nodes = ks_grow(m->nodes, sizeof *m->nodes, m->n_nodes + 1, &m->cap_nodes);
	struct om_node *n = &m->nodes[m->n_nodes];
	char tbuf[64], abuf[16], cbuf[16], pbuf[64];
	const char *tn = infra_label(o, TYPE_LABEL, tbuf, sizeof tbuf);
	const char *arch = infra_label(o, ARCH_LABEL, abuf, sizeof abuf);
	const char *capacity = infra_label(o, CAPACITY_LABEL, cbuf, sizeof cbuf);
	struct cap_res alloc;
	cap_wnode_allocatable(o, &alloc);
	*n = (struct om_node){
		.name = wobj_name(m->w, o),
		.pool = pool_index(m, infra_label(o, NODEPOOL_LABEL, pbuf, sizeof pbuf)),
		.type = tn ? cost_catalog_find(m->o->cat, tn) : NULL,
		.type_name = tn ? world_strdup(m->w, tn) : NULL,
		.spot = capacity && !strcmp(capacity, "spot"),
		.price = -1,
		.alloc_cpu_m = alloc.cpu_m,
		.alloc_mem = alloc.mem,
		.arch = !arch                    ? -1
			: !strcmp(arch, "arm64") ? COST_ARCH_ARM64
			: !strcmp(arch, "amd64") ? COST_ARCH_AMD64
						 : -1,
	};
	struct cost_price p;
	if (tn &&
	    !cost_prices_get(m->o->prices, tn,
			     n->spot ? COST_CAPACITY_SPOT : COST_CAPACITY_ON_DEMAND, &p, NULL))
		n->price = p.usd_hr;
	if (n->pool != OM_NONE && m->pools[n->pool].term_ok &&
	    cap_node_settling(o, &m->pools[n->pool].term, m->o->cat))
		m->pools[n->pool].settling++;
	ks_map_put(&m->node_by_name, n->name, (void *)(uintptr_t)(m->n_nodes + 1));
	m->n_nodes++;
	return 0;
}

static struct om_node *node_named(struct om *m, const char *name)
{
	uintptr_t v = name ? (uintptr_t)ks_map_get(&m->node_by_name, name) : 0;
	return v ? &m->nodes[v - 1] : NULL;
}

/* a pod's dominant share of a node's price, per hour */
static double share_of(const struct om_node *n, int64_t cpu_m, int64_t mem)
{
	if (!n || n->price < 0)
		return 0;
	double c = n->alloc_cpu_m > 0 ? (double)cpu_m / (double)n->alloc_cpu_m : 0;
	double r = n->alloc_mem > 0 ? (double)mem / (double)n->alloc_mem : 0;
	double s = c > r ? c : r;
	return n->price * (s > 1 ? 1 : s);
}

/* ---- pools -------------------------------------------------------------------------------- */

static int add_pool(void *ctx, struct wobj o)
{
	struct om *m = ctx;
	const char *name = wobj_name(m->w, o);
	if (m->o->nodepool && strcmp(m->o->nodepool, name))
		return 0;
	m->pools = ks_realloc(m->pools, (m->n_pools + 1) * sizeof *m->pools);
	struct om_pool *p = &m->pools[m->n_pools++];
	*p = (struct om_pool){ .o = o, .json = world_json(m->w, o), .name = name };
	ks_u32set_init(&p->images);
	p->term_ok = cap_pool_term(p->json, NULL, &p->term) == 0;
	p->allows_spot = p->allows_od = true;
	for (size_t i = 0; p->term_ok && i < p->term.nreqs; i++) {
		const struct kube_nodereq *r = &p->term.reqs[i];
		if (!strcmp(r->key, ARCH_LABEL)) {
			for (int a = COST_ARCH_AMD64; a <= COST_ARCH_ARM64; a++)
				if (kube_nodereq_matches_value(r,
							       cost_arch_name((enum cost_arch)a)))
					p->named_arch |= 1u << a;
			continue;
		}
		if (strcmp(r->key, CAPACITY_LABEL))
			continue;
		p->allows_spot = p->allows_spot && kube_nodereq_matches_value(r, "spot");
		p->allows_od = p->allows_od && kube_nodereq_matches_value(r, "on-demand");
	}
	for (size_t i = 0; p->term_ok && i < m->ncat; i++) {
		const struct cost_instance_type *t = cost_catalog_at(m->o->cat, i);
		if (!cap_type_satisfies(t, &p->term))
			continue;
		p->allows_arch[t->arch] = true;
		if (!p->min_generation || t->generation < p->min_generation)
			p->min_generation = t->generation;
		bool have = false;
		for (size_t k = 0; k < p->n_categories && !have; k++)
			have = !strcmp(p->categories[k], t->category);
		if (!have && p->n_categories < KS_ARRAY_LEN(p->categories))
			p->categories[p->n_categories++] = t->category;
	}
	return 0;
}

/* DaemonSet overhead: Karpenter counts a DaemonSet on a pool's nodes when its pod template
 * tolerates the pool's taints and its node selector is compatible with the requirements. */
static int add_daemonset(void *ctx, struct wobj o)
{
	struct om *m = ctx;
	const cJSON *ds = world_json(m->w, o);
	const cJSON *tpl = ks_json_get(ds, "spec.template");
	struct kube_nodereq_sel sel = { 0 };
	if (!tpl || kube_nodereq_from_pod(tpl, &sel, NULL)) {
		kube_nodereq_sel_free(&sel);
		return 0;
	}
	struct cap_res req;
	cap_pod_requests(tpl, &req);
	for (size_t i = 0; i < m->n_pools; i++) {
		struct om_pool *p = &m->pools[i];
		if (!p->term_ok ||
		    !kube_tolerates_taints(ks_json_get(tpl, "spec.tolerations"),
					   ks_json_get(p->json, "spec.template.spec.taints"), true,
					   NULL))
			continue;
		bool ok = sel.nterms == 0;
		for (size_t k = 0; k < sel.nterms && !ok; k++)
			ok = kube_nodereq_compatible(&p->term, &sel.terms[k], NULL, 0);
		if (ok) {
			p->ov_cpu_m += req.cpu_m;
			p->ov_mem += req.mem;
			p->ov_pods++;
		}
	}
	kube_nodereq_sel_free(&sel);
	return 0;
}

/* ---- workloads ---------------------------------------------------------------------------- */

static bool production_ns(struct om *m, const char *ns)
{
	struct wobj o = world_get(m->w, WK_NAMESPACE, NULL, ns);
	if (!wobj_ok(o))
		return false;
	static const char *const keys[] = { "metadata.labels.env", "metadata.labels.environment" };
	char buf[64];
	for (size_t i = 0; i < KS_ARRAY_LEN(keys); i++) {
		const char *v = wobj_str(o, keys[i], buf, sizeof buf);
		if (v && (!strcasecmp(v, "prod") || !strcasecmp(v, "production")))
			return true;
	}
	return false;
}

/* Whether a LabelSelector's matchLabels all hold in labels (matchExpressions are not
 * judged: a selector with them counts as matching, the cautious reading). */
static bool selects_self(const cJSON *selector, const cJSON *labels)
{
	const cJSON *l;
	cJSON_ArrayForEach(l, ks_json_get(selector, "matchLabels"))
	{
		const cJSON *v = ks_json_child(labels, l->string);
		if (!cJSON_IsString(l) || !cJSON_IsString(v) ||
		    strcmp(v->valuestring, l->valuestring))
			return false;
	}
	return selector != NULL;
}

/* At most how many of a workload's pods one node may hold: a hostname topology spread
 * (DoNotSchedule, maxSkew N: with any node holding none of them, at most N on every node)
 * or a required pod anti-affinity on the hostname against its own labels (1); 0: no cap. */
static int64_t per_node_cap(struct wobj o)
{
	uint32_t tsc = wobj_get(o, "spec.topologySpreadConstraints");
	uint32_t anti = wobj_get(o, "spec.affinity.podAntiAffinity");
	if (!tsc && !anti)
		return 0;
	/* only these subtrees are decoded (a whole pod would stay in the world's cache) */
	cJSON *pod = cJSON_CreateObject();
	cJSON_AddItemToObject(pod, "labels",
			      kube_objstore_to_cjson(o.st, wobj_get(o, "metadata.labels")));
	if (tsc)
		cJSON_AddItemToObject(pod, "tsc", kube_objstore_to_cjson(o.st, tsc));
	if (anti)
		cJSON_AddItemToObject(pod, "anti", kube_objstore_to_cjson(o.st, anti));
	const cJSON *labels = ks_json_child(pod, "labels");
	int64_t cap = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_child(pod, "tsc"))
	{
		const char *when = ks_json_str_or(c, "whenUnsatisfiable", "DoNotSchedule");
		int64_t skew = ks_json_int_or(c, "maxSkew", 0);
		if (strcmp(ks_json_str_or(c, "topologyKey", ""), HOSTNAME_LABEL) ||
		    strcmp(when, "DoNotSchedule") || skew < 1 ||
		    !selects_self(ks_json_get(c, "labelSelector"), labels))
			continue;
		cap = cap && cap < skew ? cap : skew;
	}
	cJSON_ArrayForEach(c, ks_json_child(ks_json_child(pod, "anti"),
					    "requiredDuringSchedulingIgnoredDuringExecution"))
	{
		if (!strcmp(ks_json_str_or(c, "topologyKey", ""), HOSTNAME_LABEL) &&
		    selects_self(ks_json_get(c, "labelSelector"), labels))
			cap = 1;
	}
	cJSON_Delete(pod);
	return cap;
}

static size_t workload_of_pod(struct om *m, struct wobj pod, const char *ns)
{
	uint32_t refs = wobj_get(pod, "metadata.ownerReferences");
	char rkey[32];
	snprintf(rkey, sizeof rkey, "%u", refs);
	uintptr_t v = refs ? (uintptr_t)ks_map_get(&m->workload_by_refs, rkey) : 0;
	if (v)
		return v - 1;
	struct wobj wl = infra_pod_workload(m->w, pod);
	const char *kind = wobj_ok(wl) ? world_kinds[wl.kind].kind : "Pod";
	const char *name = wobj_ok(wl) ? wobj_name(m->w, wl) : wobj_name(m->w, pod);
	char *key = ks_asprintf("%s/%s/%s", ns, kind, name);
	v = (uintptr_t)ks_map_get(&m->workload_by_key, key);
	if (!v) {
		m->workloads = ks_grow(m->workloads, sizeof *m->workloads, m->n_workloads + 1,
				       &m->cap_workloads);
		m->workloads[m->n_workloads] = (struct om_workload){
			.ns = ns,
			.kind = kind,
			.name = name,
			.first_pod = pod,
			.pool = OM_NONE,
			.production = production_ns(m, ns),
			.replicated_kind = !strcmp(kind, "Job") || !strcmp(kind, "CronJob"),
			.daemonset = !strcmp(kind, "DaemonSet"),
			.max_per_node = per_node_cap(pod),
		};
		v = ++m->n_workloads;
		ks_map_put(&m->workload_by_key, key, (void *)v);
	}
	free(key);
	if (refs)
		ks_map_put(&m->workload_by_refs, rkey, (void *)v);
	return v - 1;
}

const char *opt_workload_of(void *world, const char *ns, const char *pod)
{
	struct world *w = world;
	struct wobj o = world_get(w, WK_POD, ns, pod);
	if (!wobj_ok(o))
		return NULL;
	struct wobj wl = infra_pod_workload(w, o);
	if (!wobj_ok(wl))
		return NULL;
	char *s = ks_asprintf("%s/%s", world_kinds[wl.kind].kind, wobj_name(w, wl));
	const char *r = world_strdup(w, s);
	free(s);
	return r;
}

struct rs_set *opt_usage_from_prometheus(struct world *w, const char *url, struct ks_err *err)
{
	struct prom_client *pc = NULL;
	struct prom_client_opts po = {.url = url};
	if (prom_client_new(&po, &pc, err))
		return NULL;
	struct rs_set_opts so = {.workload_of = opt_workload_of, .workload_ctx = w};
	struct rs_set *set = rs_set_new(&so);
	struct rs_fetch_opts fo = {0};
	if (rs_fetch_prometheus(set, pc, &fo, err)) {
		rs_set_free(set);
		set = NULL;
	}
	prom_client_free(pc);
	return set;
}

/* ---- pods --------------------------------------------------------------------------------- */

/* Each container image of the pod (containers and init containers): its string id in the
 * pod store (image strings are interned, so ids compare as the strings do). */
static void each_image(struct wobj pod, void (*fn)(uint32_t img, void *ctx), void *ctx)
{
	static const char *const lists[] = { "spec.containers", "spec.initContainers" };
	for (size_t l = 0; l < KS_ARRAY_LEN(lists); l++) {
		uint32_t arr = wobj_get(pod, lists[l]);
		size_t n = kube_objstore_len(pod.st, arr);
		for (size_t i = 0; i < n; i++) {
			uint32_t img = kube_objstore_child(pod.st, kube_objstore_at(pod.st, arr, i),
							   "image", 5);
			if (kube_objstore_type(pod.st, img) == KUBE_OBJ_STRING)
				fn(img, ctx);
		}
	}
}

struct note_ctx {
	struct om *m;
	struct om_pool *p;
	int arch;
};

static void note_one(uint32_t img, void *ctx)
{
	struct note_ctx *c = ctx;
	if (c->p)
		ks_u32set_add(&c->p->images, img);
	if (c->arch >= 0)
		ks_u32set_add(&c->m->image_seen[c->arch], img);
}

/* A set of image ids per architecture and per pool: no strings hashed per pod. */
static void note_images(struct om *m, struct wobj pod, struct om_pool *p, int arch)
{
	m->pod_st = pod.st;
	struct note_ctx c = { m, p, arch };
	each_image(pod, note_one, &c);
}

/* The pool a pending pod would get: the one its node selector names (karpenter.sh/nodepool
 * In [one pool]), else, as Karpenter chooses, the first by weight (highest first, then
 * name) whose requirements, taints, types and limits take it (cap_pool_eval: "fits", or
 * "limit" — the pool it should go to, limits being part of the recommendation). */
static size_t pending_pool_eval(struct om *m, size_t cls, const cJSON *pod,
				const struct cap_res *req)
{
	const struct om_class *c = &m->classes[cls];
	if (!c->sel_ok)
		return OM_NONE;
	if (c->sel.nterms == 1) {
		const struct kube_nodereq_term *t = &c->sel.terms[0];
		for (size_t i = 0; i < t->nreqs; i++)
			if (!strcmp(t->reqs[i].key, NODEPOOL_LABEL) &&
			    t->reqs[i].op == KUBE_NR_IN && t->reqs[i].nvalues == 1)
				return pool_index(m, t->reqs[i].values[0]);
	}
	size_t best = OM_NONE;
	int64_t best_w = 0;
	for (size_t i = 0; i < m->n_pools; i++) {
		int64_t wt = ks_json_int_or(m->pools[i].json, "spec.weight", 0);
		if (best != OM_NONE &&
		    (wt < best_w ||
		     (wt == best_w && strcmp(m->pools[i].name, m->pools[best].name) > 0)))
			continue;
		struct cap_pool_eval e;
		cap_pool_eval(m->w, m->o->cat, m->pools[i].json, pod, &c->sel, req, NULL, &e);
		if (e.verdict == CAP_POOL_FITS || e.verdict == CAP_POOL_LIMIT) {
			best = i;
			best_w = wt;
		}
	}
	return best;
}

/* pending_pool_eval, memoized per (selector class, tolerations, requests): the replicas of a
 * pending workload ask the same question; only the tolerations are decoded. */
static size_t pending_pool(struct om *m, size_t cls, struct wobj o, const struct cap_res *req)
{
	uint32_t tol = wobj_get(o, "spec.tolerations");
	char key[96];
	snprintf(key, sizeof key, "pending/%zu/%u/%lld/%lld", cls, tol, (long long)req->cpu_m,
		 (long long)req->mem);
	uintptr_t v = (uintptr_t)ks_map_get(&m->pending_by_key, key);
	if (v)
		return v - 1;
	cJSON *pod = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(pod, "spec");
	if (tol)
		cJSON_AddItemToObject(spec, "tolerations", kube_objstore_to_cjson(o.st, tol));
	size_t p = pending_pool_eval(m, cls, pod, req);
	cJSON_Delete(pod);
	ks_map_put(&m->pending_by_key, key, (void *)(uintptr_t)(p + 1));
	return p;
}

static void add_to_set(struct om *m, size_t pool, size_t cls, size_t wl, const struct cap_res *r)
{
	/* replicas follow each other: the workload's last set is most often the one */
	struct om_workload *W = &m->workloads[wl];
	if (W->last_set) {
		struct om_podset *ps = &m->sets[W->last_set - 1];
		if (ps->pool == pool && ps->cls == cls && ps->cpu_m == r->cpu_m &&
		    ps->mem == r->mem) {
			ps->count++;
			return;
		}
	}
	char key[96];
	snprintf(key, sizeof key, "%zu/%zu/%zu/%lld/%lld", pool, cls, wl, (long long)r->cpu_m,
		 (long long)r->mem);
	uintptr_t v = (uintptr_t)ks_map_get(&m->set_by_key, key);
	if (!v) {
		m->sets = ks_grow(m->sets, sizeof *m->sets, m->n_sets + 1, &m->cap_sets);
		m->sets[m->n_sets] = (struct om_podset){ .pool = pool,
							 .cls = cls,
							 .workload = wl,
							 .cpu_m = r->cpu_m,
							 .mem = r->mem,
							 .new_cpu_m = r->cpu_m,
							 .new_mem = r->mem };
		v = ++m->n_sets;
		ks_map_put(&m->set_by_key, key, (void *)v);
	}
	m->sets[v - 1].count++;
	W->last_set = v;
}

static int add_pod(void *ctx, struct wobj o)
{
	struct om *m = ctx;
	char node_name[256], phase[16];
	const char *node = wobj_str(o, "spec.nodeName", node_name, sizeof node_name);
	const char *ph = wobj_str(o, "status.phase", phase, sizeof phase);
	if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")))
		return 0;
	if (wobj_get(o, "metadata.deletionTimestamp"))
		return 0;
	const char *ns = wobj_ns(m->w, o);
	size_t wl = workload_of_pod(m, o, ns);
	struct om_workload *W = &m->workloads[wl];
	struct cap_res r;
	cap_wpod_requests(m->w, o, &r);
	if (W->pods++ == 0) {
		W->cpu_m = W->new_cpu_m = r.cpu_m;
		W->mem = W->new_mem = r.mem;
	}
	struct om_node *n = node ? node_named(m, node) : NULL;
	if (n) {
		n->req_cpu_m += r.cpu_m;
		n->req_mem += r.mem;
		W->share_hr += share_of(n, r.cpu_m, r.mem);
	}
	if (W->daemonset) {
		note_images(m, o, NULL, n ? n->arch : -1);
		return 0;
	}
	size_t pool = OM_NONE, cls = OM_NONE;
	if (n) {
		pool = n->pool;
	} else if (!node) {
		if (cap_wpod_unschedulable(o)) {
			cls = class_of(m, o);
			pool = pending_pool(m, cls, o, &r);
		}
		if (pool != OM_NONE)
			m->pools[pool].pending++;
	}
	note_images(m, o, pool != OM_NONE ? &m->pools[pool] : NULL, n ? n->arch : -1);
	if (pool == OM_NONE)
		return 0;
	if (cls == OM_NONE)
		cls = class_of(m, o);
	if (W->pool == OM_NONE)
		W->pool = pool;
	m->pools[pool].pods++;
	add_to_set(m, pool, cls, wl, &r);
	return 0;
}

/* The architectures each pod set may run on. A pool naming kubernetes.io/arch vouches for
 * its pods on those; beyond that, an image counts for an architecture once a pod runs it on
 * a node of that architecture (kswarm reads no registry manifests). A workload none of whose
 * pods ever ran (every image unseen) gets what its pool allows: there is nothing better to
 * go on. */
struct bits_ctx {
	struct om *m;
	unsigned bits;
	bool seen;
};

static void bits_one(uint32_t img, void *ctx)
{
	struct bits_ctx *c = ctx;
	unsigned b = 0;
	for (int a = 0; a < 2; a++)
		if (ks_u32set_has(&c->m->image_seen[a], img))
			b |= 1u << a;
	c->bits &= b;
	c->seen = true;
}

static unsigned image_bits(struct om *m, struct wobj pod)
{
	struct bits_ctx c = { m, 3, false };
	each_image(pod, bits_one, &c);
	return c.seen ? c.bits : 0;
}

static void arch_evidence(struct om *m)
{
	unsigned *wl_bits = ks_calloc(m->n_workloads + 1, sizeof *wl_bits);
	bool *done = ks_calloc(m->n_workloads + 1, sizeof *done);
	for (size_t s = 0; s < m->n_sets; s++) {
		struct om_podset *ps = &m->sets[s];
		const struct om_pool *p = &m->pools[ps->pool];
		if (!done[ps->workload]) {
			wl_bits[ps->workload] = image_bits(m, m->workloads[ps->workload].first_pod);
			done[ps->workload] = true;
		}
		unsigned pool_bits = (p->allows_arch[COST_ARCH_AMD64] ? 1u << COST_ARCH_AMD64 : 0) |
				     (p->allows_arch[COST_ARCH_ARM64] ? 1u << COST_ARCH_ARM64 : 0);
		unsigned seen = wl_bits[ps->workload];
		ps->arch_ok = p->named_arch | (seen ? seen : pool_bits);
	}
	free(wl_bits);
	free(done);
}

/* Whether every workload of the pool can lose a node to a spot interruption without an
 * outage: two replicas or more (Jobs restart), and no production namespace. */
static void judge_spot(struct om *m)
{
	for (size_t i = 0; i < m->n_pools; i++)
		m->pools[i].tolerant_spot = true;
	for (size_t s = 0; s < m->n_sets; s++) {
		struct om_pool *p = &m->pools[m->sets[s].pool];
		const struct om_workload *W = &m->workloads[m->sets[s].workload];
		if (!p->tolerant_spot)
			continue;
		if (W->production) {
			p->tolerant_spot = false;
			snprintf(p->spot_why, sizeof p->spot_why,
				 "%s %s/%s runs in a production namespace", W->kind, W->ns,
				 W->name);
		} else if (W->pods < 2 && !W->replicated_kind) {
			p->tolerant_spot = false;
			snprintf(p->spot_why, sizeof p->spot_why, "%s %s/%s has a single replica",
				 W->kind, W->ns, W->name);
		}
	}
}

/* ---- the report --------------------------------------------------------------------------- */

static void add_note(struct opt_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_note(struct opt_report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = ks_vasprintf(fmt, ap);
	va_end(ap);
	r->notes = ks_realloc(r->notes, (r->n_notes + 1) * sizeof *r->notes);
	r->notes[r->n_notes++] = s;
}

static int cmp_saving(const void *a, const void *b)
{
	double x = ((const struct opt_saving *)a)->monthly_usd;
	double y = ((const struct opt_saving *)b)->monthly_usd;
	return x < y   ? 1
	       : x > y ? -1
		       : strcmp(((const struct opt_saving *)a)->what,
				((const struct opt_saving *)b)->what);
}

static void add_saving(struct opt_report *r, double usd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_saving(struct opt_report *r, double usd, const char *fmt, ...)
{
	if (!(usd > 0.005))
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = ks_vasprintf(fmt, ap);
	va_end(ap);
	r->top = ks_realloc(r->top, (r->n_top + 1) * sizeof *r->top);
	r->top[r->n_top++] = (struct opt_saving){ s, usd };
}

static int cmp_workload(const void *a, const void *b)
{
	const struct opt_workload *x = a, *y = b;
	double dx = x->monthly_savings_usd, dy = y->monthly_savings_usd;
	if (dx != dy)
		return dx < dy ? 1 : -1;
	int c = strcmp(x->ns, y->ns);
	return c                          ? c
	       : strcmp(x->kind, y->kind) ? strcmp(x->kind, y->kind)
					  : strcmp(x->name, y->name);
}

static void report_workloads(struct om *m, struct opt_report *r)
{
	r->workloads = ks_calloc(m->n_workloads + 1, sizeof *r->workloads);
	for (size_t i = 0; i < m->n_workloads; i++) {
		struct om_workload *W = &m->workloads[i];
		struct opt_workload *o = &r->workloads[r->n_workloads++];
		*o = (struct opt_workload){
			.ns = ks_strdup(W->ns),
			.kind = ks_strdup(W->kind),
			.name = ks_strdup(W->name),
			.nodepool = W->pool != OM_NONE ? ks_strdup(m->pools[W->pool].name) : NULL,
			.replicas = W->pods,
			.cpu_m = W->cpu_m,
			.mem = W->mem,
			.containers = W->recs,
			.n_containers = W->n_recs,
			.over_requested = W->over_requested,
			.monthly_usd = W->share_hr * OPT_HOURS_PER_MONTH,
			.monthly_savings_usd =
			    W->rightsized ? (W->share_hr - W->new_share_hr) * OPT_HOURS_PER_MONTH
					  : 0,
		};
		W->recs = NULL;
		W->n_recs = 0;
	}
	qsort(r->workloads, r->n_workloads, sizeof *r->workloads, cmp_workload);
}

/* New shares of the workloads' nodes with the right-sized requests. */
static void rightsized_shares(struct om *m)
{
	for (size_t i = 0; i < m->n_workloads; i++) {
		struct om_workload *W = &m->workloads[i];
		W->new_share_hr = W->share_hr;
		if (!W->rightsized || !W->cpu_m)
			continue;
		/* every pod of the workload scaled alike: its share moves with the dominant
		 * resource's request */
		double c = W->cpu_m > 0 ? (double)W->new_cpu_m / (double)W->cpu_m : 1;
		double r = W->mem > 0 ? (double)W->new_mem / (double)W->mem : 1;
		W->new_share_hr = W->share_hr * (c > r ? c : r);
	}
}

static void om_release(struct om *m)
{
	for (size_t i = 0; i < m->n_classes; i++) {
		if (m->classes[i].sel_ok)
			kube_nodereq_sel_free(&m->classes[i].sel);
		free(m->classes[i].type_ok);
	}
	free(m->classes);
	for (size_t i = 0; i < m->n_pools; i++) {
		kube_nodereq_term_free(&m->pools[i].term);
		ks_u32set_release(&m->pools[i].images);
	}
	free(m->pools);
	for (size_t i = 0; i < m->n_workloads; i++) {
		for (size_t k = 0; k < m->workloads[i].n_recs; k++) {
			free(m->workloads[i].recs[k].container);
			free(m->workloads[i].recs[k].status);
			free(m->workloads[i].recs[k].text);
		}
		free(m->workloads[i].recs);
	}
	free(m->workloads);
	free(m->sets);
	free(m->nodes);
	ks_map_release(&m->class_by_key);
	ks_map_release(&m->set_by_key);
	ks_map_release(&m->pending_by_key);
	ks_map_release(&m->node_by_name);
	ks_map_release(&m->workload_by_key);
	ks_map_release(&m->workload_by_refs);
	ks_u32set_release(&m->image_seen[0]);
	ks_u32set_release(&m->image_seen[1]);
}

int opt_run(struct world *w, const struct opt_opts *o, struct opt_report *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	if (!o->cat || !o->prices)
		return ks_err_set(err, KS_EINVAL, "optimize: a catalog and prices are needed");
	int64_t t0 = ks_mono_ms();
	struct om m = { .w = w, .o = o, .ncat = cost_catalog_count(o->cat) };
	ks_map_init(&m.class_by_key);
	ks_map_init(&m.set_by_key);
	ks_map_init(&m.pending_by_key);
	ks_map_init(&m.node_by_name);
	ks_map_init(&m.workload_by_key);
	ks_map_init(&m.workload_by_refs);
	ks_u32set_init(&m.image_seen[0]);
	ks_u32set_init(&m.image_seen[1]);
	world_each(w, WK_NODEPOOL, add_pool, &m);
	if (o->nodepool && m.n_pools == 0) {
		om_release(&m);
		return ks_err_set(err, KS_ENOTFOUND, "NodePool %s not found%s", o->nodepool,
				  world_has(w, WK_NODEPOOL)
				      ? ""
				      : " (the cluster serves no karpenter.sh NodePools)");
	}
	world_each(w, WK_DAEMONSET, add_daemonset, &m);
	world_each(w, WK_NODE, add_node, &m);
	world_each(w, WK_POD, add_pod, &m);
	judge_spot(&m);
	arch_evidence(&m);

	out->cluster = ks_strdup(world_cluster_name(w) ? world_cluster_name(w) : "");
	out->region = ks_strdup(cost_prices_region(o->prices));
	out->spot_policy = ks_strdup(opt_spot_policy_name(o->spot));
	if (o->usage) {
		out->usage_source = ks_strdup(o->usage_source ? o->usage_source : "usage history");
		int rc = om_rightsize(&m, err);
		if (rc) {
			om_release(&m);
			opt_report_free(out);
			return rc;
		}
	} else {
		add_note(out, "no usage history: workloads keep their requests (give --prometheus "
			      "for right-sizing)");
	}
	rightsized_shares(&m);

	out->pools = ks_calloc(m.n_pools + 1, sizeof *out->pools);
	out->n_pools = m.n_pools;
	for (size_t i = 0; i < m.n_pools; i++) {
		struct opt_pool *P = &out->pools[i];
		P->name = ks_strdup(m.pools[i].name);
		P->pods = m.pools[i].pods;
		P->pending_pods = m.pools[i].pending;
		P->overhead_cpu_m = m.pools[i].ov_cpu_m;
		P->overhead_mem = m.pools[i].ov_mem;
		P->overhead_pods = m.pools[i].ov_pods;
		om_pool_optimize(&m, i, P);
		add_saving(out, P->monthly_savings_usd, "NodePool %s: %s", P->name, P->verdict);
	}

	size_t unpriced = 0;
	for (size_t i = 0; i < m.n_nodes; i++) {
		const struct om_node *n = &m.nodes[i];
		out->nodes++;
		out->alloc_cpu_m += n->alloc_cpu_m;
		out->alloc_mem += n->alloc_mem;
		out->requested_cpu_m += n->req_cpu_m;
		out->requested_mem += n->req_mem;
		if (n->price < 0) {
			unpriced++;
			continue;
		}
		out->current_hourly_usd += n->price;
		out->idle_hourly_usd += n->price - share_of(n, n->req_cpu_m, n->req_mem);
	}
	/* each pool's saving where a recommendation stands (negative with pending pods) */
	out->recommended_hourly_usd = out->current_hourly_usd;
	for (size_t i = 0; i < out->n_pools; i++)
		out->recommended_hourly_usd -=
		    out->pools[i].monthly_savings_usd / OPT_HOURS_PER_MONTH;
	if (unpriced)
		add_note(out,
			 "%zu node%s ha%s no known price (instance type not in the catalog or "
			 "not labelled): left out of the costs",
			 unpriced, unpriced == 1 ? "" : "s", unpriced == 1 ? "s" : "ve");
	if (!m.n_pools)
		add_note(out, world_has(w, WK_NODEPOOL)
				  ? "no Karpenter NodePools in the cluster"
				  : "the cluster serves no karpenter.sh NodePools: only "
				    "workloads and idle capacity are reported");

	for (size_t i = 0; i < m.n_workloads; i++) {
		const struct om_workload *W = &m.workloads[i];
		if (W->rightsized)
			add_saving(out, (W->share_hr - W->new_share_hr) * OPT_HOURS_PER_MONTH,
				   "%s %s/%s: right-size requests", W->kind, W->ns, W->name);
	}
	report_workloads(&m, out);
	if (out->n_top) /* NULL when there is none: qsort's base must not be */
		qsort(out->top, out->n_top, sizeof *out->top, cmp_saving);
	if (out->n_top > TOP_SAVINGS) {
		for (size_t i = TOP_SAVINGS; i < out->n_top; i++)
			free(out->top[i].what);
		out->n_top = TOP_SAVINGS;
	}
	om_release(&m);
	out->ms = (double)(ks_mono_ms() - t0);
	return 0;
}

void opt_report_free(struct opt_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_pools; i++) {
		struct opt_pool *p = &r->pools[i];
		free(p->name);
		om_mix_release(&p->current);
		om_mix_release(&p->recommended);
		om_mix_release(&p->with_rightsizing);
		for (size_t k = 0; k < p->n_cands; k++) {
			struct opt_candidate *c = &p->cands[k];
			free(c->name);
			free(c->description);
			free(c->why_not);
			om_mix_release(&c->mix);
		}
		free(p->cands);
		for (size_t k = 0; k < p->n_risks; k++)
			free(p->risks[k]);
		cJSON_Delete(p->patch);
		cJSON_Delete(p->patched);
		free(p->verdict);
	}
	free(r->pools);
	for (size_t i = 0; i < r->n_workloads; i++) {
		struct opt_workload *o = &r->workloads[i];
		free(o->ns);
		free(o->kind);
		free(o->name);
		free(o->nodepool);
		for (size_t k = 0; k < o->n_containers; k++) {
			free(o->containers[k].container);
			free(o->containers[k].status);
			free(o->containers[k].text);
		}
		free(o->containers);
	}
	free(r->workloads);
	for (size_t i = 0; i < r->n_top; i++)
		free(r->top[i].what);
	free(r->top);
	for (size_t i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	free(r->cluster);
	free(r->region);
	free(r->spot_policy);
	free(r->usage_source);
	memset(r, 0, sizeof *r);
}
