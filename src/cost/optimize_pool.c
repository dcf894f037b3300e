/* optimize_pool.c — one NodePool's recommendation: the candidate instance-type sets (see
 * optimize.h), each packed by cost_pack_solve; the cheapest eligible one; why each other one
 * lost; the risks; and the NodePool merge patch that makes Karpenter launch that mix. */
#include "base/common.h"
#include "base/json.h"
#include "cost/catalog.h"
#include "cost/optimize_internal.h"
#include "cost/pack.h"
#include "cost/pricing.h"
#include "diag/capacity.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TYPE_KEY "node.kubernetes.io/instance-type"
#define ARCH_KEY "kubernetes.io/arch"
#define CAPACITY_KEY "karpenter.sh/capacity-type"
#define AWS_PREFIX "karpenter.k8s.aws/instance-"

/* Requirement keys a candidate may drop. */
enum {
	DROP_SHAPE = 1, /* type, size, cpu, memory */
	DROP_FAMILY = 2, /* family, generation */
	DROP_CATEGORY = 4, /* every other instance-* key but the GPU ones */
	DROP_ARCH = 8,
};

static unsigned key_class(const char *key)
{
	if (!strcmp(key, TYPE_KEY))
		return DROP_SHAPE;
	if (!strcmp(key, ARCH_KEY))
		return DROP_ARCH;
	if (strncmp(key, AWS_PREFIX, strlen(AWS_PREFIX)))
		return 0;
	const char *k = key + strlen(AWS_PREFIX);
	if (!strcmp(k, "size") || !strcmp(k, "cpu") || !strcmp(k, "memory"))
		return DROP_SHAPE;
	if (!strcmp(k, "family") || !strcmp(k, "generation"))
		return DROP_FAMILY;
	if (!strncmp(k, "gpu-", 4) || !strncmp(k, "accelerator-", 12))
		return 0;
	return DROP_CATEGORY;
}

struct cand_spec {
	const char *name;
	unsigned drop;
	int arch; /* -1: as the pool allows; else only this one */
	enum cost_capacity cap;
	bool info_only; /* reported, never chosen */
	bool low_interruption; /* spot types of interruption bucket <= OPT_SPOT_MAX_BUCKET */
};

struct packed {
	struct cost_pack_result res;
	bool ran;
	size_t *tcat; /* catalog index of each pack type */
	size_t ntypes;
	struct cost_pack_input in; /* kept for the exact solve; owns the arrays below */
	struct cost_pack_group *groups;
	struct cost_pack_type *types;
	uint8_t *allowed;
	int64_t pods;
};

/* Pools this small get their chosen mix proven (or improved) by the exact MIP. */
#define EXACT_MAX_PODS 300
#define EXACT_MAX_GROUPS 32
#define EXACT_TIME_MS 1000
#define EXACT_MAX_VARS 50000

void om_mix_release(struct opt_mix *x)
{
	for (size_t i = 0; i < x->n_items; i++) {
		free(x->items[i].type);
		free(x->items[i].capacity);
		free(x->items[i].price_source);
	}
	free(x->items);
	memset(x, 0, sizeof *x);
}

void om_add_risk(struct opt_pool *out, const char *fmt, ...)
{
	if (out->n_risks >= OPT_MAX_RISKS)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = ks_vasprintf(fmt, ap);
	va_end(ap);
	out->risks[out->n_risks++] = s;
}

static void mix_add(struct opt_mix *x, const char *type, const char *capacity, int64_t nodes,
		    const struct cost_instance_type *t, const struct cost_price *p)
{
	for (size_t i = 0; i < x->n_items; i++) {
		struct opt_mix_item *it = &x->items[i];
		if (!strcmp(it->type, type) && !strcmp(it->capacity, capacity)) {
			it->nodes += nodes;
			goto totals;
		}
	}
	x->items = ks_realloc(x->items, (x->n_items + 1) * sizeof *x->items);
	x->items[x->n_items++] = (struct opt_mix_item){
		.type = ks_strdup(type),
		.capacity = ks_strdup(capacity),
		.nodes = nodes,
		.usd_hr_each = p ? p->usd_hr : -1,
		.price_source = ks_strdup(p ? p->source : "no price known"),
		.interruption_bucket = p ? p->interruption_bucket : -1,
	};
totals:
	x->nodes += nodes;
	if (p)
		x->hourly_usd += p->usd_hr * (double)nodes;
	else
		x->unpriced += (size_t)nodes;
	if (t) {
		x->cpu_m += t->alloc_cpu_millis * nodes;
		x->mem += t->alloc_memory_mib * 1024 * 1024 * nodes;
	}
}

static void copy_mix(struct opt_mix *dst, const struct opt_mix *src)
{
	for (size_t i = 0; i < src->n_items; i++) {
		const struct opt_mix_item *it = &src->items[i];
		struct cost_price pr = { .usd_hr = it->usd_hr_each,
					 .interruption_bucket = it->interruption_bucket };
		snprintf(pr.source, sizeof pr.source, "%s", it->price_source);
		mix_add(dst, it->type, it->capacity, it->nodes, NULL,
			it->usd_hr_each >= 0 ? &pr : NULL);
	}
	dst->cpu_m = src->cpu_m;
	dst->mem = src->mem;
}

static void current_mix(struct om *m, size_t pool, struct opt_pool *out)
{
	for (size_t i = 0; i < m->n_nodes; i++) {
		const struct om_node *n = &m->nodes[i];
		if (n->pool != pool)
			continue;
		enum cost_capacity c = n->spot ? COST_CAPACITY_SPOT : COST_CAPACITY_ON_DEMAND;
		struct cost_price p;
		bool priced =
		    n->type_name && !cost_prices_get(m->o->prices, n->type_name, c, &p, NULL);
		mix_add(&out->current, n->type_name ? n->type_name : "(unlabelled)",
			cost_capacity_name(c), 1, NULL, priced ? &p : NULL);
		out->current.cpu_m += n->alloc_cpu_m;
		out->current.mem += n->alloc_mem;
		out->current_alloc_cpu_m += n->type ? n->type->vcpu * 1000 : n->alloc_cpu_m;
		out->current_alloc_mem +=
		    n->type ? n->type->memory_mib * 1024 * 1024 : n->alloc_mem;
	}
}

