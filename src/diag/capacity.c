/* capacity.c — requests, free node capacity and NodePool verdicts (see capacity.h). */
#include "base/common.h"
#include "diag/capacity.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "cost/catalog.h"
#include "kube/quantity.h"

#define ZONE_KEY "topology.kubernetes.io/zone"
#define NODEPOOL_KEY "karpenter.sh/nodepool"
#define GIB (1024.0 * 1024.0 * 1024.0)

static int64_t qty(const cJSON *q, int64_t def, bool milli)
{
	const char *s = cJSON_IsString(q) ? q->valuestring : NULL;
	char num[32];
	if (!s && cJSON_IsNumber(q)) {
		snprintf(num, sizeof num, "%.0f", q->valuedouble);
		s = num;
	}
	struct kube_quantity v;
	if (!s || kube_quantity_parse(s, strlen(s), &v, NULL))
		return def;
	return milli ? kube_quantity_milli(&v) : kube_quantity_value(&v);
}

int64_t cap_qty_milli(const cJSON *q, int64_t def) { return qty(q, def, true); }
int64_t cap_qty_value(const cJSON *q, int64_t def) { return qty(q, def, false); }

void cap_fmt_cpu(char *out, size_t n, int64_t cpu_m)
{
	if (cpu_m % 1000 == 0)
		snprintf(out, n, "%" PRId64, cpu_m / 1000);
	else {
		snprintf(out, n, "%.2f", (double)cpu_m / 1000);
		size_t len = strlen(out);
		while (len > 0 && out[len - 1] == '0') /* "2.50" -> "2.5" */
			out[--len] = 0;
	}
}

void cap_fmt_mem(char *out, size_t n, int64_t bytes)
{
	if (bytes >= 1024LL * 1024 * 1024)
		snprintf(out, n, "%.1f GiB", (double)bytes / GIB);
	else
		snprintf(out, n, "%.0f MiB", (double)bytes / (1024.0 * 1024.0));
}

static void add_requests(const cJSON *containers, struct cap_res *sum, struct cap_res *max)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, containers) {
		const cJSON *r = ks_json_get(c, "resources.requests");
		int64_t cpu = cap_qty_milli(ks_json_child(r, "cpu"), 0);
		int64_t mem = cap_qty_value(ks_json_child(r, "memory"), 0);
		if (sum) {
			sum->cpu_m += cpu;
			sum->mem += mem;
		}
		if (max) {
			max->cpu_m = cpu > max->cpu_m ? cpu : max->cpu_m;
			max->mem = mem > max->mem ? mem : max->mem;
		}
	}
}

void cap_pod_requests(const cJSON *pod, struct cap_res *out)
{
	struct cap_res sum = {0, 0, 1}, init = {0, 0, 0};
	add_requests(ks_json_get(pod, "spec.containers"), &sum, NULL);
	add_requests(ks_json_get(pod, "spec.initContainers"), NULL, &init);
	out->cpu_m = sum.cpu_m > init.cpu_m ? sum.cpu_m : init.cpu_m;
	out->mem = sum.mem > init.mem ? sum.mem : init.mem;
	out->pods = 1;
	const cJSON *ov = ks_json_get(pod, "spec.overhead");
	out->cpu_m += cap_qty_milli(ks_json_child(ov, "cpu"), 0);
	out->mem += cap_qty_value(ks_json_child(ov, "memory"), 0);
}

bool cap_pod_active(struct wobj pod)
{
	char phase[16];
	if (!wobj_get(pod, "spec.nodeName"))
		return false;
	const char *p = wobj_str(pod, "status.phase", phase, sizeof phase);
	return !p || (strcmp(p, "Succeeded") != 0 && strcmp(p, "Failed") != 0);
}

void cap_node_allocatable(const cJSON *node, struct cap_res *out)
{
	const cJSON *a = ks_json_get(node, "status.allocatable");
	out->cpu_m = cap_qty_milli(ks_json_child(a, "cpu"), 0);
	out->mem = cap_qty_value(ks_json_child(a, "memory"), 0);
	out->pods = cap_qty_value(ks_json_child(a, "pods"), 110);
}

