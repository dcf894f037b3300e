/* pack.c — node-mix packing: the construction starts, the improvement passes, the assignment
 * LP (lower bound and dual prices) and the exact MIP for small cases. The method and the
 * proof of the bound are in pack.h.
 *
 * Inside, a solution is a list of expanded nodes (struct node: a type, its load and the pods
 * it runs as sorted (group, count) items); the improvement passes work on it, and
 * compress_solution folds identical nodes into the result's shapes. Everything allocated
 * here is freed before returning, except the result's arrays. */
#include "base/common.h"
#include "cost/pack.h"

#include "base/timeutil.h"
#include "cost/catalog.h"

#include <glpk.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MIB 1048576LL
#define MAX_PAIRS 4000000 /* groups x types: the LP has this many columns */
#define COUNT_ROW_MAX_K 32 /* the LP gets a y_gt <= k_gt x_t row when k_gt is this small */
#define IMPROVE_ROUNDS 8
#define ELIMINATE_CANDIDATES 256
#define MERGE_CANDIDATES 48
/* Small problems (at most this many pods and group x type pairs) get the improvement passes
 * on every start, with best-valued fills and whole re-packs; all of it within WORK_BUDGET
 * (fills of a node plus leaves of fill searches), so the time stays bounded. */
#define FULL_SEARCH_PODS 200
#define FULL_SEARCH_PAIRS 64
#define WORK_BUDGET 20000000L
#define REPACK_CANDIDATES 6        /* least-used nodes re-packed in pairs, at scale */
#define REPACK_CANDIDATES_SMALL 16 /* in pairs and triples, for small problems */
#define FILL_SEARCH_LEAVES 2000
#define REPACK_ALL_NODES 8 /* small problems: the whole solution is re-packed too */
#define LOOKAHEAD_LEAVES 200 /* fills of a first node tried per type, in lookahead_pass */
#define LOOKAHEAD_BUDGET 2000000L /* its work, apart from WORK_BUDGET */
#define EXACT_MAX_GROUPS 64
#define PRICE_EPS 1e-9

/* the problem in integers, types and groups indexed as in the input */
struct problem {
	size_t ng, nt;
	const struct cost_pack_group *g;
	const uint8_t *allowed; /* [ng][nt] the input's: g may run on t; NULL: everywhere */
	int64_t *cap_cpu, *cap_mem, *cap_pods; /* after the overhead; unusable: pods 0 */
	double *price;
	int64_t *max_nodes; /* < 0: unlimited */
	bool *placeable;    /* fits an empty node of some usable type */
	bool *lp_skip;      /* [nt] left out of the LP: another type does its part (lp_covers) */
	double *value;      /* of one pod, for the construction's scores */
	uint32_t *order;    /* [nt][ng]: the fill order of the groups allowed on each type */
	size_t *n_order;    /* [nt] how many groups order[t] lists (ng without a matrix) */
	long *work;         /* what the improvement passes may still spend (fills, leaves) */
	bool any_cap;       /* some group has a cap per node */
};

struct item {
	uint32_t g;
	int64_t k;
};

struct node {
	size_t type;
	int64_t cpu, mem, pods;
	struct item *it;
	size_t n, cap;
	bool dead;
};

struct sol {
	struct node *nodes;
	size_t n, cap;
	int64_t *used; /* [nt] nodes of each type */
	int64_t *rem;  /* [ng] pods not placed */
	double cost;
};

/* may a pod of group g run on a node of type t */
static inline bool may_run(const struct problem *k, size_t g, size_t t)
{
	return !k->allowed || k->allowed[g * k->nt + t];
}

/* the most pods of group g one node may run: its cap, INT64_MAX without one */
static inline int64_t group_cap(const struct problem *k, size_t g)
{
	return k->g[g].max_per_node > 0 ? k->g[g].max_per_node : INT64_MAX;
}

/* pods of group g on node n */
static int64_t node_count(const struct node *n, size_t g)
{
	for (size_t i = 0; i < n->n; i++)
		if (n->it[i].g == g)
			return n->it[i].k;
	return 0;
}

/* every pod on node n may run on type t */
static bool node_may_run(const struct problem *k, const struct node *n, size_t t)
{
	for (size_t i = 0; i < n->n; i++)
		if (!may_run(k, n->it[i].g, t))
			return false;
	return true;
}

/* the most pods of g that fit an empty node of type t, the cap aside (0 when g may not
 * run on t) */
static int64_t fit_per_node(const struct problem *k, size_t g, size_t t)
{
	int64_t n = k->cap_pods[t];
	if (n <= 0 || !may_run(k, g, t))
		return 0;
	if (k->g[g].cpu_millis > 0 && k->cap_cpu[t] / k->g[g].cpu_millis < n)
		n = k->cap_cpu[t] / k->g[g].cpu_millis;
	if (k->g[g].memory_bytes > 0 && k->cap_mem[t] / k->g[g].memory_bytes < n)
		n = k->cap_mem[t] / k->g[g].memory_bytes;
	return n;
}

/* the most pods of g one empty node of type t holds: k_gt (pack.h), the cap counted */
static int64_t per_node(const struct problem *k, size_t g, size_t t)
{
	int64_t n = fit_per_node(k, g, t), cap = group_cap(k, g);
	return n < cap ? n : cap;
}

/* the pod's largest share of an empty node of type t */
static double pod_size(const struct problem *k, size_t g, size_t t)
{
	double s = 1.0 / (double)k->cap_pods[t];
	if (k->cap_cpu[t] > 0 && (double)k->g[g].cpu_millis / (double)k->cap_cpu[t] > s)
		s = (double)k->g[g].cpu_millis / (double)k->cap_cpu[t];
	if (k->cap_mem[t] > 0 && (double)k->g[g].memory_bytes / (double)k->cap_mem[t] > s)
		s = (double)k->g[g].memory_bytes / (double)k->cap_mem[t];
	return s;
}

/* Does the LP get a y_gt <= k_gt x_t row? Only where it cuts (k_gt below the real ratio
 * 1 / size, which the resource rows already give) and k_gt is small or set by the group's
 * cap per node (a cap always gets its row). */
static bool count_row(const struct problem *k, size_t g, size_t t)
{
	int64_t kk = per_node(k, g, t);
	if (kk == 0 || (double)kk * pod_size(k, g, t) >= 1.0 - 1e-9)
		return false;
	return kk <= COUNT_ROW_MAX_K || kk < fit_per_node(k, g, t);
}

/* the most pods of g the LP lets one node of t hold: k_gt with its row, else 1 / size */
static double lp_per_node(const struct problem *k, size_t g, size_t t)
{
	if (per_node(k, g, t) == 0)
		return 0;
	return count_row(k, g, t) ? (double)per_node(k, g, t) : 1.0 / pod_size(k, g, t);
}

static bool type_room(const struct problem *k, const int64_t *used, size_t t)
{
	return k->cap_pods[t] > 0 && (k->max_nodes[t] < 0 || used[t] < k->max_nodes[t]);
}

static bool load_fits(const struct problem *k, size_t t, int64_t cpu, int64_t mem, int64_t pods)
{
	return k->cap_pods[t] > 0 && cpu <= k->cap_cpu[t] && mem <= k->cap_mem[t] &&
	       pods <= k->cap_pods[t];
}

static int validate(const struct cost_pack_input *in, struct ks_err *err)
{
	if (!in || in->n_types == 0 || !in->types)
		return ks_err_set(err, KS_EINVAL, "packing: no instance types to pack onto");
	if (in->n_groups && !in->groups)
		return ks_err_set(err, KS_EINVAL, "packing: %zu pod groups but no array",
				  in->n_groups);
	if (in->n_groups > COST_PACK_MAX_GROUPS || in->n_types > COST_PACK_MAX_TYPES ||
	    in->n_groups * in->n_types > MAX_PAIRS)
		return ks_err_set(err, KS_EINVAL,
				  "packing: %zu pod groups x %zu types is over the limit "
				  "(%d groups, %d types, %d pairs)",
				  in->n_groups, in->n_types, COST_PACK_MAX_GROUPS,
				  COST_PACK_MAX_TYPES, MAX_PAIRS);
	if (in->overhead_cpu_millis < 0 || in->overhead_memory_bytes < 0 || in->overhead_pods < 0)
		return ks_err_set(err, KS_EINVAL, "packing: negative DaemonSet overhead");
	int64_t total = 0;
	for (size_t i = 0; i < in->n_groups; i++) {
		const struct cost_pack_group *g = &in->groups[i];
		const char *name = g->name ? g->name : "";
		if (g->cpu_millis < 0 || g->memory_bytes < 0 || g->count < 0)
			return ks_err_set(err, KS_EINVAL,
					  "packing: pod group %zu '%s': negative request or count",
					  i, name);
		if (g->max_per_node < 0)
			return ks_err_set(err, KS_EINVAL,
					  "packing: pod group %zu '%s': negative pods per node cap",
					  i, name);
		if (g->count > COST_PACK_MAX_PODS - total)
			return ks_err_set(err, KS_EINVAL, "packing: more than %d pods in all",
					  COST_PACK_MAX_PODS);
		total += g->count;
	}
	for (size_t t = 0; t < in->n_types; t++) {
		const struct cost_pack_type *ty = &in->types[t];
		if (!ty->it)
			return ks_err_set(err, KS_EINVAL, "packing: type %zu has no catalog entry",
					  t);
		if (!(ty->price_usd_hr > 0) || !isfinite(ty->price_usd_hr))
			return ks_err_set(err, KS_EINVAL,
					  "packing: type %s: price %g is not a positive number",
					  ty->it->name, ty->price_usd_hr);
	}
	return 0;
}