/* ---- packing ------------------------------------------------------------------------------ */

/* The catalog types of a candidate, priced. */
static size_t universe(struct om *m, const struct om_pool *p, const struct cand_spec *cs,
		       size_t **tcat, double **price)
{
	struct kube_nodereq *reqs = ks_calloc(p->term.nreqs + 1, sizeof *reqs);
	size_t nr = 0;
	for (size_t i = 0; i < p->term.nreqs; i++)
		if (!(key_class(p->term.reqs[i].key) & cs->drop))
			reqs[nr++] = p->term.reqs[i];
	struct kube_nodereq_term term = { .reqs = reqs, .nreqs = nr };
	*tcat = ks_calloc(m->ncat + 1, sizeof **tcat);
	*price = ks_calloc(m->ncat + 1, sizeof **price);
	size_t n = 0;
	for (size_t i = 0; i < m->ncat; i++) {
		const struct cost_instance_type *t = cost_catalog_at(m->o->cat, i);
		/* the open candidates stay on modern types (no older generation than the pool
		 * allows today) without GPUs, and in the pool's categories unless they open
		 * those too */
		if (cs->drop &&
		    (t->gpu_count > 0 || t->gpu_name[0] || t->generation < p->min_generation))
			continue;
		if ((cs->drop & DROP_FAMILY) && !(cs->drop & DROP_CATEGORY) && p->n_categories) {
			bool in = false;
			for (size_t k = 0; k < p->n_categories && !in; k++)
				in = !strcmp(p->categories[k], t->category);
			if (!in)
				continue;
		}
		if (cs->arch >= 0 && (int)t->arch != cs->arch)
			continue;
		if (!cap_type_satisfies(t, &term))
			continue;
		struct cost_price pr;
		if (cost_prices_get(m->o->prices, t->name, cs->cap, &pr, NULL) || !(pr.usd_hr > 0))
			continue;
		if (cs->low_interruption &&
		    (pr.interruption_bucket < 0 || pr.interruption_bucket > OPT_SPOT_MAX_BUCKET))
			continue;
		(*tcat)[n] = i;
		(*price)[n] = pr.usd_hr;
		n++;
	}
	free(reqs);
	return n;
}

/* The pool's pods as pack groups: sets merged by (class, architectures, requests);
 * right-sized requests when rightsized. gkey gets each group's set (its class and archs). */
static size_t pool_groups(struct om *m, size_t pool, bool rightsized,
			  struct cost_pack_group **groups, size_t **gset)
{
	struct ks_map by = { 0 };
	ks_map_init(&by);
	*groups = NULL;
	*gset = NULL;
	size_t n = 0;
	for (size_t s = 0; s < m->n_sets; s++) {
		const struct om_podset *ps = &m->sets[s];
		if (ps->pool != pool)
			continue;
		int64_t cpu = rightsized ? ps->new_cpu_m : ps->cpu_m;
		int64_t mem = rightsized ? ps->new_mem : ps->mem;
		char key[96];
		int64_t cap = m->workloads[ps->workload].max_per_node;
		/* a cap is per workload: its pods never merge with another's into one group */
		snprintf(key, sizeof key, "%zu/%u/%lld/%lld/%zu", ps->cls, ps->arch_ok,
			 (long long)cpu, (long long)mem, cap ? ps->workload : (size_t)-1);
		uintptr_t v = (uintptr_t)ks_map_get(&by, key);
		if (!v) {
			*groups = ks_realloc(*groups, (n + 1) * sizeof **groups);
			*gset = ks_realloc(*gset, (n + 1) * sizeof **gset);
			(*groups)[n] =
			    (struct cost_pack_group){ .name = m->workloads[ps->workload].name,
						      .cpu_millis = cpu,
						      .memory_bytes = mem,
						      .max_per_node = cap };
			(*gset)[n] = s;
			v = ++n;
			ks_map_put(&by, key, (void *)v);
		}
		(*groups)[v - 1].count += ps->count;
	}
	ks_map_release(&by);
	return n;
}

static int pack(struct om *m, size_t pool, const struct cand_spec *cs, bool rightsized,
		struct packed *pk, struct ks_err *err)
{
	const struct om_pool *p = &m->pools[pool];
	double *price;
	memset(pk, 0, sizeof *pk);
	pk->ntypes = universe(m, p, cs, &pk->tcat, &price);
	size_t *gset;
	size_t ng = pool_groups(m, pool, rightsized, &pk->groups, &gset);
	int rc = 0;
	if (pk->ntypes && ng) {
		pk->types = ks_calloc(pk->ntypes, sizeof *pk->types);
		for (size_t t = 0; t < pk->ntypes; t++)
			pk->types[t] =
			    (struct cost_pack_type){ cost_catalog_at(m->o->cat, pk->tcat[t]),
						     price[t], COST_PACK_UNLIMITED };
		pk->allowed = ks_calloc(ng * pk->ntypes, 1);
		bool all = true;
		for (size_t g = 0; g < ng; g++) {
			const struct om_podset *ps = &m->sets[gset[g]];
			pk->pods += pk->groups[g].count;
			for (size_t t = 0; t < pk->ntypes; t++) {
				/* the other-architecture candidate is priced as if the images ran
				 * there; whether they do decides its eligibility */
				bool arch =
				    cs->arch >= 0 || (ps->arch_ok >> pk->types[t].it->arch) & 1;
				const struct om_class *cl = &m->classes[ps->cls];
				bool cap =
				    cs->cap == COST_CAPACITY_SPOT ? cl->spot_ok : cl->on_demand_ok;
				bool ok = arch && cap && om_class_allows(m, ps->cls, pk->tcat[t]);
				pk->allowed[g * pk->ntypes + t] = ok;
				all = all && ok;
			}
		}
		pk->in = (struct cost_pack_input){
			.groups = pk->groups,
			.n_groups = ng,
			.types = pk->types,
			.n_types = pk->ntypes,
			.overhead_cpu_millis = p->ov_cpu_m,
			.overhead_memory_bytes = p->ov_mem,
			.overhead_pods = (int)p->ov_pods,
			.allowed = all ? NULL : pk->allowed,
		};
		rc = cost_pack_solve(&pk->in, &pk->res, err);
		pk->ran = rc == 0;
	}
	free(gset);
	free(price);
	return rc;
}