/* A quantity at path in the stored object, milli or plain; def when absent or bad. */
static int64_t wqty(struct wobj o, const char *path, bool milli, int64_t def)
{
	char buf[64];
	const char *s = wobj_str(o, path, buf, sizeof buf);
	struct kube_quantity v;
	if (!s || kube_quantity_parse(s, strlen(s), &v, NULL))
		return def;
	return milli ? kube_quantity_milli(&v) : kube_quantity_value(&v);
}

void cap_wnode_allocatable(struct wobj node, struct cap_res *out)
{
	out->cpu_m = wqty(node, "status.allocatable.cpu", true, 0);
	out->mem = wqty(node, "status.allocatable.memory", false, 0);
	out->pods = wqty(node, "status.allocatable.pods", false, 110);
}

struct requested {
	struct world *w;
	struct cap_res *sum;
};

/* A container's requests from its resources object, memoized per interned resources id
 * (replicas share it; their containers arrays differ, if only by the kube-api-access
 * volume mount) in the world. */
static struct cap_res resources_memo(struct world *w, const struct kube_objstore *st,
				     uint32_t res)
{
	struct cap_res r = {0, 0, 0};
	if (!res)
		return r;
	char key[48];
	snprintf(key, sizeof key, "cap.podres:%u", res);
	const struct cap_res *memo = world_memo_get(w, key);
	if (memo)
		return *memo;
	cJSON *j = kube_objstore_to_cjson(st, res);
	const cJSON *req = ks_json_get(j, "requests");
	r.cpu_m = cap_qty_milli(ks_json_child(req, "cpu"), 0);
	r.mem = cap_qty_value(ks_json_child(req, "memory"), 0);
	cJSON_Delete(j);
	struct cap_res *copy = ks_malloc(sizeof *copy);
	*copy = r;
	world_memo_put(w, key, copy);
	return r;
}

/* cap_pod_requests on the stored pod, without decoding it. */
void cap_wpod_requests(struct world *w, struct wobj pod, struct cap_res *out)
{
	uint32_t spec = wobj_get(pod, "spec");
	struct cap_res sum = {0, 0, 1}, init = {0, 0, 0};
	static const char *const lists[] = {"containers", "initContainers"};
	for (int l = 0; l < 2; l++) {
		uint32_t arr = kube_objstore_child(pod.st, spec, lists[l], strlen(lists[l]));
		size_t n = kube_objstore_len(pod.st, arr);
		for (size_t i = 0; i < n; i++) {
			uint32_t c = kube_objstore_at(pod.st, arr, i);
			struct cap_res r = resources_memo(
				w, pod.st, kube_objstore_child(pod.st, c, "resources", 9));
			if (l == 0) {
				sum.cpu_m += r.cpu_m;
				sum.mem += r.mem;
			} else {
				init.cpu_m = r.cpu_m > init.cpu_m ? r.cpu_m : init.cpu_m;
				init.mem = r.mem > init.mem ? r.mem : init.mem;
			}
		}
	}
	out->cpu_m = sum.cpu_m > init.cpu_m ? sum.cpu_m : init.cpu_m;
	out->mem = sum.mem > init.mem ? sum.mem : init.mem;
	out->pods = 1;
	uint32_t ov = kube_objstore_child(pod.st, spec, "overhead", 8);
	if (ov) {
		cJSON *j = kube_objstore_to_cjson(pod.st, ov);
		out->cpu_m += cap_qty_milli(ks_json_child(j, "cpu"), 0);
		out->mem += cap_qty_value(ks_json_child(j, "memory"), 0);
		cJSON_Delete(j);
	}
}