/* every group allowed on t is allowed on u */
static bool allows_all_of(const struct problem *k, size_t u, size_t t)
{
	if (!k->allowed)
		return true;
	for (size_t g = 0; g < k->ng; g++)
		if (k->allowed[g * k->nt + t] && !k->allowed[g * k->nt + u])
			return false;
	return true;
}

/* u makes t unnecessary: uncapped, no less room in anything, no dearer, and better in
 * something or (twins) listed first; and every group that may run on t may run on u */
static bool dominates(const struct problem *k, size_t u, size_t t)
{
	if (u == t || k->cap_pods[u] <= 0 || k->max_nodes[u] >= 0)
		return false;
	bool no_worse = k->cap_cpu[u] >= k->cap_cpu[t] && k->cap_mem[u] >= k->cap_mem[t] &&
			k->cap_pods[u] >= k->cap_pods[t] && k->price[u] <= k->price[t];
	bool better = k->cap_cpu[u] > k->cap_cpu[t] || k->cap_mem[u] > k->cap_mem[t] ||
		      k->cap_pods[u] > k->cap_pods[t] || k->price[u] < k->price[t];
	return no_worse && (better || u < t) && allows_all_of(k, u, t);
}

/* Can type u stand in for type t in the LP? u is uncapped and at least as large in cpu,
 * memory and pod slots, and per dollar it offers at least as much of each, and of k_gu for
 * every group. Then any LP point using t maps to one of the same cost without it
 * (x_u += x_t p_t / p_u, y_gu += y_gt): every row still holds, so the LP's optimum, the
 * bound, is the same with t left out. Twins: the first stays. With an allowed matrix, k_gt
 * is 0 for a group not allowed on t, so k_gu / p_u >= k_gt / p_t > 0 for every g that has
 * a y_gt also says g is allowed on u (and y_gu exists): a group allowed on t but not on u
 * keeps t in the LP. */
static bool lp_covers(const struct problem *k, size_t u, size_t t)
{
	if (u == t || k->cap_pods[u] <= 0 || k->max_nodes[u] >= 0 || k->lp_skip[u])
		return false;
	if (k->cap_cpu[u] < k->cap_cpu[t] || k->cap_mem[u] < k->cap_mem[t] ||
	    k->cap_pods[u] < k->cap_pods[t])
		return false;
	double pu = k->price[u], pt = k->price[t];
	if ((double)k->cap_cpu[u] / pu < (double)k->cap_cpu[t] / pt ||
	    (double)k->cap_mem[u] / pu < (double)k->cap_mem[t] / pt ||
	    (double)k->cap_pods[u] / pu < (double)k->cap_pods[t] / pt)
		return false;
	bool same = k->cap_cpu[u] == k->cap_cpu[t] && k->cap_mem[u] == k->cap_mem[t] &&
		    k->cap_pods[u] == k->cap_pods[t] && pu == pt;
	if (same && u > t)
		return false;
	for (size_t g = 0; g < k->ng; g++) {
		if ((double)per_node(k, g, u) / pu < (double)per_node(k, g, t) / pt)
			return false;
		/* u's k_gu row must also hold what t's resource rows alone let y_gt reach when
		 * t has no row: only a cap can give u a row and t none (without one, k_gu <= 32
		 * makes k_gt <= 32, and t's row is left out only where k_gt is the ratio) */
		if (k->g[g].max_per_node > 0 && count_row(k, g, u) &&
		    (double)per_node(k, g, u) / pu * (1 + 1e-8) < lp_per_node(k, g, t) / pt)
			return false;
	}
	return true;
}

static void problem_init(struct problem *k, const struct cost_pack_input *in)
{
	*k = (struct problem){.ng = in->n_groups, .nt = in->n_types, .g = in->groups};
	size_t nt = k->nt, ng = k->ng;
	k->cap_cpu = ks_calloc(nt, sizeof *k->cap_cpu);
	k->cap_mem = ks_calloc(nt, sizeof *k->cap_mem);
	k->cap_pods = ks_calloc(nt, sizeof *k->cap_pods);
	k->price = ks_calloc(nt, sizeof *k->price);
	k->max_nodes = ks_calloc(nt, sizeof *k->max_nodes);
	k->allowed = in->allowed;
	k->placeable = ks_calloc(ng ? ng : 1, sizeof *k->placeable);
	k->lp_skip = ks_calloc(nt, sizeof *k->lp_skip);
	k->value = ks_calloc(ng ? ng : 1, sizeof *k->value);
	for (size_t t = 0; t < nt; t++) {
		const struct cost_instance_type *it = in->types[t].it;
		k->cap_cpu[t] = it->alloc_cpu_millis - in->overhead_cpu_millis;
		k->cap_mem[t] = it->alloc_memory_mib * MIB - in->overhead_memory_bytes;
		k->cap_pods[t] = (int64_t)it->max_pods - in->overhead_pods;
		if (k->cap_cpu[t] < 0 || k->cap_mem[t] < 0 || k->cap_pods[t] < 0)
			k->cap_pods[t] = 0; /* the DaemonSets alone do not fit */
		k->price[t] = in->types[t].price_usd_hr;
		k->max_nodes[t] = in->types[t].max_nodes < 0 ? -1 : in->types[t].max_nodes;
	}
	/* A type another one beats on every count — at least as much cpu, memory and pod room,
	 * no dearer, never capped, allowed for every group allowed on it — is never needed: any
	 * node of it can be swapped for the other. Left out (cap_pods 0) of the LP, the
	 * heuristic and the MIP alike. */
	for (size_t t = 0; t < nt; t++)
		for (size_t u = 0; u < nt && k->cap_pods[t] > 0; u++)
			if (dominates(k, u, t))
				k->cap_pods[t] = 0;
	for (size_t g = 0; g < ng; g++) {
		k->any_cap |= k->g[g].max_per_node > 0;
		double best = HUGE_VAL;
		for (size_t t = 0; t < nt; t++)
			if (per_node(k, g, t) > 0 && k->max_nodes[t] != 0) {
				k->placeable[g] = true;
				/* a capped pod takes at least 1 / cap of a node */
				double share = pod_size(k, g, t);
				if (1.0 / (double)group_cap(k, g) > share)
					share = 1.0 / (double)group_cap(k, g);
				if (k->price[t] * share < best)
					best = k->price[t] * share;
			}
		k->value[g] = k->placeable[g] ? best : 0; /* the proxy; duals replace it */
	}
	for (size_t t = 0; t < nt; t++)
		for (size_t u = 0; u < nt && k->cap_pods[t] > 0 && !k->lp_skip[t]; u++)
			if (lp_covers(k, u, t))
				k->lp_skip[t] = true;
}

static void problem_release(struct problem *k)
{
	free(k->cap_cpu);
	free(k->cap_mem);
	free(k->cap_pods);
	free(k->price);
	free(k->max_nodes);
	free(k->placeable);
	free(k->lp_skip);
	free(k->value);
	free(k->order);
	free(k->n_order);
}

/* ---- the assignment LP (pack.h) ----------------------------------------------------- */

struct lp_cols {
	int *x;      /* [nt] column of x_t, 0 when the type is unusable */
	int *y;      /* [ng * nt] column of y_gt, 0 when g does not fit t */
	int *demand; /* [ng] row of group g, 0 when unplaceable */
};

/* a y_gt <= k_gt x_t row set by g's cap, left out of the LP until its optimum breaks it */
struct lazy_row {
	size_t g, t;
	bool added;
};

/* glp_simplex, and its status as 0, KS_EINVAL (infeasible) or KS_EIO */
static int run_simplex(glp_prob *lp, const glp_smcp *parm, struct ks_err *err)
{
	int src = glp_simplex(lp, parm);
	if (src)
		return ks_err_set(err, KS_EIO, "packing LP: GLPK simplex failed (code %d)", src);
	int st = glp_get_status(lp);
	if (st == GLP_NOFEAS)
		return ks_err_set(err, KS_EINVAL,
				  "packing LP: infeasible: the node caps cannot hold every pod");
	if (st != GLP_OPT)
		return ks_err_set(err, KS_EIO, "packing LP: no optimum (GLPK status %d)", st);
	return 0;
}

/* Solve the LP; *bound and, when not NULL, the demand rows' duals ([ng]) and the pods of
 * each group on each type (y_gt, [ng * nt]). 0, KS_EINVAL (infeasible), KS_EIO (GLPK). */
/* The assignment LP (see pack.h): *bound, and the duals and the split when asked for. With
 * int_ms > 0, the node counts x_t are then made integer and the problem solved by GLPK's
 * branch and bound within int_ms (pods stay fractional): *bound is that optimum, or
 * KS_ETIMEOUT when it is not proven in time. Integer counts forbid the LP-only pruning of
 * covered types (x_u += x_t p_t / p_u is fractional), so those types stay in. */