/* For a small pool: the exact optimum of the packing (GLPK MIP) as the lower bound, and its
 * node counts when they beat the heuristic's. True when it was proven. */
static bool prove(struct packed *pk)
{
	if (!pk->ran || pk->res.unplaced_pods || pk->pods > EXACT_MAX_PODS ||
	    pk->in.n_groups > EXACT_MAX_GROUPS)
		return false;
	int64_t *nodes = ks_calloc(pk->ntypes, sizeof *nodes);
	double opt;
	struct ks_err err = { 0 };
	bool ok = cost_pack_exact(&pk->in, pk->res.hourly_usd, EXACT_TIME_MS, EXACT_MAX_VARS, &opt,
				  nodes, &err) == 0;
	if (ok) {
		if (opt < pk->res.hourly_usd - 1e-9) {
			memcpy(pk->res.nodes_per_type, nodes, pk->ntypes * sizeof *nodes);
			pk->res.hourly_usd = opt;
		}
		pk->res.lower_bound_usd_hr = opt;
		pk->res.bound_status = COST_PACK_BOUND_OK;
		pk->res.gap = opt > 0 ? (pk->res.hourly_usd - opt) / opt : 0;
	}
	free(nodes);
	return ok;
}

/* An earlier candidate with the very same types at the same capacity type (and the same
 * architecture rule): its packing is this one's. Its index, or -1. */
static int same_as_earlier(struct om *m, const struct om_pool *p, const struct cand_spec *specs,
			   const struct packed *pk, size_t i)
{
	size_t *tcat;
	double *price;
	size_t n = universe(m, p, &specs[i], &tcat, &price);
	int same = -1;
	for (size_t j = 0; j < i && same < 0; j++)
		if (pk[j].tcat && pk[j].ntypes == n && specs[j].cap == specs[i].cap &&
		    (specs[j].arch >= 0) == (specs[i].arch >= 0) &&
		    !memcmp(pk[j].tcat, tcat, n * sizeof *tcat))
			same = (int)j;
	free(tcat);
	free(price);
	return same;
}

static void packed_release(struct packed *pk)
{
	if (pk->ran)
		cost_pack_result_release(&pk->res);
	free(pk->tcat);
	free(pk->groups);
	free(pk->types);
	free(pk->allowed);
	memset(pk, 0, sizeof *pk);
}

static void mix_of(struct om *m, const struct packed *pk, enum cost_capacity cap, struct opt_mix *x)
{
	if (!pk->ran)
		return;
	for (size_t t = 0; t < pk->ntypes; t++) {
		if (!pk->res.nodes_per_type[t])
			continue;
		const struct cost_instance_type *it = cost_catalog_at(m->o->cat, pk->tcat[t]);
		struct cost_price pr;
		bool priced = !cost_prices_get(m->o->prices, it->name, cap, &pr, NULL);
		mix_add(x, it->name, cost_capacity_name(cap), pk->res.nodes_per_type[t], it,
			priced ? &pr : NULL);
	}
}

/* The chosen candidate's bound made as tight as the budget allows: the exact optimum for
 * small pools (which may also improve the mix), else integer node counts when the mix has
 * few nodes (where the LP's fractional nodes make it loose). */
static void tighten_bound(struct om *m, struct packed *pk, const struct cand_spec *cs,
			  struct opt_candidate *c)
{
	if (prove(pk)) {
		om_mix_release(&c->mix);
		mix_of(m, pk, cs->cap, &c->mix);
		c->lower_bound_usd_hr = pk->res.lower_bound_usd_hr;
		c->gap_pct = pk->res.gap * 100;
		c->bound_method = OPT_BOUND_EXACT;
		return;
	}
	if (!pk->ran || pk->res.unplaced_pods || pk->res.nodes > OPT_INT_BOUND_MAX_NODES ||
	    c->lower_bound_usd_hr < 0)
		return;
	double b;
	struct ks_err err = { 0 };
	if (cost_pack_integer_bound(&pk->in, OPT_INT_BOUND_MS, &b, &err) == 0 &&
	    b > c->lower_bound_usd_hr) {
		c->lower_bound_usd_hr = b;
		c->gap_pct = b > 0 ? (c->mix.hourly_usd - b) / b * 100 : 0;
		c->bound_method = OPT_BOUND_INTEGER;
	}
}

/* ---- candidates --------------------------------------------------------------------------- */

static bool term_has(const struct om_pool *p, unsigned cls)
{
	for (size_t i = 0; i < p->term.nreqs; i++)
		if (key_class(p->term.reqs[i].key) & cls)
			return true;
	return false;
}