static int add_pod_on_node(void *ctx, struct wobj o)
{
	struct requested *r = ctx;
	if (!cap_pod_active(o))
		return 0;
	struct cap_res one;
	cap_wpod_requests(r->w, o, &one);
	r->sum->cpu_m += one.cpu_m;
	r->sum->mem += one.mem;
	r->sum->pods++;
	return 0;
}

void cap_node_requested(struct world *w, const char *node, struct cap_res *out)
{
	*out = (struct cap_res){0, 0, 0};
	struct requested r = {w, out};
	world_pods_on_node(w, node, add_pod_on_node, &r);
}

const struct cost_catalog *cap_catalog(struct diag_ctx *cx)
{
	static struct cost_catalog *dflt;
	static bool tried;
	if (cx->o && cx->o->catalog)
		return cx->o->catalog;
	if (!tried) {
		tried = true;
		char *path = cost_catalog_default_path();
		struct ks_err err = {0};
		if (cost_catalog_load(path, &dflt, &err))
			KS_WARN("diag", "instance-type catalog: %s", err.msg);
		free(path);
	}
	return dflt;
}

struct zones {
	struct world *w;
	char *out;
	size_t n;
};

static int add_zone(void *ctx, struct wobj o)
{
	struct zones *z = ctx;
	uint32_t v = kube_objstore_child(o.st, wobj_get(o, "metadata.labels"), ZONE_KEY,
					 strlen(ZONE_KEY));
	char tmp[KUBE_OBJSTORE_STRTMP];
	const char *zone = kube_objstore_str(o.st, v, tmp, NULL);
	if (!zone || !zone[0])
		return 0;
	/* a short sorted, distinct list */
	char *copy = ks_strdup(z->out);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!strcmp(t, zone)) {
			free(copy);
			return 0;
		}
	free(copy);
	size_t len = strlen(z->out);
	snprintf(z->out + len, z->n - len, "%s%s", len ? "," : "", zone);
	return 0;
}

void cap_cluster_zones(struct world *w, char *out, size_t n)
{
	out[0] = 0;
	struct zones z = {w, out, n};
	world_each(w, WK_NODE, add_zone, &z);
}

const char *cap_pool_verdict_name(enum cap_pool_verdict v)
{
	static const char *const names[] = {"fits", "requirements", "taint", "no-instance-type",
					    "limit"};
	return (unsigned)v < KS_ARRAY_LEN(names) ? names[v] : "?";
}

/* ---- instance types against requirements ---- */

static bool instance_key(const char *key)
{
	return !strcmp(key, "node.kubernetes.io/instance-type") ||
	       !strcmp(key, "kubernetes.io/arch") ||
	       !strncmp(key, "karpenter.k8s.aws/instance-", 27);
}

bool cap_type_satisfies(const struct cost_instance_type *t, const struct kube_nodereq_term *term)
{
	if (!term || term->nothing)
		return !term;
	for (size_t i = 0; i < term->nreqs; i++) {
		const struct kube_nodereq *r = &term->reqs[i];
		if (instance_key(r->key) && !kube_nodereq_matches_value(r, cost_instance_label(t, r->key)))
			return false;
	}
	return true;
}

static bool term_has_key(const struct kube_nodereq_term *t, const char *key)
{
	for (size_t i = 0; i < t->nreqs; i++)
		if (!strcmp(t->reqs[i].key, key))
			return true;
	return false;
}

bool cap_node_settling(struct wobj node, const struct kube_nodereq_term *pool_term,
		       const struct cost_catalog *cat)
{
	if (wobj_get(node, "metadata.deletionTimestamp") != KUBE_OBJ_NONE)
		return true;
	struct wobj_labels l;
	wobj_labels_at(&l, node, "metadata.labels");
	for (size_t i = 0; i < pool_term->nreqs; i++) {
		const struct kube_nodereq *r = &pool_term->reqs[i];
		const char *v = wobj_label_lookup(&l, r->key);
		if (v && !kube_nodereq_matches_value(r, v))
			return true;
	}
	const char *type = wobj_label_lookup(&l, "node.kubernetes.io/instance-type");
	const struct cost_instance_type *t = type && cat ? cost_catalog_find(cat, type) : NULL;
	return t && !cap_type_satisfies(t, pool_term);
}