static int solve_lp(const struct problem *k, double *bound, double *duals, double *assign,
		    int int_ms, struct ks_err *err)
{
	size_t ng = k->ng, nt = k->nt;
	struct lp_cols c = {
		.x = ks_calloc(nt, sizeof(int)),
		.y = ks_calloc(ng * nt + 1, sizeof(int)),
		.demand = ks_calloc(ng + 1, sizeof(int)),
	};
	int prev_out = glp_term_out(GLP_OFF);
	glp_prob *lp = glp_create_prob();
	glp_set_obj_dir(lp, GLP_MIN);
	int rc = 0;
	int *ia = NULL, *ja = NULL;
	double *ar = NULL;
	size_t nnz = 0, nzcap = 0;
	struct lazy_row *lazy = NULL;
	size_t n_lazy = 0, lazy_cap = 0;
	bool *broken = ks_calloc(ng + 1, sizeof *broken); /* [ng] a lazy row of g is broken */
#define PUT(r, col, v)                                                                       \
	do {                                                                                  \
		if (nnz + 2 > nzcap) {                                                        \
			size_t c1 = nzcap, c2 = nzcap;                                        \
			ia = ks_grow(ia, sizeof *ia, nnz + 2, &c1);                           \
			ja = ks_grow(ja, sizeof *ja, nnz + 2, &c2);                           \
			ar = ks_grow(ar, sizeof *ar, nnz + 2, &nzcap);                        \
		}                                                                             \
		nnz++;                                                                        \
		ia[nnz] = (r);                                                                \
		ja[nnz] = (col);                                                              \
		ar[nnz] = (v);                                                                \
	} while (0)

	for (size_t t = 0; t < nt; t++) {
		if (k->cap_pods[t] <= 0 || k->max_nodes[t] == 0 || (k->lp_skip[t] && int_ms <= 0))
			continue;
		int col = glp_add_cols(lp, 1);
		c.x[t] = col;
		glp_set_obj_coef(lp, col, k->price[t]);
		if (k->max_nodes[t] < 0)
			glp_set_col_bnds(lp, col, GLP_LO, 0, 0);
		else
			glp_set_col_bnds(lp, col, GLP_DB, 0, (double)k->max_nodes[t]);
	}
	bool any = false;
	for (size_t g = 0; g < ng; g++) {
		if (!k->placeable[g] || k->g[g].count == 0)
			continue;
		any = true;
		c.demand[g] = glp_add_rows(lp, 1);
		glp_set_row_bnds(lp, c.demand[g], GLP_FX, (double)k->g[g].count,
				 (double)k->g[g].count);
		for (size_t t = 0; t < nt; t++) {
			if (!c.x[t] || per_node(k, g, t) == 0)
				continue;
			int col = glp_add_cols(lp, 1);
			c.y[g * nt + t] = col;
			glp_set_col_bnds(lp, col, GLP_LO, 0, 0);
			PUT(c.demand[g], col, 1.0);
		}
	}
	if (!any) {
		*bound = 0;
		if (duals)
			memset(duals, 0, ng * sizeof *duals);
		if (assign)
			memset(assign, 0, ng * nt * sizeof *assign);
		goto out;
	}
	for (size_t t = 0; t < nt; t++) {
		if (!c.x[t])
			continue;
		int r = glp_add_rows(lp, 3);
		for (int i = 0; i < 3; i++)
			glp_set_row_bnds(lp, r + i, GLP_UP, 0, 0);
		for (int i = 0; i < 3; i++)
			PUT(r + i, c.x[t], -1.0);
		for (size_t g = 0; g < ng; g++) {
			int col = c.y[g * nt + t];
			if (!col)
				continue;
			if (k->cap_cpu[t] > 0 && k->g[g].cpu_millis > 0)
				PUT(r, col, (double)k->g[g].cpu_millis / (double)k->cap_cpu[t]);
			if (k->cap_mem[t] > 0 && k->g[g].memory_bytes > 0)
				PUT(r + 1, col,
				    (double)k->g[g].memory_bytes / (double)k->cap_mem[t]);
			PUT(r + 2, col, 1.0 / (double)k->cap_pods[t]);
			if (count_row(k, g, t) && per_node(k, g, t) < fit_per_node(k, g, t)) {
				/* set by the cap: added once the LP breaks it (below) */
				lazy = ks_grow(lazy, sizeof *lazy, n_lazy + 1, &lazy_cap);
				lazy[n_lazy++] = (struct lazy_row){.g = g, .t = t};
			} else if (count_row(k, g, t)) {
				int64_t kk = per_node(k, g, t);
				int rr = glp_add_rows(lp, 1);
				glp_set_row_bnds(lp, rr, GLP_UP, 0, 0);
				PUT(rr, col, 1.0 / (double)kk);
				PUT(rr, c.x[t], -1.0);
			}
		}
	}
	glp_load_matrix(lp, (int)nnz, ia, ja, ar);
	glp_scale_prob(lp, GLP_SF_AUTO);
	glp_smcp parm;
	glp_init_smcp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.presolve = GLP_OFF; /* measured: the presolver made it no faster */
	for (;;) {
		rc = run_simplex(lp, &parm, err);
		if (rc)
			goto out;
		/* The rows a cap per node makes (y_gt <= cap_g x_t, one per capped group and
		 * type) are many, and most never bind: a group's rows are added once the
		 * optimum breaks one of them, and the LP solved again from its basis (dual
		 * simplex), until none is broken — then it is the optimum of the LP with every
		 * row. (Row by row took 17 rounds of 20 ms on 27 types, the pods moving to the
		 * next type each time; all the rows at once made the LP 3 times slower on 27
		 * types and 6 times on 877.) */
		size_t added = 0;
		memset(broken, 0, ng * sizeof *broken);
		for (size_t i = 0; i < n_lazy; i++) {
			const struct lazy_row *lr = &lazy[i];
			if (lr->added || broken[lr->g])
				continue;
			double kk = (double)per_node(k, lr->g, lr->t);
			double y = glp_get_col_prim(lp, c.y[lr->g * nt + lr->t]);
			double x = glp_get_col_prim(lp, c.x[lr->t]);
			broken[lr->g] = y > kk * x + 1e-7 * (1 + y);
		}
		for (size_t i = 0; i < n_lazy; i++) {
			struct lazy_row *lr = &lazy[i];
			if (lr->added || !broken[lr->g])
				continue;
			int rr = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, rr, GLP_UP, 0, 0);
			int ind[3] = {0, c.y[lr->g * nt + lr->t], c.x[lr->t]};
			double val[3] = {0, 1.0 / (double)per_node(k, lr->g, lr->t), -1.0};
			glp_set_mat_row(lp, rr, 2, ind, val);
			lr->added = true;
			added++;
		}
		if (!added)
			break;
		parm.meth = GLP_DUALP;
	}
	*bound = glp_get_obj_val(lp);
	if (int_ms > 0) {
		for (size_t t = 0; t < nt; t++)
			if (c.x[t])
				glp_set_col_kind(lp, c.x[t], GLP_IV);
		glp_iocp ip;
		glp_init_iocp(&ip);
		ip.msg_lev = GLP_MSG_OFF;
		ip.tm_lim = int_ms;
		int src = glp_intopt(lp, &ip); /* from the LP's optimal basis */
		int st = glp_mip_status(lp);
		if (src == GLP_ETMLIM || (src == 0 && st == GLP_FEAS))
			rc = ks_err_set(err, KS_ETIMEOUT, "integer node counts: no proof within %d ms",
					int_ms);
		else if (src || st != GLP_OPT)
			rc = ks_err_set(err, KS_EIO, "integer node counts: GLPK failed (code %d, "
					"status %d)", src, st);
		else
			*bound = glp_mip_obj_val(lp);
		goto out;
	}
	if (assign)
		for (size_t i = 0; i < ng * nt; i++)
			assign[i] = c.y[i] ? glp_get_col_prim(lp, c.y[i]) : 0;
	if (duals)
		for (size_t g = 0; g < ng; g++)
			duals[g] = c.demand[g] ? glp_get_row_dual(lp, c.demand[g]) : 0;
out:
#undef PUT
	glp_delete_prob(lp);
	free(lazy);
	free(broken);
	glp_term_out(prev_out);
	free(ia);
	free(ja);
	free(ar);
	free(c.x);
	free(c.y);
	free(c.demand);
	return rc;
}

/* ---- solutions ---------------------------------------------------------------------- */

static void sol_init(struct sol *s, const struct problem *k)
{
	*s = (struct sol){
		.used = ks_calloc(k->nt, sizeof *s->used),
		.rem = ks_calloc(k->ng ? k->ng : 1, sizeof *s->rem),
	};
}

/* an empty solution for every placeable pod */
static void sol_start(const struct problem *k, struct sol *s)
{
	sol_init(s, k);
	for (size_t g = 0; g < k->ng; g++)
		s->rem[g] = k->placeable[g] ? k->g[g].count : 0;
}

static void sol_release(struct sol *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->nodes[i].it);
	free(s->nodes);
	free(s->used);
	free(s->rem);
	*s = (struct sol){0};
}

static void node_add(const struct problem *k, struct node *n, uint32_t g, int64_t pods)
{
	n->cpu += pods * k->g[g].cpu_millis;
	n->mem += pods * k->g[g].memory_bytes;
	n->pods += pods;
	size_t i = 0;
	while (i < n->n && n->it[i].g < g)
		i++;
	if (i < n->n && n->it[i].g == g) {
		n->it[i].k += pods;
		return;
	}
	n->it = ks_grow(n->it, sizeof *n->it, n->n + 1, &n->cap);
	memmove(n->it + i + 1, n->it + i, (n->n - i) * sizeof *n->it);
	n->it[i] = (struct item){.g = g, .k = pods};
	n->n++;
}