/* Images of the pool's pods not seen running on arch (up to 3 named in why). */
static bool images_run_on(struct om *m, const struct om_pool *p, int arch, char *why, size_t n)
{
	size_t missing = 0, len = 0;
	uint32_t id;
	why[0] = 0;
	for (size_t i = 0; ks_u32set_next(&p->images, &i, &id);) {
		if (ks_u32set_has(&m->image_seen[arch], id))
			continue;
		char tmp[KUBE_OBJSTORE_STRTMP];
		const char *k = kube_objstore_str(m->pod_st, id, tmp, NULL);
		if (missing++ < 3 && len < n && k)
			len += (size_t)snprintf(why + len, n - len, "%s%s", len ? ", " : "", k);
	}
	if (missing > 3 && len < n)
		snprintf(why + len, n - len, " and %zu more", missing - 3);
	return missing == 0;
}

static bool cap_eligible(const struct om *m, const struct om_pool *p, enum cost_capacity cap,
			 enum cost_capacity eff, char *why, size_t n)
{
	switch (m->o->spot) {
	case OPT_SPOT_KEEP:
		if (cap == eff)
			return true;
		snprintf(why, n,
			 cap == COST_CAPACITY_SPOT
			     ? "spot policy 'keep': the pool allows on-demand only (--spot prefer "
			       "lets kswarm move it)"
			     : "spot policy 'keep': the pool allows spot, which Karpenter launches "
			       "first");
		return false;
	case OPT_SPOT_NEVER:
		if (cap == COST_CAPACITY_ON_DEMAND)
			return true;
		snprintf(why, n, "spot policy 'never'");
		return false;
	case OPT_SPOT_PREFER:
		if (cap == COST_CAPACITY_ON_DEMAND || p->tolerant_spot)
			return true;
		snprintf(why, n, "not for spot: %s", p->spot_why);
		return false;
	}
	return false;
}

static void describe(const struct cand_spec *cs, size_t ntypes, struct opt_candidate *c)
{
	const char *what = !cs->drop                  ? "the types its requirements allow today"
			   : cs->drop & DROP_CATEGORY ? "any category, family and size"
			   : cs->drop & DROP_FAMILY   ? "any family and size of its categories"
						      : "any size of its families";
	const char *arch = cs->arch == COST_ARCH_ARM64   ? ", arm64 only"
			   : cs->arch == COST_ARCH_AMD64 ? ", amd64 only"
							 : "";
	c->description =
	    ks_asprintf("%s%s, %s%s (%zu types)", what, arch, cost_capacity_name(cs->cap),
			cs->low_interruption ? " with interruption rate under 15%" : "", ntypes);
}

/* ---- the patch ---------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static cJSON *requirement(const char *key, const char *const *values, size_t n)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "key", key);
	cJSON_AddStringToObject(r, "operator", "In");
	cJSON *vals = cJSON_AddArrayToObject(r, "values");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(vals, cJSON_CreateString(values[i]));
	return r;
}

/* Raise a limit (cpu in cores, memory in Gi) to peak*1.25 when it is below peak. */
static void limit_patch(cJSON *spec, const cJSON *pool, const char *res, int64_t peak, int64_t unit,
			struct opt_pool *out)
{
	const cJSON *lim = ks_json_get(pool, "spec.limits");
	const cJSON *q = ks_json_child(lim, res);
	if (!q)
		return;
	int64_t have = !strcmp(res, "cpu") ? cap_qty_milli(q, -1) : cap_qty_value(q, -1);
	if (have < 0 || have >= peak)
		return;
	int64_t want = (peak + peak / 4 + unit - 1) / unit;
	char v[32];
	snprintf(v, sizeof v, "%lld%s", (long long)want, !strcmp(res, "cpu") ? "" : "Gi");
	cJSON *l = cJSON_GetObjectItemCaseSensitive(spec, "limits");
	if (!l)
		l = cJSON_AddObjectToObject(spec, "limits");
	cJSON_AddStringToObject(l, res, v);
	om_add_risk(out,
		    "spec.limits.%s raised from %s to %s: the replacement nodes are launched "
		    "before the old ones are drained",
		    res, cJSON_IsString(q) ? q->valuestring : "?", v);
}

/* The pool's requirements with the mix's instance types pinned (see optimize.h). */
static cJSON *pinned_requirements(const struct om_pool *p, const struct cand_spec *cs,
				  enum cost_capacity eff, const struct opt_mix *mix,
				  struct opt_pool *out)
{
	cJSON *reqs = cJSON_CreateArray();
	const cJSON *r;
	unsigned drop = cs->drop | DROP_SHAPE | (cs->arch >= 0 ? DROP_ARCH : 0);
	bool cap_change = cs->cap != eff ||
			  (p->allows_spot && p->allows_od && cs->cap == COST_CAPACITY_ON_DEMAND);
	cJSON_ArrayForEach(r, ks_json_get(p->json, "spec.template.spec.requirements"))
	{
		const char *key = ks_json_str_or(r, "key", "");
		if (key_class(key) & drop)
			continue;
		if (cap_change && !strcmp(key, CAPACITY_KEY))
			continue;
		if (ks_json_get(r, "minValues"))
			om_add_risk(out,
				    "requirement %s keeps minValues %lld: the recommended mix "
				    "has fewer distinct values, and Karpenter launches nothing "
				    "until it has them (lower it or drop it)",
				    key, (long long)ks_json_int_or(r, "minValues", 0));
		cJSON_AddItemToArray(reqs, cJSON_Duplicate(r, true));
	}
	char **types = ks_calloc(mix->n_items + 1, sizeof *types);
	size_t nt = 0;
	for (size_t i = 0; i < mix->n_items; i++) {
		bool dup = false;
		for (size_t k = 0; k < nt && !dup; k++)
			dup = !strcmp(types[k], mix->items[i].type);
		if (!dup)
			types[nt++] = mix->items[i].type;
	}
	qsort(types, nt, sizeof *types, cmp_str);
	cJSON_AddItemToArray(reqs, requirement(TYPE_KEY, (const char *const *)types, nt));
	free(types);
	if (cs->arch >= 0) {
		const char *a = cost_arch_name((enum cost_arch)cs->arch);
		cJSON_AddItemToArray(reqs, requirement(ARCH_KEY, &a, 1));
	}
	if (cap_change) {
		const char *c = cost_capacity_name(cs->cap);
		cJSON_AddItemToArray(reqs, requirement(CAPACITY_KEY, &c, 1));
	}
	return reqs;
}