int cap_pool_term(const cJSON *pool, const char *zones, struct kube_nodereq_term *out)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *reqs = ks_json_get(pool, "spec.template.spec.requirements");
	const cJSON *r;
	cJSON_ArrayForEach(r, reqs)
		cJSON_AddItemToArray(arr, cJSON_Duplicate(r, true));
	const cJSON *labels = ks_json_get(pool, "spec.template.metadata.labels");
	const cJSON *l;
	cJSON_ArrayForEach(l, labels) {
		if (!cJSON_IsString(l))
			continue;
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "key", l->string);
		cJSON_AddStringToObject(it, "operator", "In");
		cJSON *vals = cJSON_AddArrayToObject(it, "values");
		cJSON_AddItemToArray(vals, cJSON_CreateString(l->valuestring));
		cJSON_AddItemToArray(arr, it);
	}
	cJSON *np = cJSON_CreateObject();
	cJSON_AddStringToObject(np, "key", NODEPOOL_KEY);
	cJSON_AddStringToObject(np, "operator", "In");
	cJSON *npv = cJSON_AddArrayToObject(np, "values");
	cJSON_AddItemToArray(npv, cJSON_CreateString(ks_json_str_or(pool, "metadata.name", "")));
	cJSON_AddItemToArray(arr, np);
	int rc = kube_nodereq_parse_list(arr, out, NULL);
	if (rc == 0 && zones && zones[0] && !term_has_key(out, ZONE_KEY)) {
		kube_nodereq_term_free(out);
		cJSON *z = cJSON_CreateObject();
		cJSON_AddStringToObject(z, "key", ZONE_KEY);
		cJSON_AddStringToObject(z, "operator", "In");
		cJSON *zv = cJSON_AddArrayToObject(z, "values");
		char *copy = ks_strdup(zones), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			cJSON_AddItemToArray(zv, cJSON_CreateString(t));
		free(copy);
		cJSON_AddItemToArray(arr, z);
		rc = kube_nodereq_parse_list(arr, out, NULL);
	}
	cJSON_Delete(arr);
	return rc;
}

static void limits_of(const cJSON *pool, struct cap_pool_eval *e)
{
	const cJSON *lim = ks_json_get(pool, "spec.limits");
	const cJSON *used = ks_json_get(pool, "status.resources");
	e->limit.cpu_m = cap_qty_milli(ks_json_child(lim, "cpu"), -1);
	e->limit.mem = cap_qty_value(ks_json_child(lim, "memory"), -1);
	e->limit.pods = cap_qty_value(ks_json_child(lim, "pods"), -1);
	e->used.cpu_m = cap_qty_milli(ks_json_child(used, "cpu"), 0);
	e->used.mem = cap_qty_value(ks_json_child(used, "memory"), 0);
	e->used.pods = cap_qty_value(ks_json_child(used, "pods"), 0);
}

/* Whether a new node of type t stays within the pool's limits (Karpenter compares the
 * type's capacity with what the limits leave). */
static bool within_limits(const struct cost_instance_type *t, const struct cap_pool_eval *e)
{
	if (e->limit.cpu_m >= 0 && e->used.cpu_m + (int64_t)t->vcpu * 1000 > e->limit.cpu_m)
		return false;
	if (e->limit.mem >= 0 && e->used.mem + t->memory_mib * 1024 * 1024 > e->limit.mem)
		return false;
	return true;
}

/* Which catalog types the pool's own requirements allow: a byte per type, memoized in the
 * world per decoded pool (its address is stable for the world's life) and catalog. */