static void node_sub(const struct problem *k, struct node *n, uint32_t g, int64_t pods)
{
	n->cpu -= pods * k->g[g].cpu_millis;
	n->mem -= pods * k->g[g].memory_bytes;
	n->pods -= pods;
	for (size_t i = 0; i < n->n; i++)
		if (n->it[i].g == g) {
			n->it[i].k -= pods;
			if (n->it[i].k == 0) {
				memmove(n->it + i, n->it + i + 1, (n->n - i - 1) * sizeof *n->it);
				n->n--;
			}
			return;
		}
}

/* how many more pods of g fit on n, within g's cap per node (0 when g may not run on its
 * type) */
static int64_t node_room(const struct problem *k, const struct node *n, size_t g)
{
	size_t t = n->type;
	if (!may_run(k, g, t))
		return 0;
	int64_t r = k->cap_pods[t] - n->pods;
	const struct cost_pack_group *gr = &k->g[g];
	if (gr->cpu_millis > 0 && (k->cap_cpu[t] - n->cpu) / gr->cpu_millis < r)
		r = (k->cap_cpu[t] - n->cpu) / gr->cpu_millis;
	if (gr->memory_bytes > 0 && (k->cap_mem[t] - n->mem) / gr->memory_bytes < r)
		r = (k->cap_mem[t] - n->mem) / gr->memory_bytes;
	if (r <= 0)
		return 0; /* full: no need to look at the cap */
	if (gr->max_per_node > 0 && gr->max_per_node - node_count(n, g) < r)
		r = gr->max_per_node - node_count(n, g);
	return r < 0 ? 0 : r;
}

static double node_util(const struct problem *k, const struct node *n)
{
	size_t t = n->type;
	double u = (double)n->pods / (double)k->cap_pods[t];
	if (k->cap_cpu[t] > 0 && (double)n->cpu / (double)k->cap_cpu[t] > u)
		u = (double)n->cpu / (double)k->cap_cpu[t];
	if (k->cap_mem[t] > 0 && (double)n->mem / (double)k->cap_mem[t] > u)
		u = (double)n->mem / (double)k->cap_mem[t];
	return u;
}

static double sol_cost(const struct problem *k, const struct sol *s)
{
	double c = 0;
	for (size_t t = 0; t < k->nt; t++)
		c += (double)s->used[t] * k->price[t];
	return c;
}

static int64_t sol_unplaced(const struct problem *k, const struct sol *s)
{
	int64_t n = 0;
	for (size_t g = 0; g < k->ng; g++)
		n += s->rem[g];
	return n;
}

/* ---- construction ------------------------------------------------------------------- */

/* fill or fill_best: an empty node of type t filled from rem, (group, pods) into pat, the
 * number of items returned and their value in *value */
typedef size_t fill_fn(const struct problem *k, size_t t, const int64_t *rem, struct item *pat,
		       double *value);

/* Fill an empty node of type t from rem in the type's order: (group, pods) into pat; when
 * `capped`, each group at most its cap per node. Inlined twice (fill): without caps, the
 * hottest loop of the heuristic runs as it did before caps existed (the check cost 7% of
 * its instructions, 2.5% of the whole at 10,000 pods). */
static inline __attribute__((always_inline)) size_t
fill_groups(const struct problem *k, size_t t, const int64_t *rem, struct item *pat,
	    double *value, bool capped)
{
	int64_t cpu = k->cap_cpu[t], mem = k->cap_mem[t], pods = k->cap_pods[t];
	size_t n = 0;
	double v = 0;
	const uint32_t *ord = k->order + t * k->ng;
	for (size_t i = 0; i < k->n_order[t] && pods > 0; i++) {
		uint32_t g = ord[i];
		if (rem[g] == 0)
			continue;
		int64_t take = rem[g] < pods ? rem[g] : pods;
		const struct cost_pack_group *gr = &k->g[g];
		if (capped && group_cap(k, g) < take)
			take = group_cap(k, g);
		if (gr->cpu_millis > 0 && cpu / gr->cpu_millis < take)
			take = cpu / gr->cpu_millis;
		if (gr->memory_bytes > 0 && mem / gr->memory_bytes < take)
			take = mem / gr->memory_bytes;
		if (take <= 0)
			continue;
		cpu -= take * gr->cpu_millis;
		mem -= take * gr->memory_bytes;
		pods -= take;
		pat[n++] = (struct item){.g = g, .k = take};
		v += (double)take * k->value[g];
	}
	*value = v;
	return n;
}

static size_t fill(const struct problem *k, size_t t, const int64_t *rem, struct item *pat,
		   double *value)
{
	return k->any_cap ? fill_groups(k, t, rem, pat, value, true)
			  : fill_groups(k, t, rem, pat, value, false);
}

/* The best-valued fill of an empty node of type t, searched depth-first in the type's
 * order (most pods of each group first, so the first leaf is fill's greedy answer), over
 * at most FILL_SEARCH_LEAVES complete fills. Used where pools are small (repack). */
struct fill_search {
	const struct problem *k;
	const int64_t *rem;
	const uint32_t *ord;
	size_t n_ord;
	struct item *cur, *best;
	size_t ncur, nbest;
	double vbest;
	long leaves;
	/* when set, called on every maximal fill (cur[0..ncur)) instead of keeping the best */
	void (*each)(struct fill_search *f);
	void *arg;
};

/* no group of the order can take one more pod of the node's room left (or within its
 * cap) */
static bool fill_is_maximal(const struct fill_search *f, int64_t cpu, int64_t mem, int64_t pods)
{
	if (pods <= 0)
		return true;
	for (size_t i = 0; i < f->n_ord; i++) {
		uint32_t g = f->ord[i];
		const struct cost_pack_group *gr = &f->k->g[g];
		if (gr->cpu_millis > cpu || gr->memory_bytes > mem)
			continue;
		int64_t taken = 0;
		for (size_t j = 0; j < f->ncur; j++)
			if (f->cur[j].g == g)
				taken = f->cur[j].k;
		if (f->rem[g] > taken && taken < group_cap(f->k, g))
			return false;
	}
	return true;
}

static void fill_dfs(struct fill_search *f, size_t i, int64_t cpu, int64_t mem, int64_t pods,
		     double v)
{
	const struct problem *k = f->k;
	int64_t most = 0;
	for (; i < f->n_ord && pods > 0; i++) {
		const struct cost_pack_group *gr = &k->g[f->ord[i]];
		most = f->rem[f->ord[i]] < pods ? f->rem[f->ord[i]] : pods;
		if (group_cap(k, f->ord[i]) < most)
			most = group_cap(k, f->ord[i]);
		if (gr->cpu_millis > 0 && cpu / gr->cpu_millis < most)
			most = cpu / gr->cpu_millis;
		if (gr->memory_bytes > 0 && mem / gr->memory_bytes < most)
			most = mem / gr->memory_bytes;
		if (most > 0)
			break;
	}
	if (i >= f->n_ord || pods <= 0 || most <= 0) {
		f->leaves--;
		(*k->work)--;
		if (f->each) {
			if (f->ncur && fill_is_maximal(f, cpu, mem, pods))
				f->each(f);
			return;
		}
		if (v > f->vbest * (1 + 1e-12)) {
			f->vbest = v;
			f->nbest = f->ncur;
			memcpy(f->best, f->cur, f->ncur * sizeof *f->cur);
		}
		return;
	}
	uint32_t g = f->ord[i];
	const struct cost_pack_group *gr = &k->g[g];
	for (int64_t c = most; c >= 0 && f->leaves > 0; c--) {
		if (c)
			f->cur[f->ncur++] = (struct item){.g = g, .k = c};
		fill_dfs(f, i + 1, cpu - c * gr->cpu_millis, mem - c * gr->memory_bytes, pods - c,
			 v + (double)c * k->value[g]);
		if (c)
			f->ncur--;
	}
}

static size_t fill_best(const struct problem *k, size_t t, const int64_t *rem, struct item *pat,
			double *value)
{
	struct item *cur = ks_calloc(k->ng + 1, sizeof *cur);
	struct fill_search f = {.k = k, .rem = rem, .ord = k->order + t * k->ng,
				.n_ord = k->n_order[t], .cur = cur, .best = pat, .vbest = -1,
				.leaves = FILL_SEARCH_LEAVES};
	fill_dfs(&f, 0, k->cap_cpu[t], k->cap_mem[t], k->cap_pods[t], 0);
	free(cur);
	*value = f.vbest < 0 ? 0 : f.vbest;
	return f.nbest;
}

struct sort_ctx {
	const struct problem *k;
	size_t t;
	bool by_density;
};

static int cmp_fill_order(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	uint32_t ga = *(const uint32_t *)a, gb = *(const uint32_t *)b;
	double sa = pod_size(c->k, ga, c->t), sb = pod_size(c->k, gb, c->t);
	double ka = sa, kb = sb;
	if (c->by_density) {
		ka = c->k->value[ga] / (sa > 0 ? sa : 1e-12);
		kb = c->k->value[gb] / (sb > 0 ? sb : 1e-12);
	}
	if (ka != kb)
		return ka > kb ? -1 : 1;
	if (sa != sb)
		return sa > sb ? -1 : 1;
	return (ga > gb) - (ga < gb);
}