/* The merge patch: requirements pinned to the mix (pin), limits and disruption as the mix
 * and the roll-over need; NULL in out->patch when nothing needs to change. */
static void build_patch(struct om *m, const struct om_pool *p, const struct cand_spec *cs,
			enum cost_capacity eff, const struct opt_mix *mix, bool pin,
			struct opt_pool *out)
{
	cJSON *patch = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(patch, "spec");
	if (pin) {
		cJSON *tspec =
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "template"), "spec");
		cJSON_AddItemToObject(tspec, "requirements",
				      pinned_requirements(p, cs, eff, mix, out));
	}
	const cJSON *r;
	/* limits: the old nodes stay until their pods moved, so the pool holds both for a while
	 * (with the default budget, one node's replacement at a time; at worst all of them) */
	int64_t mix_cpu = 0, mix_mem = 0;
	for (size_t i = 0; i < mix->n_items; i++) {
		const struct cost_instance_type *t =
		    cost_catalog_find(m->o->cat, mix->items[i].type);
		if (t) {
			mix_cpu += (int64_t)t->vcpu * 1000 * mix->items[i].nodes;
			mix_mem += t->memory_mib * 1024 * 1024 * mix->items[i].nodes;
		}
	}
	/* without a requirement change nothing is replaced: the pool only grows to the mix */
	int64_t peak_cpu =
	    pin ? out->current_alloc_cpu_m + mix_cpu
		: (mix_cpu > out->current_alloc_cpu_m ? mix_cpu : out->current_alloc_cpu_m);
	int64_t peak_mem =
	    pin ? out->current_alloc_mem + mix_mem
		: (mix_mem > out->current_alloc_mem ? mix_mem : out->current_alloc_mem);
	limit_patch(spec, p->json, "cpu", peak_cpu, 1000, out);
	limit_patch(spec, p->json, "memory", peak_mem, (int64_t)1 << 30, out);

	const char *policy = ks_json_str(p->json, "spec.disruption.consolidationPolicy");
	const char *after = ks_json_str(p->json, "spec.disruption.consolidateAfter");
	if (pin && policy && !strcmp(policy, "WhenEmpty")) {
		cJSON *d = cJSON_AddObjectToObject(spec, "disruption");
		cJSON_AddStringToObject(d, "consolidationPolicy", "WhenEmptyOrUnderutilized");
		om_add_risk(out,
			    "consolidationPolicy goes from WhenEmpty to WhenEmptyOrUnderutilized: "
			    "drift replaces the nodes one by one, and only consolidation merges "
			    "their pods back onto the recommended mix");
	}
	if (pin && after && !strcmp(after, "Never"))
		om_add_risk(out,
			    "consolidateAfter is Never: Karpenter will not merge the "
			    "replacement nodes, so the pool may keep more nodes than recommended");
	cJSON_ArrayForEach(r, ks_json_get(p->json, "spec.disruption.budgets"))
	{
		const char *nodes = ks_json_str(r, "nodes");
		if (nodes && (!strcmp(nodes, "0") || !strcmp(nodes, "0%")) &&
		    !ks_json_get(r, "schedule"))
			om_add_risk(out,
				    "a disruption budget of %s nodes blocks drift: the nodes "
				    "are replaced only when the budget allows it",
				    nodes);
	}
	if (!cJSON_GetArraySize(spec)) {
		cJSON_Delete(patch);
		return;
	}
	out->patch = patch;

	cJSON *np = cJSON_Duplicate(p->json, true);
	cJSON_DeleteItemFromObjectCaseSensitive(np, "status");
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(np, "metadata");
	static const char *const drop_meta[] = { "managedFields", "resourceVersion", "uid",
						 "creationTimestamp", "generation" };
	for (size_t i = 0; i < KS_ARRAY_LEN(drop_meta); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, drop_meta[i]);
	ks_json_merge_patch(np, patch);
	out->patched = np;
}

/* ---- the pool ----------------------------------------------------------------------------- */

static void fmt_money(char *buf, size_t n, double usd)
{
	snprintf(buf, n, "$%.2f", usd);
}

void opt_mix_text(char *buf, size_t n, const struct opt_mix *x)
{
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < x->n_items && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%lld x %s%s", i ? " + " : "",
					(long long)x->items[i].nodes, x->items[i].type,
					strcmp(x->items[i].capacity, "spot") ? "" : " spot");
	if (len >= n && n > 4)
		memcpy(buf + n - 4, "...", 4);
	if (!x->n_items)
		snprintf(buf, n, "no nodes");
}

/* A mix of both architectures while some pods' images were seen on one only: Karpenter
 * knows nothing of that unless the pods say it with a kubernetes.io/arch selector. */
static void mixed_arch_risk(struct om *m, size_t pi, const struct opt_mix *mix,
			    struct opt_pool *out)
{
	unsigned archs = 0;
	for (size_t i = 0; i < mix->n_items; i++) {
		const struct cost_instance_type *t =
		    cost_catalog_find(m->o->cat, mix->items[i].type);
		if (t)
			archs |= 1u << t->arch;
	}
	if (archs != 3)
		return;
	for (size_t k = 0; k < m->n_sets; k++) {
		const struct om_podset *ps = &m->sets[k];
		if (ps->pool != pi || ps->arch_ok == 3)
			continue;
		const struct om_workload *W = &m->workloads[ps->workload];
		om_add_risk(out,
			    "the mix has amd64 and arm64 nodes, and the images of %s %s/%s were "
			    "only seen on %s: give its pods a kubernetes.io/arch node selector, or "
			    "Karpenter may place them on the other architecture",
			    W->kind, W->ns, W->name,
			    cost_arch_name(ps->arch_ok == 1u << COST_ARCH_ARM64 ? COST_ARCH_ARM64
										: COST_ARCH_AMD64));
		return;
	}
}