static const uint8_t *pool_types(struct world *w, const struct cost_catalog *cat,
				 const cJSON *pool, const struct kube_nodereq_term *pt)
{
	char key[80];
	snprintf(key, sizeof key, "cap.pooltypes:%p:%p", (const void *)pool, (const void *)cat);
	uint8_t *mask = w ? world_memo_get(w, key) : NULL;
	if (mask)
		return mask;
	size_t n = cost_catalog_count(cat);
	mask = ks_calloc(n + 1, 1);
	for (size_t i = 0; i < n; i++)
		mask[i] = cap_type_satisfies(cost_catalog_at(cat, i), pt);
	if (w)
		world_memo_put(w, key, mask);
	return mask;
}

void cap_pool_eval(struct world *w, const struct cost_catalog *cat, const cJSON *pool,
		   const cJSON *pod, const struct kube_nodereq_sel *sel, const struct cap_res *req,
		   const char *zones, struct cap_pool_eval *out)
{
	memset(out, 0, sizeof *out);
	limits_of(pool, out);
	struct kube_nodereq_term pt = {0};
	if (cap_pool_term(pool, zones, &pt)) {
		out->verdict = CAP_POOL_REQUIREMENTS;
		snprintf(out->why, sizeof out->why, "its requirements do not parse");
		kube_nodereq_term_free(&pt);
		return;
	}
	/* The pod's terms (ORed) that the pool can meet. */
	static const struct kube_nodereq_sel no_sel = {.terms = NULL, .nterms = 0};
	static const struct cap_res no_req = {0, 0, 0};
	sel = sel ? sel : &no_sel;
	req = req ? req : &no_req;
	const struct kube_nodereq_term *pod_term = NULL;
	bool any = sel->nterms == 0;
	for (size_t i = 0; i < sel->nterms && !any; i++) {
		char why[sizeof out->why];
		if (kube_nodereq_compatible(&pt, &sel->terms[i], why, sizeof why)) {
			any = true;
			pod_term = &sel->terms[i];
		} else if (!out->why[0]) {
			snprintf(out->why, sizeof out->why, "%s", why);
		}
	}
	if (!any) {
		out->verdict = CAP_POOL_REQUIREMENTS;
		kube_nodereq_term_free(&pt);
		return;
	}
	out->why[0] = 0;
	const cJSON *bad = NULL;
	if (pod && !kube_tolerates_taints(ks_json_get(pod, "spec.tolerations"),
				   ks_json_get(pool, "spec.template.spec.taints"), true, &bad)) {
		out->verdict = CAP_POOL_TAINT;
		snprintf(out->why, sizeof out->why, "taint %s=%s:%s is not tolerated",
			 ks_json_str_or(bad, "key", ""), ks_json_str_or(bad, "value", ""),
			 ks_json_str_or(bad, "effect", ""));
		kube_nodereq_term_free(&pt);
		return;
	}
	size_t n = cat ? cost_catalog_count(cat) : 0;
	size_t within = 0;
	const uint8_t *allowed = cat ? pool_types(w, cat, pool, &pt) : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct cost_instance_type *t = cost_catalog_at(cat, i);
		if (!allowed[i])
			continue;
		out->types_pool++;
		if (pod_term && !cap_type_satisfies(t, pod_term))
			continue;
		out->types_both++;
		if (t->alloc_cpu_millis < req->cpu_m ||
		    t->alloc_memory_mib * 1024 * 1024 < req->mem || t->max_pods < req->pods)
			continue;
		out->types_fit++;
		if (!out->smallest_fit || t->od_price_usd_hr < out->smallest_fit->od_price_usd_hr)
			out->smallest_fit = t;
		if (within_limits(t, out))
			within++;
	}
	if (!w)
		free((void *)allowed);
	kube_nodereq_term_free(&pt);
	if (!cat) {
		out->verdict = CAP_POOL_FITS; /* no catalog: nothing to judge types by */
		return;
	}
	if (out->types_fit == 0) {
		out->verdict = CAP_POOL_NO_TYPE;
		char cpu[32], mem[32];
		cap_fmt_cpu(cpu, sizeof cpu, req->cpu_m);
		cap_fmt_mem(mem, sizeof mem, req->mem);
		snprintf(out->why, sizeof out->why,
			 "no instance type satisfies its requirements and holds %s vCPU and %s "
			 "(%zu types allowed by the pool, %zu also by the pod)",
			 cpu, mem, out->types_pool, out->types_both);
		return;
	}
	if (within == 0) {
		out->verdict = CAP_POOL_LIMIT;
		char lim[32], used[32];
		cap_fmt_cpu(lim, sizeof lim, out->limit.cpu_m);
		cap_fmt_cpu(used, sizeof used, out->used.cpu_m);
		snprintf(out->why, sizeof out->why,
			 "its limits leave no room for any fitting instance type (cpu %s of limit "
			 "%s "
			 "in use)",
			 used, out->limit.cpu_m >= 0 ? lim : "none");
		return;
	}
	out->verdict = CAP_POOL_FITS;
}