/* order[t]: the groups allowed on t, largest (or densest in value) first */
static void make_orders(struct problem *k, bool by_density)
{
	if (!k->order) {
		k->order = ks_calloc(k->nt * k->ng + 1, sizeof *k->order);
		k->n_order = ks_calloc(k->nt, sizeof *k->n_order);
	}
	for (size_t t = 0; t < k->nt; t++) {
		uint32_t *o = k->order + t * k->ng;
		size_t n = 0;
		for (size_t g = 0; g < k->ng; g++)
			if (may_run(k, g, t))
				o[n++] = (uint32_t)g;
		k->n_order[t] = n;
		if (k->cap_pods[t] <= 0)
			continue;
		struct sort_ctx c = {.k = k, .t = t, .by_density = by_density};
		qsort_r(o, n, sizeof *o, cmp_fill_order, &c);
	}
}

static struct node *sol_new_node(struct sol *s, size_t t)
{
	s->nodes = ks_grow(s->nodes, sizeof *s->nodes, s->n + 1, &s->cap);
	struct node *n = &s->nodes[s->n++];
	*n = (struct node){.type = t};
	s->used[t]++;
	return n;
}

/* Greedy construction of nodes for the pods in s->rem, on top of s->used: prefer type
 * `first` (SIZE_MAX: none) while it has room and takes something; otherwise the
 * (type, fill) with the most value per dollar. search: fill nodes with fill_best. */
static void construct(const struct problem *k, size_t first, bool search, struct sol *s)
{
	fill_fn *fill_node = search ? fill_best : fill;
	struct item *pat = ks_calloc(k->ng + 1, sizeof *pat);
	struct item *best = ks_calloc(k->ng + 1, sizeof *best);
	for (;;) {
		*k->work -= (long)k->nt;
		size_t bn = 0, bt = SIZE_MAX;
		double bscore = -1, bvalue = -1;
		if (first != SIZE_MAX && type_room(k, s->used, first)) {
			double v;
			bn = fill_node(k, first, s->rem, best, &v);
			if (bn)
				bt = first;
		}
		bool took_first = bt != SIZE_MAX;
		for (size_t t = 0; !took_first && t < k->nt; t++) {
			if (!type_room(k, s->used, t))
				continue;
			double v;
			size_t n = fill_node(k, t, s->rem, pat, &v);
			if (!n)
				continue;
			double score = v / k->price[t];
			if (score > bscore * (1 + 1e-12) ||
			    (score >= bscore * (1 - 1e-12) && v > bvalue)) {
				bscore = score;
				bvalue = v;
				bt = t;
				bn = n;
				memcpy(best, pat, n * sizeof *pat);
			}
		}
		if (bt == SIZE_MAX)
			break; /* nothing left, or nothing fits the types with room */
		int64_t mult = INT64_MAX;
		for (size_t i = 0; i < bn; i++)
			if (s->rem[best[i].g] / best[i].k < mult)
				mult = s->rem[best[i].g] / best[i].k;
		if (k->max_nodes[bt] >= 0 && k->max_nodes[bt] - s->used[bt] < mult)
			mult = k->max_nodes[bt] - s->used[bt];
		for (int64_t m = 0; m < mult; m++) {
			struct node *n = sol_new_node(s, bt);
			for (size_t i = 0; i < bn; i++)
				node_add(k, n, best[i].g, best[i].k);
		}
		for (size_t i = 0; i < bn; i++)
			s->rem[best[i].g] -= mult * best[i].k;
	}
	free(pat);
	free(best);
	s->cost = sol_cost(k, s);
}

struct util_ix {
	double u;
	size_t i;
};