void om_pool_optimize(struct om *m, size_t pi, struct opt_pool *out)
{
	struct om_pool *p = &m->pools[pi];
	current_mix(m, pi, out);
	out->chosen = -1;
	out->lower_bound_monthly_usd = -1;
	out->gap_pct = NAN;
	if (!p->term_ok) {
		copy_mix(&out->recommended, &out->current);
		out->verdict = ks_asprintf("its requirements do not parse: left as it is");
		return;
	}
	if (p->pods == 0) {
		/* nothing to pack: the nodes (if any) run DaemonSet pods only */
		char cur_w[256], a[32];
		opt_mix_text(cur_w, sizeof cur_w, &out->current);
		fmt_money(a, sizeof a, out->current.hourly_usd * OPT_HOURS_PER_MONTH);
		if (!out->current.nodes) {
			out->verdict = ks_asprintf("no pods and no nodes: nothing to do");
			return;
		}
		out->chosen = -1;
		out->monthly_savings_usd = out->current.hourly_usd * OPT_HOURS_PER_MONTH;
		const char *policy = ks_json_str(p->json, "spec.disruption.consolidationPolicy");
		out->verdict = ks_asprintf("%s (%s a month) hold%s no pods but DaemonSet ones: "
					   "Karpenter's emptiness consolidation should remove %s%s",
					   cur_w, a, out->current.nodes == 1 ? "s" : "",
					   out->current.nodes == 1 ? "it" : "them",
					   policy ? "" : " (the pool has no consolidationPolicy)");
		om_add_risk(out,
			    "if the nodes stay, something keeps them: a do-not-disrupt "
			    "annotation, a disruption budget, or nodes Karpenter did not launch");
		return;
	}
	if (p->settling) {
		/* Karpenter is replacing nodes (a change of the requirements, an expiry): the
		 * current mix is a moment of that, not the pool's cost */
		out->settling_nodes = p->settling;
		copy_mix(&out->recommended, &out->current);
		out->verdict = ks_asprintf("settling: %zu node%s being replaced or deleted "
					   "(drifted from the requirements); judged again once "
					   "Karpenter is done",
					   p->settling, p->settling == 1 ? "" : "s");
		return;
	}
	enum cost_capacity eff = p->allows_spot ? COST_CAPACITY_SPOT : COST_CAPACITY_ON_DEMAND;
	enum cost_capacity pol = m->o->spot == OPT_SPOT_NEVER ? COST_CAPACITY_ON_DEMAND
				 : m->o->spot == OPT_SPOT_PREFER && p->tolerant_spot
				     ? COST_CAPACITY_SPOT
				     : eff;
	enum cost_capacity other =
	    pol == COST_CAPACITY_SPOT ? COST_CAPACITY_ON_DEMAND : COST_CAPACITY_SPOT;
	bool prefer = m->o->spot == OPT_SPOT_PREFER;
	unsigned widest = term_has(p, DROP_FAMILY) ? DROP_SHAPE | DROP_FAMILY : DROP_SHAPE;
	/* the architectures the pool's pods run on today: named by the pool, else shown by
	 * their images */
	unsigned archs = p->named_arch;
	for (size_t k = 0; !archs && k < m->n_sets; k++)
		if (m->sets[k].pool == pi)
			archs |= m->sets[k].arch_ok;
	int other_arch = archs == 1u << COST_ARCH_AMD64   ? COST_ARCH_ARM64
			 : archs == 1u << COST_ARCH_ARM64 ? COST_ARCH_AMD64
							  : -1;
	struct cand_spec specs[6];
	size_t ns = 0;
	specs[ns++] = (struct cand_spec){ "current requirements", 0, -1, eff, false, false };
	specs[ns++] = (struct cand_spec){
		"open sizes", DROP_SHAPE, -1,
		pol,          false,      prefer && pol == COST_CAPACITY_SPOT && !p->allows_spot
	};
	if (widest != DROP_SHAPE)
		specs[ns++] = (struct cand_spec){ "open sizes and families", widest, -1, pol, false,
						  specs[1].low_interruption };
	specs[ns++] = (struct cand_spec){ other == COST_CAPACITY_SPOT ? "spot" : "on-demand",
					  widest,
					  -1,
					  other,
					  false,
					  prefer && other == COST_CAPACITY_SPOT };
	if (other_arch >= 0)
		specs[ns++] = (struct cand_spec){ other_arch == COST_ARCH_ARM64 ? "arm64 (Graviton)"
										: "amd64",
						  widest | DROP_ARCH,
						  other_arch,
						  pol,
						  false,
						  specs[1].low_interruption };
	specs[ns++] = (struct cand_spec){ "any category", widest | DROP_CATEGORY,   -1, pol,
					  true,           specs[1].low_interruption };

	out->cands = ks_calloc(ns, sizeof *out->cands);
	struct packed pk[6];
	int best = -1;
	for (size_t i = 0; i < ns; i++) {
		struct opt_candidate *c = &out->cands[out->n_cands++];
		struct ks_err err = { 0 };
		c->name = ks_strdup(specs[i].name);
		c->spot = specs[i].cap == COST_CAPACITY_SPOT;
		c->lower_bound_usd_hr = -1;
		c->gap_pct = NAN;
		if (specs[i].info_only && p->pods > OPT_INFO_MAX_PODS) {
			/* for comparison only, and the costliest to pack (every category) */
			memset(&pk[i], 0, sizeof pk[i]);
			describe(&specs[i], 0, c);
			c->why_not =
			    ks_asprintf("not computed for pools of more than %d pods (this one "
					"has %lld): shown for comparison on smaller pools",
					OPT_INFO_MAX_PODS, (long long)p->pods);
			continue;
		}
		int same = same_as_earlier(m, p, specs, pk, i);
		if (same >= 0) {
			/* the same types at the same prices: the same packing, not done twice */
			const struct opt_candidate *e = &out->cands[same];
			memset(&pk[i], 0, sizeof pk[i]);
			describe(&specs[i], e->types_considered, c);
			c->types_considered = e->types_considered;
			c->feasible = e->feasible;
			c->unplaced_pods = e->unplaced_pods;
			copy_mix(&c->mix, &e->mix);
			c->lower_bound_usd_hr = e->lower_bound_usd_hr;
			c->gap_pct = e->gap_pct;
			c->bound_method = e->bound_method;
			c->why_not = ks_asprintf("the same %zu instance types as '%s'",
						 e->types_considered, e->name);
			continue;
		}
		int rc = pack(m, pi, &specs[i], false, &pk[i], &err);
		describe(&specs[i], pk[i].ntypes, c);
		c->types_considered = pk[i].ntypes;
		char why[320] = "";
		if (rc) {
			snprintf(why, sizeof why, "packing failed: %s", err.msg);
		} else if (!pk[i].ntypes) {
			snprintf(why, sizeof why, "no instance type in the catalog qualifies");
		} else if (pk[i].ran) {
			c->unplaced_pods = pk[i].res.unplaced_pods;
			c->feasible = pk[i].res.unplaced_pods == 0;
			mix_of(m, &pk[i], specs[i].cap, &c->mix);
			if (pk[i].res.bound_status == COST_PACK_BOUND_OK) {
				c->lower_bound_usd_hr = pk[i].res.lower_bound_usd_hr;
				c->gap_pct = pk[i].res.gap * 100;
				c->bound_method = OPT_BOUND_LP;
			}
			if (!c->feasible)
				snprintf(why, sizeof why, "%lld pod%s fit none of its types",
					 (long long)c->unplaced_pods,
					 c->unplaced_pods == 1 ? "" : "s");
		} else {
			c->feasible = true; /* no pods: no nodes needed */
		}
		c->eligible = c->feasible && !why[0] && !specs[i].info_only;
		if (c->eligible)
			c->eligible = cap_eligible(m, p, specs[i].cap, eff, why, sizeof why);
		if (c->eligible && specs[i].arch >= 0) {
			char imgs[200];
			if (!images_run_on(m, p, specs[i].arch, imgs, sizeof imgs)) {
				c->eligible = false;
				snprintf(why, sizeof why,
					 "images not seen running on %s nodes (kswarm "
					 "does not read registries): %s",
					 cost_arch_name((enum cost_arch)specs[i].arch), imgs);
			}
		}
		if (specs[i].info_only && c->feasible)
			snprintf(why, sizeof why,
				 "the instance category is the pool owner's choice "
				 "(burstable, memory- or compute-optimized); shown for comparison");
		if (why[0])
			c->why_not = ks_strdup(why);
		if (c->eligible &&
		    (best < 0 || c->mix.hourly_usd < out->cands[best].mix.hourly_usd - 1e-9))
			best = (int)i;
	}

	if (best >= 0)
		tighten_bound(m, &pk[best], &specs[best], &out->cands[best]);
	char cur_w[256], rec_w[256], a[32], b[32], s[32];
	opt_mix_text(cur_w, sizeof cur_w, &out->current);
	double cur = out->current.hourly_usd;
	double gain = best >= 0 ? cur - out->cands[best].mix.hourly_usd : 0;
	/* pending pods: the current nodes do not hold every pod, so the cheapest mix that does
	 * is the recommendation even when it costs more */
	bool worth = best >= 0 && (p->pending > 0 || (out->current.nodes == 0 && p->pods > 0) ||
				   (gain > 1e-9 && gain >= cur * OPT_MIN_SAVING_PCT / 100));
	if (worth)
		out->chosen = best;
	for (size_t i = 0; i < out->n_cands; i++) {
		struct opt_candidate *c = &out->cands[i];
		if ((int)i == out->chosen || c->why_not)
			continue;
		double d = c->mix.hourly_usd -
			   (out->chosen >= 0 ? out->cands[out->chosen].mix.hourly_usd : cur);
		fmt_money(a, sizeof a, d * OPT_HOURS_PER_MONTH);
		c->why_not =
		    d > 1e-9 ? ks_asprintf("costs %s a month more", a)
		    : out->chosen < 0
			? ks_asprintf("saves under %.0f%% of the current cost", OPT_MIN_SAVING_PCT)
			: ks_asprintf("costs the same; the recommendation changes "
				      "less");
	}
	if (out->chosen < 0) {
		copy_mix(&out->recommended, &out->current);
		fmt_money(a, sizeof a, cur * OPT_HOURS_PER_MONTH);
		out->verdict =
		    best < 0 ? ks_asprintf("keep %s (%s a month): no candidate holds every pod",
					   cur_w, a)
			     : ks_asprintf("keep %s (%s a month): no mix saves %.0f%% or more",
					   cur_w, a, OPT_MIN_SAVING_PCT);
		if (best >= 0 && out->cands[best].lower_bound_usd_hr >= 0) {
			out->bound_method = out->cands[best].bound_method;
			out->lower_bound_monthly_usd =
			    out->cands[best].lower_bound_usd_hr * OPT_HOURS_PER_MONTH;
			if (out->lower_bound_monthly_usd > 0 &&
			    cur * OPT_HOURS_PER_MONTH >= out->lower_bound_monthly_usd)
				out->gap_pct =
				    (cur * OPT_HOURS_PER_MONTH - out->lower_bound_monthly_usd) /
				    out->lower_bound_monthly_usd * 100;
		}
	} else {
		const struct opt_candidate *c = &out->cands[out->chosen];
		const struct cand_spec *cs = &specs[out->chosen];
		mix_of(m, &pk[out->chosen], cs->cap, &out->recommended);
		out->monthly_savings_usd = (cur - c->mix.hourly_usd) * OPT_HOURS_PER_MONTH;
		if (c->lower_bound_usd_hr >= 0) {
			out->lower_bound_monthly_usd = c->lower_bound_usd_hr * OPT_HOURS_PER_MONTH;
			out->gap_pct = c->gap_pct;
			out->bound_method = c->bound_method;
		}
		opt_mix_text(rec_w, sizeof rec_w, &c->mix);
		fmt_money(a, sizeof a, cur * OPT_HOURS_PER_MONTH);
		fmt_money(b, sizeof b, c->mix.hourly_usd * OPT_HOURS_PER_MONTH);
		fmt_money(s, sizeof s, out->monthly_savings_usd);
		char gap[64] = "";
		if (out->bound_method == OPT_BOUND_EXACT && out->gap_pct < 0.05)
			snprintf(gap, sizeof gap, "; proven optimal (exact MIP)");
		else if (isfinite(out->gap_pct))
			snprintf(gap, sizeof gap, "; within %.1f%% of the lower bound",
				 out->gap_pct);
		double pct = cur > 0 ? (cur - c->mix.hourly_usd) / cur * 100 : 0;
		char change[160];
		if (out->monthly_savings_usd >= 0) {
			snprintf(change, sizeof change, "saves %s (%.0f%%)", s, pct);
		} else {
			fmt_money(s, sizeof s, -out->monthly_savings_usd);
			snprintf(change, sizeof change, "%s more, to run the %lld pending pod%s", s,
				 (long long)p->pending, p->pending == 1 ? "" : "s");
		}
		if (out->chosen == 0 && !cs->drop) {
			out->verdict =
			    ks_asprintf("%s → %s: %s → %s a month, %s, with its requirements "
					"as they are%s%s",
					cur_w, rec_w, a, b, change,
					p->pending ? "" : ": consolidation should get there", gap);
			build_patch(m, p, cs, eff, &c->mix, false, out);
			if (!p->pending)
				om_add_risk(out,
					    "no requirement change: if Karpenter has not "
					    "consolidated to this mix, something blocks it "
					    "(do-not-disrupt pods, budgets, PDBs) — kswarm analyze "
					    "names it");
		} else {
			out->verdict = ks_asprintf("%s → %s: %s → %s a month, %s%s", cur_w, rec_w,
						   a, b, change, gap);
			build_patch(m, p, cs, eff, &c->mix, true, out);
			mixed_arch_risk(m, pi, &c->mix, out);
			om_add_risk(out,
				    "the pool is pinned to %zu instance type%s: Karpenter has "
				    "fewer fallbacks when a type has no capacity in a zone",
				    c->mix.n_items, c->mix.n_items == 1 ? "" : "s");
		}
		if (c->spot) {
			int worst = -1;
			for (size_t i = 0; i < c->mix.n_items; i++)
				if (c->mix.items[i].interruption_bucket > worst)
					worst = c->mix.items[i].interruption_bucket;
			static const char *const rate[] = { "<5%", "5-10%", "10-15%", "15-20%",
							    ">20%" };
			om_add_risk(out,
				    "spot: interruption rate up to %s a month (Spot Advisor); a "
				    "node is drained on the 2-minute notice",
				    worst >= 0 && worst < 5 ? rate[worst] : "unknown");
		}
		size_t single = 0;
		char first[200] = "";
		for (size_t k = 0; k < m->n_sets; k++) {
			const struct om_podset *ps = &m->sets[k];
			const struct om_workload *W = &m->workloads[ps->workload];
			if (ps->pool != pi || W->pods != 1 || W->replicated_kind)
				continue;
			if (!single++)
				snprintf(first, sizeof first, "%s %s/%s", W->kind, W->ns, W->name);
		}
		if (single)
			om_add_risk(out,
				    "%zu single-replica workload%s (%s%s) restart%s when %s node "
				    "is replaced",
				    single, single == 1 ? "" : "s", first,
				    single > 1 ? ", ..." : "", single == 1 ? "s" : "",
				    single == 1 ? "its" : "their");
	}
	if (p->pending)
		om_add_risk(out,
			    "%lld pending pod%s included: the current cost does not pay for "
			    "them yet",
			    (long long)p->pending, p->pending == 1 ? "" : "s");
	if (out->current.unpriced)
		om_add_risk(out, "%zu node%s with no known price: the current cost leaves them out",
			    out->current.unpriced, out->current.unpriced == 1 ? "" : "s");

	/* right-sized: the same candidate's types, the recommended requests */
	bool changed = false;
	for (size_t k = 0; k < m->n_sets && !changed; k++)
		changed = m->sets[k].pool == pi && (m->sets[k].new_cpu_m != m->sets[k].cpu_m ||
						    m->sets[k].new_mem != m->sets[k].mem);
	if (changed) {
		size_t ci = out->chosen >= 0 ? (size_t)out->chosen : 0;
		struct packed rp;
		struct ks_err err = { 0 };
		if (!pack(m, pi, &specs[ci], true, &rp, &err) && rp.ran &&
		    rp.res.unplaced_pods == 0) {
			mix_of(m, &rp, specs[ci].cap, &out->with_rightsizing);
			out->has_rightsized = true;
		}
		packed_release(&rp);
	}
	for (size_t i = 0; i < ns; i++)
		packed_release(&pk[i]);
}