struct wobj cap_pod_owner(struct world *w, const cJSON *pod, struct wobj self)
{
	const cJSON *refs = ks_json_get(pod, "metadata.ownerReferences");
	const cJSON *r;
	cJSON_ArrayForEach(r, refs) {
		if (!ks_json_bool_or(r, "controller", false))
			continue;
		struct wobj o = world_by_uid(w, ks_json_str_or(r, "uid", ""));
		if (!wobj_ok(o))
			return self;
		if (o.kind != WK_REPLICASET)
			return o;
		const cJSON *rs = world_json(w, o);
		const cJSON *rr;
		cJSON_ArrayForEach(rr, ks_json_get(rs, "metadata.ownerReferences")) {
			if (!ks_json_bool_or(rr, "controller", false))
				continue;
			struct wobj d = world_by_uid(w, ks_json_str_or(rr, "uid", ""));
			return wobj_ok(d) ? d : o;
		}
		return o;
	}
	return self;
}

bool cap_wpod_unschedulable(struct wobj o)
{
	if (!wobj_str_eq(o, "status.phase", "Pending") || wobj_get(o, "spec.nodeName"))
		return false;
	uint32_t conds = wobj_get(o, "status.conditions");
	size_t n = kube_objstore_len(o.st, conds);
	for (size_t i = 0; i < n; i++) {
		uint32_t c = kube_objstore_at(o.st, conds, i);
		if (kube_objstore_str_eq(o.st, kube_objstore_child(o.st, c, "type", 4), "PodScheduled",
					 12) &&
		    kube_objstore_str_eq(o.st, kube_objstore_child(o.st, c, "status", 6), "False", 5) &&
		    kube_objstore_str_eq(o.st, kube_objstore_child(o.st, c, "reason", 6),
					 "Unschedulable", 13))
			return true;
	}
	return false;
}

bool cap_pod_unschedulable(struct world *w, struct wobj o, const cJSON **json)
{
	if (!cap_wpod_unschedulable(o))
		return false;
	*json = world_json(w, o);
	return true;
}

void cap_fix_pool_limit(struct diag_finding *f, const struct diag_ref *pool,
			const struct cap_pool_eval *e, int64_t pending_cpu_m)
{
	int64_t need_m = e->used.cpu_m + pending_cpu_m;
	int64_t cores = (need_m * 5 / 4 + 999) / 1000;
	if (e->limit.cpu_m >= 0 && cores * 1000 <= e->limit.cpu_m)
		cores = e->limit.cpu_m / 1000 + 1;
	char val[32], old[32];
	snprintf(val, sizeof val, "%lld", (long long)cores);
	cap_fmt_cpu(old, sizeof old, e->limit.cpu_m);
	cJSON *patch = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(patch, "spec");
	cJSON *lim = cJSON_AddObjectToObject(spec, "limits");
	cJSON_AddStringToObject(lim, "cpu", val);
	diag_fix_patch(f, pool, "merge", patch, "medium",
		       "raise the CPU limit of NodePool %s from %s to %s vCPU (in use plus "
		       "pending requests, 25%% headroom)",
		       pool->name, old, val);
}