static int cmp_util(const void *a, const void *b)
{
	const struct util_ix *x = a, *y = b;
	if (x->u != y->u)
		return x->u < y->u ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* The LP's split, rounded. For each type t: share_g = the whole pods y_gt puts on t; N =
 * the nodes those need by the tightest resource (or, with a cap per node, by
 * share_g / cap_g, which the LP's k_gt row keeps x_t above), rounded up — or, with
 * round_down 0.5, to the nearest (a type the LP gives 1.3 nodes then gets one, not two: at
 * 2,000 pods the better of the two roundings, at 150,000 pods about even; both are tried);
 * each of N nodes gets floor(share_g / N) pods of every group — which always fits, since
 * N nodes hold the whole share, and stays within the cap — and the remainder goes one pod
 * a node to the nodes it leaves least full (with room for it, the cap counted). Dealing
 * the remainders out in turn instead left nodes full in cpu with memory to spare and the
 * other way round: 16% of the pods left over at 150,000 pods, a 2.7% gap instead of 0.8%.
 * Then the pods left over (and the LP's fractions) go into the slack of those nodes, first
 * fit in the type's order, and construct packs what still is left. */
static void construct_lp(const struct problem *k, const double *assign, double round_down,
			 struct sol *s)
{
	int64_t *share = ks_calloc(k->ng + 1, sizeof *share);
	for (size_t t = 0; t < k->nt; t++) {
		double need_cpu = 0, need_mem = 0, need_pods = 0, need_capped = 0;
		for (size_t g = 0; g < k->ng; g++) {
			share[g] = (int64_t)floor(assign[g * k->nt + t] + 1e-6);
			if (share[g] > s->rem[g])
				share[g] = s->rem[g];
			need_cpu += (double)(share[g] * k->g[g].cpu_millis);
			need_mem += (double)(share[g] * k->g[g].memory_bytes);
			need_pods += (double)share[g];
			if ((double)share[g] / (double)group_cap(k, g) > need_capped)
				need_capped = (double)share[g] / (double)group_cap(k, g);
		}
		if (need_pods == 0 || k->cap_pods[t] <= 0)
			continue;
		double need = need_pods / (double)k->cap_pods[t];
		if (k->cap_cpu[t] > 0 && need_cpu / (double)k->cap_cpu[t] > need)
			need = need_cpu / (double)k->cap_cpu[t];
		if (k->cap_mem[t] > 0 && need_mem / (double)k->cap_mem[t] > need)
			need = need_mem / (double)k->cap_mem[t];
		int64_t nodes = (int64_t)ceil(need - round_down);
		if (nodes < (int64_t)ceil(need_capped - 1e-9)) /* never rounded below a cap */
			nodes = (int64_t)ceil(need_capped - 1e-9);
		if (k->max_nodes[t] >= 0 && k->max_nodes[t] - s->used[t] < nodes)
			nodes = k->max_nodes[t] - s->used[t];
		if (nodes <= 0)
			continue;
		size_t first = s->n;
		for (int64_t m = 0; m < nodes; m++)
			sol_new_node(s, t);
		/* floor(share / N) each, then the remainder one pod a node, to the nodes it
		 * leaves least full (by their fuller resource), so cpu and memory stay level */
		const uint32_t *ord = k->order + t * k->ng;
		struct util_ix *by_fill = ks_calloc((size_t)nodes, sizeof *by_fill);
		for (size_t j = 0; j < k->n_order[t]; j++) {
			uint32_t g = ord[j];
			if (share[g] == 0)
				continue;
			int64_t each = share[g] / nodes, extra = share[g] % nodes;
			for (int64_t m = 0; m < nodes && each > 0; m++) {
				struct node *nd = &s->nodes[first + (size_t)m];
				int64_t r = node_room(k, nd, g);
				r = r < each ? r : each;
				if (r > 0) {
					node_add(k, nd, g, r);
					s->rem[g] -= r;
				}
			}
			if (extra == 0)
				continue;
			size_t open = 0;
			for (size_t m = 0; m < (size_t)nodes; m++) {
				struct node *nd = &s->nodes[first + m];
				if (node_room(k, nd, g) == 0)
					continue;
				struct node after = {.type = t, .cpu = nd->cpu + k->g[g].cpu_millis,
						     .mem = nd->mem + k->g[g].memory_bytes,
						     .pods = nd->pods + 1};
				by_fill[open++] = (struct util_ix){.u = node_util(k, &after),
								   .i = first + m};
			}
			qsort(by_fill, open, sizeof *by_fill, cmp_util);
			for (size_t m = 0; m < open && extra > 0; m++, extra--) {
				node_add(k, &s->nodes[by_fill[m].i], g, 1);
				s->rem[g]--;
			}
		}
		free(by_fill);
	}
	free(share);
	/* the leftovers into the slack, groups in the order of the first node's type */
	for (size_t i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		const uint32_t *ord = k->order + nd->type * k->ng;
		for (size_t j = 0; j < k->n_order[nd->type]; j++) {
			uint32_t g = ord[j];
			if (s->rem[g] == 0)
				continue;
			int64_t r = node_room(k, nd, g);
			if (r > s->rem[g])
				r = s->rem[g];
			if (r > 0) {
				node_add(k, nd, g, r);
				s->rem[g] -= r;
			}
		}
	}
	construct(k, SIZE_MAX, false, s);
}

/* ---- improvement -------------------------------------------------------------------- */

/* a and b together hold no more pods of any group than its cap per node */
static bool within_caps(const struct problem *k, const struct node *a, const struct node *b)
{
	for (size_t i = 0; i < a->n; i++) {
		uint32_t g = a->it[i].g;
		int64_t cap = k->g[g].max_per_node;
		if (cap > 0 && a->it[i].k + node_count(b, g) > cap)
			return false;
	}
	return true;
}

/* the cheapest type with room that holds the load of nodes a and b (b may be NULL) and on
 * which every pod of them may run, with no group over its cap per node, given that a's and
 * b's types each give back one node; SIZE_MAX when none is cheaper than below_price */
static size_t cheapest_holding(const struct problem *k, const struct sol *s,
			       const struct node *a, const struct node *b, double below_price)
{
	int64_t cpu = a->cpu, mem = a->mem, pods = a->pods;
	size_t freed = a->type, freed2 = SIZE_MAX;
	if (b) {
		cpu += b->cpu;
		mem += b->mem;
		pods += b->pods;
		freed2 = b->type;
	}
	size_t best = SIZE_MAX;
	double bp = below_price - PRICE_EPS;
	for (size_t t = 0; t < k->nt; t++) {
		if (k->price[t] >= bp || !load_fits(k, t, cpu, mem, pods))
			continue;
		int64_t used = s->used[t] - (t == freed) - (t == freed2);
		if (k->max_nodes[t] >= 0 && used >= k->max_nodes[t])
			continue;
		if (k->allowed && !(node_may_run(k, a, t) && (!b || node_may_run(k, b, t))))
			continue;
		if (b && !within_caps(k, a, b))
			return SIZE_MAX; /* the same on every type */
		best = t;
		bp = k->price[t];
	}
	return best;
}

static bool downsize(const struct problem *k, struct sol *s)
{
	bool changed = false;
	for (size_t i = 0; i < s->n; i++) {
		struct node *n = &s->nodes[i];
		if (n->dead)
			continue;
		size_t t = cheapest_holding(k, s, n, NULL, k->price[n->type]);
		if (t == SIZE_MAX)
			continue;
		s->used[n->type]--;
		s->used[t]++;
		n->type = t;
		changed = true;
	}
	return changed;
}

/* alive nodes by utilisation, least used first; *count of them */
static struct util_ix *by_util(const struct problem *k, const struct sol *s, size_t *count)
{
	struct util_ix *v = ks_calloc(s->n + 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!s->nodes[i].dead)
			v[n++] = (struct util_ix){.u = node_util(k, &s->nodes[i]), .i = i};
	qsort(v, n, sizeof *v, cmp_util);
	*count = n;
	return v;
}

struct move {
	size_t to;
	uint32_t g;
	int64_t k;
};

/* Empty the least-used nodes into the others' slack (fullest first); keep what works. */
static bool eliminate(const struct problem *k, struct sol *s)
{
	size_t na;
	struct util_ix *v = by_util(k, s, &na);
	struct move *log = NULL;
	size_t nlog = 0, logcap = 0;
	bool changed = false;
	size_t tries = na < ELIMINATE_CANDIDATES ? na : ELIMINATE_CANDIDATES;
	for (size_t c = 0; c < tries; c++) {
		struct node *src = &s->nodes[v[c].i];
		if (src->dead || src->n == 0)
			continue;
		nlog = 0;
		bool ok = true;
		for (size_t j = 0; j < src->n && ok; j++) {
			uint32_t g = src->it[j].g;
			int64_t left = src->it[j].k;
			for (size_t m = na; m-- > 0 && left > 0;) {
				if (m == c)
					continue;
				struct node *dst = &s->nodes[v[m].i];
				if (dst->dead)
					continue;
				int64_t r = node_room(k, dst, g);
				if (r > left)
					r = left;
				if (r <= 0)
					continue;
				node_add(k, dst, g, r);
				log = ks_grow(log, sizeof *log, nlog + 1, &logcap);
				log[nlog++] = (struct move){.to = v[m].i, .g = g, .k = r};
				left -= r;
			}
			ok = left == 0;
		}
		if (!ok) {
			while (nlog > 0) {
				struct move *mv = &log[--nlog];
				node_sub(k, &s->nodes[mv->to], mv->g, mv->k);
			}
			continue;
		}
		src->dead = true;
		s->used[src->type]--;
		changed = true;
	}
	free(log);
	free(v);
	return changed;
}

/* Two nodes into one node of a type cheaper than both together. */
static bool merge_pairs(const struct problem *k, struct sol *s)
{
	size_t na;
	struct util_ix *v = by_util(k, s, &na);
	size_t lim = na < MERGE_CANDIDATES ? na : MERGE_CANDIDATES;
	bool changed = false;
	for (size_t a = 0; a < lim; a++) {
		struct node *x = &s->nodes[v[a].i];
		for (size_t b = a + 1; b < lim && !x->dead; b++) {
			struct node *y = &s->nodes[v[b].i];
			if (y->dead)
				continue;
			size_t t = cheapest_holding(k, s, x, y,
						    k->price[x->type] + k->price[y->type]);
			if (t == SIZE_MAX)
				continue;
			for (size_t j = 0; j < y->n; j++)
				node_add(k, x, y->it[j].g, y->it[j].k);
			s->used[x->type]--;
			s->used[y->type]--;
			s->used[t]++;
			x->type = t;
			y->dead = true;
			y->n = 0;
			y->cpu = y->mem = y->pods = 0;
			changed = true;
		}
	}
	free(v);
	return changed;
}

/* the re-packings of a pool of pods tried by repack, and the cheapest so far */
struct repack_try {
	const struct problem *k;
	const struct sol *pool;
	bool search;
	size_t t0;          /* the type of the first node, for try_first_fill */
	struct sol best;
	double best_cost;   /* to beat */
	bool found;
};

/* Pack the pool's pods: a first node of type r->t0 running pat[0..n) when n > 0, then
 * construct with type `first` preferred; keep it when it is the cheapest so far. */
static void repack_attempt(struct repack_try *r, const struct item *pat, size_t n, size_t first)
{
	const struct problem *k = r->k;
	struct sol t;
	sol_init(&t, k);
	memcpy(t.used, r->pool->used, k->nt * sizeof *t.used);
	memcpy(t.rem, r->pool->rem, k->ng * sizeof *t.rem);
	if (n) {
		struct node *nd = sol_new_node(&t, r->t0);
		for (size_t i = 0; i < n; i++) {
			node_add(k, nd, pat[i].g, pat[i].k);
			t.rem[pat[i].g] -= pat[i].k;
		}
	}
	construct(k, first, r->search, &t);
	double cost = 0;
	for (size_t i = 0; i < t.n; i++)
		cost += k->price[t.nodes[i].type];
	if (sol_unplaced(k, &t) == 0 && cost < r->best_cost) {
		if (r->found)
			sol_release(&r->best);
		r->best = t;
		r->best_cost = cost;
		r->found = true;
	} else {
		sol_release(&t);
	}
}

static void try_first_fill(struct fill_search *f)
{
	repack_attempt(f->arg, f->cur, f->ncur, SIZE_MAX);
}

/* Pool the pods of the nodes idx[0..n) and pack them again from every start; keep the
 * cheapest packing when it costs less than those nodes. lookahead (small problems, the
 * whole solution): also every maximal fill of a first node of each type, the rest packed
 * after it — the greedy fills node by node by value and misses packings where the first
 * node must take a mix that only pays off on the nodes after it. */
static bool repack(const struct problem *k, struct sol *s, const size_t *idx, size_t n, bool search,
		   bool lookahead)
{
	if (*k->work <= 0)
		return false;
	struct sol pool;
	sol_init(&pool, k);
	memcpy(pool.used, s->used, k->nt * sizeof *pool.used);
	double old = 0;
	for (size_t i = 0; i < n; i++) {
		const struct node *nd = &s->nodes[idx[i]];
		old += k->price[nd->type];
		pool.used[nd->type]--;
		for (size_t j = 0; j < nd->n; j++)
			pool.rem[nd->it[j].g] += nd->it[j].k;
	}
	struct repack_try r = {.k = k, .pool = &pool, .search = search,
			       .best_cost = old - PRICE_EPS};
	for (size_t f = 0; f <= k->nt; f++) {
		size_t first = f == k->nt ? SIZE_MAX : f;
		if (first == SIZE_MAX || type_room(k, pool.used, first))
			repack_attempt(&r, NULL, 0, first);
	}
	struct item *cur = lookahead ? ks_calloc(k->ng + 1, sizeof *cur) : NULL;
	for (size_t t = 0; lookahead && t < k->nt && *k->work > 0; t++) {
		if (!type_room(k, pool.used, t))
			continue;
		r.t0 = t;
		struct fill_search f = {.k = k, .rem = pool.rem, .ord = k->order + t * k->ng,
					.n_ord = k->n_order[t], .cur = cur,
					.leaves = LOOKAHEAD_LEAVES, .each = try_first_fill,
					.arg = &r};
		fill_dfs(&f, 0, k->cap_cpu[t], k->cap_mem[t], k->cap_pods[t], 0);
	}
	free(cur);
	sol_release(&pool);
	if (!r.found)
		return false;
	struct sol best = r.best;
	for (size_t i = 0; i < n; i++) {
		struct node *nd = &s->nodes[idx[i]];
		nd->dead = true;
		s->used[nd->type]--;
	}
	for (size_t i = 0; i < best.n; i++) {
		s->nodes = ks_grow(s->nodes, sizeof *s->nodes, s->n + 1, &s->cap);
		s->nodes[s->n++] = best.nodes[i];
		s->used[best.nodes[i].type]++;
	}
	best.n = 0; /* the items moved to s */
	sol_release(&best);
	return true;
}

/* Re-pack pairs (and, when `triples`, triples) of the least-used nodes. */
static bool repack_pass(const struct problem *k, struct sol *s, size_t lim, bool triples)
{
	size_t na;
	struct util_ix *v = by_util(k, s, &na);
	if (lim > na)
		lim = na;
	bool changed = false;
	if (triples && na <= REPACK_ALL_NODES) {
		size_t idx[REPACK_ALL_NODES];
		for (size_t i = 0; i < na; i++)
			idx[i] = v[i].i;
		if (na > 1 && repack(k, s, idx, na, triples, false)) {
			free(v);
			return true;
		}
	}
	for (size_t a = 0; a < lim; a++)
		for (size_t b = a + 1; b < lim; b++) {
			if (s->nodes[v[a].i].dead || s->nodes[v[b].i].dead)
				continue;
			size_t idx[3] = {v[a].i, v[b].i, 0};
			if (repack(k, s, idx, 2, triples, false)) {
				changed = true;
				continue;
			}
			for (size_t c = b + 1; triples && c < lim; c++) {
				if (s->nodes[v[c].i].dead)
					continue;
				idx[2] = v[c].i;
				if (repack(k, s, idx, 3, triples, false)) {
					changed = true;
					break;
				}
			}
		}
	free(v);
	return changed;
}

static void improve(const struct problem *k, struct sol *s, bool full)
{
	for (int r = 0; r < IMPROVE_ROUNDS; r++) {
		bool c = downsize(k, s);
		c |= eliminate(k, s);
		c |= merge_pairs(k, s);
		c |= repack_pass(k, s, full ? REPACK_CANDIDATES_SMALL : REPACK_CANDIDATES,
				 full);
		c |= downsize(k, s);
		if (!c)
			break;
	}
	s->cost = sol_cost(k, s);
}

/* Small problems, once the best start is known: re-pack its whole solution (at most
 * REPACK_ALL_NODES nodes) with repack's lookahead, and improve again when that won. Last
 * and with a budget of its own, so it never changes what the starts find, only beats it. */
static void lookahead_pass(struct problem *k, struct sol *s)
{
	size_t na;
	struct util_ix *v = by_util(k, s, &na);
	size_t idx[REPACK_ALL_NODES];
	for (size_t i = 0; i < na && i < REPACK_ALL_NODES; i++)
		idx[i] = v[i].i;
	free(v);
	if (na == 0 || na > REPACK_ALL_NODES)
		return;
	long work = LOOKAHEAD_BUDGET, *starts_work = k->work;
	k->work = &work;
	if (repack(k, s, idx, na, true, true))
		improve(k, s, true);
	k->work = starts_work;
}

/* ---- the result --------------------------------------------------------------------- */

static int cmp_nodes(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	if (x->dead != y->dead)
		return x->dead ? 1 : -1;
	if (x->type != y->type)
		return (x->type > y->type) - (x->type < y->type);
	if (x->n != y->n)
		return (x->n > y->n) - (x->n < y->n);
	for (size_t i = 0; i < x->n; i++) {
		if (x->it[i].g != y->it[i].g)
			return (x->it[i].g > y->it[i].g) - (x->it[i].g < y->it[i].g);
		if (x->it[i].k != y->it[i].k)
			return (x->it[i].k > y->it[i].k) - (x->it[i].k < y->it[i].k);
	}
	return 0;
}

static void compress_solution(const struct problem *k, struct sol *s, struct cost_pack_result *out)
{
	if (s->n)
		qsort(s->nodes, s->n, sizeof *s->nodes, cmp_nodes);
	size_t shape_cap = 0, pl_cap = 0;
	out->nodes_per_type = ks_calloc(k->nt, sizeof *out->nodes_per_type);
	for (size_t i = 0; i < s->n && !s->nodes[i].dead;) {
		size_t j = i + 1;
		while (j < s->n && !s->nodes[j].dead && !cmp_nodes(&s->nodes[i], &s->nodes[j]))
			j++;
		const struct node *n = &s->nodes[i];
		out->shapes = ks_grow(out->shapes, sizeof *out->shapes, out->n_shapes + 1,
				      &shape_cap);
		out->shapes[out->n_shapes++] = (struct cost_pack_shape){
			.type = n->type, .nodes = (int64_t)(j - i), .first = out->n_placements,
			.n = n->n};
		out->placements = ks_grow(out->placements, sizeof *out->placements,
					  out->n_placements + n->n + 1, &pl_cap);
		for (size_t p = 0; p < n->n; p++)
			out->placements[out->n_placements++] = (struct cost_pack_placement){
				.group = n->it[p].g, .pods = n->it[p].k};
		out->nodes_per_type[n->type] += (int64_t)(j - i);
		out->nodes += (int64_t)(j - i);
		i = j;
	}
	out->hourly_usd = sol_cost(k, s);
	size_t ucap = 0;
	for (size_t g = 0; g < k->ng; g++) {
		int64_t left = k->placeable[g] ? s->rem[g] : k->g[g].count;
		if (left == 0)
			continue;
		out->unplaced = ks_grow(out->unplaced, sizeof *out->unplaced, out->n_unplaced + 1,
					&ucap);
		out->unplaced[out->n_unplaced++] = (struct cost_pack_unplaced){
			.group = g, .pods = left,
			.reason = k->placeable[g] ? COST_PACK_NO_CAPACITY : COST_PACK_TOO_BIG};
		out->unplaced_pods += left;
	}
}

/* is a better than b: fewer unplaced pods, then cheaper */
static bool sol_better(const struct problem *k, const struct sol *a, const struct sol *b)
{
	int64_t ua = sol_unplaced(k, a), ub = sol_unplaced(k, b);
	if (ua != ub)
		return ua < ub;
	return a->cost < b->cost - PRICE_EPS;
}

/* best = the better of best and s (best->used is NULL before the first); frees the other */
static void keep_better(const struct problem *k, struct sol *best, struct sol *s)
{
	if (!best->used || sol_better(k, s, best)) {
		sol_release(best);
		*best = *s;
	} else {
		sol_release(s);
	}
}

/* One start: construct (from the LP's split when assign is not NULL, rounding as
 * construct_lp; else greedy, with type `first` preferred), improve when full, keep the
 * better of it and best. */
static void run_start(const struct problem *k, const double *assign, double round_down,
		      size_t first, bool full, struct sol *best)
{
	struct sol s;
	sol_start(k, &s);
	if (assign)
		construct_lp(k, assign, round_down, &s);
	else
		construct(k, first, false, &s);
	if (full)
		improve(k, &s, full);
	keep_better(k, best, &s);
}

/* Every start (pack.h), the best into *best. duals NULL: the LP failed; only the greedy
 * with the proxy values and the per-type starts run. */
static void run_starts(struct problem *k, const double *duals, const double *assign, bool full,
		       struct sol *best)
{
	double *proxy = ks_calloc(k->ng + 1, sizeof *proxy);
	memcpy(proxy, k->value, k->ng * sizeof *proxy);
	for (int pass = 0; pass < (duals ? 2 : 1); pass++) {
		/* pass 0: the proxy values; pass 1: the LP's duals (ties by the proxy) */
		for (size_t g = 0; g < k->ng && pass; g++)
			k->value[g] = (duals[g] > 0 ? duals[g] : 0) + 1e-9 * proxy[g];
		for (int by_density = 0; by_density < 2; by_density++) {
			make_orders(k, by_density);
			run_start(k, NULL, 0, SIZE_MAX, full, best);
			for (int round = 0; round < 2 && pass; round++)
				run_start(k, assign, round ? 0.5 : 1e-9, SIZE_MAX, full, best);
		}
	}
	/* first-fit decreasing, one type preferred: every type for small problems, else those
	 * the LP kept (with 877 types the others cost 0.5 s and never won) */
	memcpy(k->value, proxy, k->ng * sizeof *proxy);
	make_orders(k, false);
	for (size_t t = 0; t < k->nt; t++)
		if (k->cap_pods[t] > 0 && k->max_nodes[t] != 0 && k->n_order[t] > 0 &&
		    (full || !k->lp_skip[t]))
			run_start(k, NULL, 0, t, full, best);
	free(proxy);
}

/* ---- entry points ------------------------------------------------------------------- */

int cost_pack_solve(const struct cost_pack_input *in, struct cost_pack_result *out,
		    struct ks_err *err)
{
	*out = (struct cost_pack_result){.gap = NAN};
	int rc = validate(in, err);
	if (rc)
		return rc;
	int64_t t0 = ks_mono_ms();
	struct problem k;
	problem_init(&k, in); /* counted with the LP: it finds the types the LP can leave out */
	double *duals = ks_calloc(k.ng + 1, sizeof *duals);
	struct ks_err lperr = {0};
	double bound = 0;
	double *assign = ks_calloc(k.ng * k.nt + 1, sizeof *assign);
	int lrc = solve_lp(&k, &bound, duals, assign, 0, &lperr);
	if (lrc == 0) {
		out->bound_status = COST_PACK_BOUND_OK;
		out->lower_bound_usd_hr = bound;
	} else {
		out->bound_status = lrc == KS_EINVAL ? COST_PACK_BOUND_INFEASIBLE
						     : COST_PACK_BOUND_NONE;
		snprintf(out->bound_error, sizeof out->bound_error, "%s", lperr.msg);
	}
	int64_t t1 = ks_mono_ms();
	out->bound_ms = (double)(t1 - t0);

	int64_t total = 0;
	for (size_t g = 0; g < k.ng; g++)
		total += k.placeable[g] ? k.g[g].count : 0;
	bool full = total <= FULL_SEARCH_PODS && k.ng * k.nt <= FULL_SEARCH_PAIRS;
	long work = WORK_BUDGET;
	k.work = &work;

	struct sol best = {0};
	run_starts(&k, lrc == 0 ? duals : NULL, assign, full, &best);
	if (full)
		lookahead_pass(&k, &best);
	else
		improve(&k, &best, full);
	free(duals);
	free(assign);
	compress_solution(&k, &best, out);
	sol_release(&best);
	out->heuristic_ms = (double)(ks_mono_ms() - t1);
	if (out->bound_status == COST_PACK_BOUND_OK && out->unplaced_pods == 0 && bound > 0)
		out->gap = (out->hourly_usd - bound) / bound;
	else if (out->bound_status == COST_PACK_BOUND_OK && out->unplaced_pods == 0)
		out->gap = 0;
	problem_release(&k);
	return 0;
}

void cost_pack_result_release(struct cost_pack_result *r)
{
	if (!r)
		return;
	free(r->nodes_per_type);
	free(r->shapes);
	free(r->placements);
	free(r->unplaced);
	*r = (struct cost_pack_result){.gap = NAN};
}

int cost_pack_lower_bound(const struct cost_pack_input *in, double *bound, struct ks_err *err)
{
	int rc = validate(in, err);
	if (rc)
		return rc;
	struct problem k;
	problem_init(&k, in);
	rc = solve_lp(&k, bound, NULL, NULL, 0, err);
	problem_release(&k);
	return rc;
}

int cost_pack_integer_bound(const struct cost_pack_input *in, int time_limit_ms, double *bound,
			    struct ks_err *err)
{
	int rc = validate(in, err);
	if (rc)
		return rc;
	struct problem k;
	problem_init(&k, in);
	rc = solve_lp(&k, bound, NULL, NULL, time_limit_ms > 0 ? time_limit_ms : 1, err);
	problem_release(&k);
	return rc;
}

/* The maximal patterns of one type, enumerated depth-first: how many pods of each group one
 * node holds (at most its cap per node), no group able to take one more. */
struct patterns {
	const struct problem *k;
	size_t t;
	int64_t *cur;     /* [ng] the pattern being built */
	int64_t *a;       /* [n][ng] the patterns found */
	size_t *type;     /* [n] */
	size_t n, cap, cap_t, max;
	bool too_many;
};

static void enum_patterns(struct patterns *e, size_t g, int64_t cpu, int64_t mem, int64_t pods)
{
	const struct problem *k = e->k;
	if (e->too_many)
		return;
	if (g == k->ng) {
		bool any = false;
		for (size_t h = 0; h < k->ng; h++) {
			any |= e->cur[h] > 0;
			if (e->cur[h] < k->g[h].count && e->cur[h] < group_cap(k, h) && pods >= 1 &&
			    k->g[h].cpu_millis <= cpu && k->g[h].memory_bytes <= mem &&
			    may_run(k, h, e->t))
				return; /* not maximal */
		}
		if (!any)
			return;
		if (e->n == e->max) {
			e->too_many = true;
			return;
		}
		e->a = ks_grow(e->a, k->ng * sizeof *e->a, e->n + 1, &e->cap);
		e->type = ks_grow(e->type, sizeof *e->type, e->n + 1, &e->cap_t);
		memcpy(e->a + e->n * k->ng, e->cur, k->ng * sizeof *e->cur);
		e->type[e->n++] = e->t;
		return;
	}
	const struct cost_pack_group *gr = &k->g[g];
	int64_t most = gr->count < pods ? gr->count : pods;
	if (group_cap(k, g) < most)
		most = group_cap(k, g);
	if (gr->cpu_millis > 0 && cpu / gr->cpu_millis < most)
		most = cpu / gr->cpu_millis;
	if (gr->memory_bytes > 0 && mem / gr->memory_bytes < most)
		most = mem / gr->memory_bytes;
	if (!may_run(k, g, e->t))
		most = 0;
	for (int64_t c = most; c >= 0; c--) {
		e->cur[g] = c;
		enum_patterns(e, g + 1, cpu - c * gr->cpu_millis, mem - c * gr->memory_bytes,
			      pods - c);
	}
	e->cur[g] = 0;
}

int cost_pack_exact(const struct cost_pack_input *in, double upper_usd_hr, int time_limit_ms,
		    size_t max_vars, double *optimum, int64_t *nodes_per_type, struct ks_err *err)
{
	int rc = validate(in, err);
	if (rc)
		return rc;
	struct problem k;
	problem_init(&k, in);
	size_t ng = k.ng, nt = k.nt;
	for (size_t g = 0; g < ng; g++)
		if (!k.placeable[g] && k.g[g].count > 0) {
			rc = ks_err_set(err, KS_EINVAL,
					"exact packing: pod group %zu '%s' fits no type%s", g,
					k.g[g].name ? k.g[g].name : "",
					k.allowed ? " it is allowed on" : "");
			problem_release(&k);
			return rc;
		}
	if (ng > EXACT_MAX_GROUPS) { /* the enumeration recurses once per group */
		rc = ks_err_set(err, KS_ETOOBIG, "exact packing: %zu pod groups, over the %d limit",
				ng, EXACT_MAX_GROUPS);
		problem_release(&k);
		return rc;
	}
	struct patterns e = {.k = &k, .cur = ks_calloc(ng + 1, sizeof *e.cur), .max = max_vars};
	for (size_t t = 0; t < nt && !e.too_many; t++) {
		if (k.cap_pods[t] <= 0 || k.max_nodes[t] == 0)
			continue;
		e.t = t;
		enum_patterns(&e, 0, k.cap_cpu[t], k.cap_mem[t], k.cap_pods[t]);
	}
	if (e.too_many) {
		rc = ks_err_set(err, KS_ETOOBIG, "exact packing: more than %zu node patterns",
				max_vars);
		goto out_patterns;
	}
	int64_t total = 0;
	for (size_t g = 0; g < ng; g++)
		total += k.g[g].count;
	if (total == 0) {
		*optimum = 0;
		if (nodes_per_type)
			memset(nodes_per_type, 0, nt * sizeof *nodes_per_type);
		goto out_patterns;
	}

	/* min sum p_t x_p, sum_p a_gp x_p >= n_g, sum_{p of t} x_p <= cap_t, x_p integer */
	int prev_out = glp_term_out(GLP_OFF);
	glp_prob *mip = glp_create_prob();
	glp_set_obj_dir(mip, GLP_MIN);
	glp_add_rows(mip, (int)ng);
	for (size_t g = 0; g < ng; g++)
		glp_set_row_bnds(mip, (int)g + 1, GLP_LO, (double)k.g[g].count, 0);
	int *cap_row = ks_calloc(nt, sizeof *cap_row);
	for (size_t t = 0; t < nt; t++)
		if (k.max_nodes[t] > 0) {
			cap_row[t] = glp_add_rows(mip, 1);
			glp_set_row_bnds(mip, cap_row[t], GLP_UP, 0, (double)k.max_nodes[t]);
		}
	size_t nzmax = e.n * (ng + 1) + 1;
	int *ia = ks_calloc(nzmax, sizeof *ia), *ja = ks_calloc(nzmax, sizeof *ja);
	double *ar = ks_calloc(nzmax, sizeof *ar);
	size_t nnz = 0;
	glp_add_cols(mip, (int)e.n);
	for (size_t p = 0; p < e.n; p++) {
		int col = (int)p + 1;
		size_t t = e.type[p];
		glp_set_col_kind(mip, col, GLP_IV);
		glp_set_obj_coef(mip, col, k.price[t]);
		double most = floor(upper_usd_hr / k.price[t] + 1e-9);
		if (upper_usd_hr > 0)
			glp_set_col_bnds(mip, col, most >= 1 ? GLP_DB : GLP_FX, 0,
					 most >= 1 ? most : 0);
		else
			glp_set_col_bnds(mip, col, GLP_LO, 0, 0);
		for (size_t g = 0; g < ng; g++)
			if (e.a[p * ng + g]) {
				nnz++;
				ia[nnz] = (int)g + 1;
				ja[nnz] = col;
				ar[nnz] = (double)e.a[p * ng + g];
			}
		if (cap_row[t]) {
			nnz++;
			ia[nnz] = cap_row[t];
			ja[nnz] = col;
			ar[nnz] = 1.0;
		}
	}
	glp_load_matrix(mip, (int)nnz, ia, ja, ar);
	glp_iocp parm;
	glp_init_iocp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.presolve = GLP_ON;
	parm.tm_lim = time_limit_ms > 0 ? time_limit_ms : 1;
	int src = glp_intopt(mip, &parm);
	int st = glp_mip_status(mip);
	if (src == GLP_ETMLIM || (src == 0 && st == GLP_FEAS)) {
		rc = ks_err_set(err, KS_ETIMEOUT, "exact packing: no proof within %d ms",
				time_limit_ms);
	} else if (src == GLP_ENOPFS || st == GLP_NOFEAS) {
		rc = ks_err_set(err, KS_EINVAL, "exact packing: no packing holds every pod%s",
				upper_usd_hr > 0 ? " at that cost" : "");
	} else if (src || st != GLP_OPT) {
		rc = ks_err_set(err, KS_EIO, "exact packing: GLPK failed (code %d, status %d)",
				src, st);
	} else {
		double cost = 0;
		if (nodes_per_type)
			memset(nodes_per_type, 0, nt * sizeof *nodes_per_type);
		for (size_t p = 0; p < e.n; p++) {
			int64_t x = (int64_t)llround(glp_mip_col_val(mip, (int)p + 1));
			cost += (double)x * k.price[e.type[p]];
			if (nodes_per_type)
				nodes_per_type[e.type[p]] += x;
		}
		*optimum = cost;
	}
	glp_delete_prob(mip);
	glp_term_out(prev_out);
	free(ia);
	free(ja);
	free(ar);
	free(cap_row);
out_patterns:
	free(e.cur);
	free(e.a);
	free(e.type);
	problem_release(&k);
	return rc;
}
