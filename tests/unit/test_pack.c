/* test_pack.c — node-mix packing (src/cost/pack.c): hand-checkable cases (one type, a price
 * crossover between two types, cpu- vs memory-bound pods, DaemonSet overhead, max pods,
 * pods too big for every type, availability caps), groups allowed only on some types (the
 * allowed matrix: never placed elsewhere, sharing nodes, unplaced when allowed on nothing
 * they fit, kept types the pruning would drop), caps on pods per node (anti-affinity, a
 * spread group sharing nodes; never more than the cap on a node), bad input, and seeded
 * random small cases (with and without matrices and caps) where the heuristic must equal
 * GLPK's exact MIP optimum and the LP bound must stay below. */
#include "testutil.h"

#include "cost/catalog.h"
#include "cost/pack.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GIB (1024LL * 1048576LL)

static struct cost_instance_type mk_type(const char *name, int64_t cpu_millis, int64_t mem_mib,
					 int max_pods)
{
	return (struct cost_instance_type){.name = name, .alloc_cpu_millis = cpu_millis,
					   .alloc_memory_mib = mem_mib, .max_pods = max_pods};
}

/* every pod placed once, on a type its group is allowed on, never more of a group on one
 * node than its cap, no node over its type's allocatable, counts and cost consistent */
static void check_result(const struct cost_pack_input *in, const struct cost_pack_result *r)
{
	int64_t *placed = calloc(in->n_groups + 1, sizeof *placed);
	int64_t nodes = 0;
	double cost = 0;
	for (size_t s = 0; s < r->n_shapes; s++) {
		const struct cost_pack_shape *sh = &r->shapes[s];
		const struct cost_instance_type *it = in->types[sh->type].it;
		int64_t cpu = in->overhead_cpu_millis, mem = in->overhead_memory_bytes;
		int64_t pods = in->overhead_pods;
		for (size_t p = sh->first; p < sh->first + sh->n; p++) {
			const struct cost_pack_placement *pl = &r->placements[p];
			if (in->allowed && !in->allowed[pl->group * in->n_types + sh->type])
				fail_msg("group %zu placed on type %zu, where it is not allowed",
					 pl->group, sh->type);
			int64_t cap = in->groups[pl->group].max_per_node;
			if (cap > 0 && pl->pods > cap)
				fail_msg("%lld pods of group %zu on one node, over its cap %lld",
					 (long long)pl->pods, pl->group, (long long)cap);
			cpu += pl->pods * in->groups[pl->group].cpu_millis;
			mem += pl->pods * in->groups[pl->group].memory_bytes;
			pods += pl->pods;
			placed[pl->group] += pl->pods * sh->nodes;
		}
		assert_true(cpu <= it->alloc_cpu_millis);
		assert_true(mem <= it->alloc_memory_mib * 1048576LL);
		assert_true(pods <= it->max_pods);
		nodes += sh->nodes;
		cost += (double)sh->nodes * in->types[sh->type].price_usd_hr;
	}
	for (size_t u = 0; u < r->n_unplaced; u++)
		placed[r->unplaced[u].group] += r->unplaced[u].pods;
	for (size_t g = 0; g < in->n_groups; g++)
		assert_int_equal(placed[g], in->groups[g].count);
	assert_int_equal(nodes, r->nodes);
	assert_true(fabs(cost - r->hourly_usd) < 1e-9);
	if (r->bound_status == COST_PACK_BOUND_OK && r->unplaced_pods == 0)
		assert_true(r->lower_bound_usd_hr <= r->hourly_usd + 1e-9);
	free(placed);
}

static void solve(const struct cost_pack_input *in, struct cost_pack_result *r)
{
	struct ks_err e = {0};
	int rc = cost_pack_solve(in, r, &e);
	if (rc)
		fail_msg("%s", e.msg);
	check_result(in, r);
}

static double exact(const struct cost_pack_input *in, double upper, int64_t *per_type)
{
	struct ks_err e = {0};
	double opt = -1;
	int rc = cost_pack_exact(in, upper, 10000, 200000, &opt, per_type, &e);
	if (rc)
		fail_msg("exact: %d %s\n", rc, e.msg);
	return opt;
}

static void one_type(void **state)
{
	(void)state;
	struct cost_instance_type a = mk_type("a.xlarge", 4000, 16384, 110);
	struct cost_pack_type types[] = {{.it = &a, .price_usd_hr = 1.0, .max_nodes = -1}};
	struct cost_pack_group groups[] = {{.name = "web", .cpu_millis = 1000,
					    .memory_bytes = GIB, .count = 10}};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 1};
	struct cost_pack_result r;
	solve(&in, &r);
	/* 4 + 4 + 2 pods: 3 nodes; the LP covers 10 cores with 2.5 nodes */
	assert_int_equal(r.nodes, 3);
	assert_true(fabs(r.hourly_usd - 3.0) < 1e-9);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_OK);
	assert_true(fabs(r.lower_bound_usd_hr - 2.5) < 1e-6);
	assert_true(fabs(r.gap - 0.2) < 1e-6);
	assert_int_equal(r.n_shapes, 2); /* 2 nodes x 4 pods, 1 node x 2 pods */
	assert_int_equal(r.unplaced_pods, 0);
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - 3.0) < 1e-9);
	double b = 0;
	assert_int_equal(cost_pack_lower_bound(&in, &b, NULL), 0);
	assert_true(fabs(b - 2.5) < 1e-6);
	cost_pack_result_release(&r);
	cost_pack_result_release(&r); /* released twice is fine */
}

/* the large type is cheaper per core, the small one wins for few pods */
static void price_crossover(void **state)
{
	(void)state;
	struct cost_instance_type s = mk_type("s.large", 2000, 8192, 110);
	struct cost_instance_type l = mk_type("l.2xlarge", 8000, 32768, 110);
	struct cost_pack_type types[] = {
		{.it = &s, .price_usd_hr = 0.10, .max_nodes = -1},
		{.it = &l, .price_usd_hr = 0.35, .max_nodes = -1},
	};
	struct cost_pack_group groups[] = {{.cpu_millis = 1000, .memory_bytes = GIB}};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 2};
	/* pods -> expected small, large nodes */
	static const struct {
		int64_t pods, small, large;
	} cases[] = {{2, 1, 0}, {3, 2, 0}, {6, 3, 0}, {7, 0, 1}, {8, 0, 1},
		     {9, 1, 1}, {16, 0, 2}, {17, 1, 2}, {40, 0, 5}};
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		groups[0].count = cases[i].pods;
		struct cost_pack_result r;
		solve(&in, &r);
		double want = 0.10 * (double)cases[i].small + 0.35 * (double)cases[i].large;
		if (fabs(r.hourly_usd - want) > 1e-9)
			fail_msg("%lld pods: $%.4f, want $%.4f", (long long)cases[i].pods,
				 r.hourly_usd, want);
		assert_int_equal(r.nodes_per_type[0], cases[i].small);
		assert_int_equal(r.nodes_per_type[1], cases[i].large);
		assert_true(fabs(exact(&in, r.hourly_usd, NULL) - want) < 1e-9);
		/* the LP fills large nodes fractionally: s.large is left out of it (l.2xlarge
		 * offers more of everything per dollar) and the bound stays 0.35 / 8 a core */
		assert_true(fabs(r.lower_bound_usd_hr - 0.35 * (double)cases[i].pods / 8) < 1e-9);
		/* with whole nodes the bound is the optimum here: the LP's fraction of a large
		 * node costs whole, and the small type (left out of the LP) comes back */
		double ib = 0;
		struct ks_err err = {0};
		assert_int_equal(cost_pack_integer_bound(&in, 5000, &ib, &err), 0);
		if (fabs(ib - want) > 1e-9)
			fail_msg("%lld pods: integer bound $%.4f, want $%.4f",
				 (long long)cases[i].pods, ib, want);
		cost_pack_result_release(&r);
	}
}

/* cpu-heavy pods on the compute type, memory-heavy ones on the memory type */
static void cpu_vs_memory(void **state)
{
	(void)state;
	struct cost_instance_type c = mk_type("c.xlarge", 4000, 8192, 58);
	struct cost_instance_type m = mk_type("r.large", 2000, 16384, 29);
	struct cost_pack_type types[] = {
		{.it = &c, .price_usd_hr = 0.17, .max_nodes = -1},
		{.it = &m, .price_usd_hr = 0.126, .max_nodes = -1},
	};
	struct cost_pack_group groups[] = {
		{.name = "cpu", .cpu_millis = 1000, .memory_bytes = GIB, .count = 8},
		{.name = "mem", .cpu_millis = 250, .memory_bytes = 4 * GIB, .count = 8},
	};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 2};
	struct cost_pack_result r;
	solve(&in, &r); /* cpu pods alone: 2 compute nodes */
	assert_int_equal(r.nodes_per_type[0], 2);
	assert_int_equal(r.nodes_per_type[1], 0);
	cost_pack_result_release(&r);

	in.groups = groups + 1; /* memory pods alone: 16 GiB each on 2 memory nodes */
	solve(&in, &r);
	assert_int_equal(r.nodes_per_type[0], 0);
	assert_int_equal(r.nodes_per_type[1], 2);
	cost_pack_result_release(&r);

	in.groups = groups;
	in.n_groups = 2;
	solve(&in, &r);
	assert_true(fabs(r.hourly_usd - (2 * 0.17 + 2 * 0.126)) < 1e-9);
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - r.hourly_usd) < 1e-9);
	cost_pack_result_release(&r);
}

static void daemonset_overhead(void **state)
{
	(void)state;
	struct cost_instance_type a = mk_type("a.xlarge", 4000, 16384, 110);
	struct cost_pack_type types[] = {{.it = &a, .price_usd_hr = 0.2, .max_nodes = -1}};
	struct cost_pack_group groups[] = {{.cpu_millis = 1000, .memory_bytes = GIB, .count = 4}};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 1};
	struct cost_pack_result r;
	solve(&in, &r);
	assert_int_equal(r.nodes, 1);
	cost_pack_result_release(&r);
	/* 200m of DaemonSets leave 3,800m: 3 pods a node */
	in.overhead_cpu_millis = 200;
	in.overhead_memory_bytes = GIB / 2;
	in.overhead_pods = 3;
	solve(&in, &r);
	assert_int_equal(r.nodes, 2);
	assert_int_equal(r.n_shapes, 2);
	/* one node holds 3 of these pods, so the LP's count row asks 4/3 nodes (the cpu rows
	 * alone would ask 4000/3800) */
	assert_true(fabs(r.lower_bound_usd_hr - 0.2 * 4 / 3) < 1e-6);
	cost_pack_result_release(&r);
	/* overhead bigger than the node: nothing fits */
	in.overhead_cpu_millis = 5000;
	solve(&in, &r);
	assert_int_equal(r.nodes, 0);
	assert_int_equal(r.unplaced_pods, 4);
	assert_int_equal(r.unplaced[0].reason, COST_PACK_TOO_BIG);
	cost_pack_result_release(&r);
}

static void max_pods_binding(void **state)
{
	(void)state;
	struct cost_instance_type a = mk_type("a.2xlarge", 8000, 32768, 10);
	struct cost_pack_type types[] = {{.it = &a, .price_usd_hr = 0.4, .max_nodes = -1}};
	struct cost_pack_group groups[] = {{.cpu_millis = 10, .memory_bytes = 64 << 20,
					    .count = 20}};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 1, .overhead_pods = 2};
	struct cost_pack_result r;
	solve(&in, &r);
	/* 8 pod slots a node: 8 + 8 + 4 */
	assert_int_equal(r.nodes, 3);
	assert_true(fabs(r.lower_bound_usd_hr - 0.4 * 20 / 8) < 1e-6);
	cost_pack_result_release(&r);

	/* pods that request nothing still take a slot */
	groups[0] = (struct cost_pack_group){.count = 24};
	solve(&in, &r);
	assert_int_equal(r.nodes, 3);
	assert_true(fabs(r.lower_bound_usd_hr - 1.2) < 1e-6);
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - 1.2) < 1e-9);
	cost_pack_result_release(&r);

	/* the exact solver refuses a model over its pattern limit */
	struct ks_err e = {0};
	double opt;
	/* 8 slots: (8, 0), (7, 1) ... (0, 8) are the maximal patterns */
	struct cost_pack_group two[] = {{.cpu_millis = 100, .count = 8},
					{.cpu_millis = 200, .count = 8}};
	in.groups = two;
	in.n_groups = 2;
	assert_int_equal(cost_pack_exact(&in, 0, 1000, 8, &opt, NULL, &e), KS_ETOOBIG);
	assert_string_equal(e.msg, "exact packing: more than 8 node patterns");
	assert_int_equal(cost_pack_exact(&in, 0, 1000, 9, &opt, NULL, &e), 0);
	assert_true(fabs(opt - 0.8) < 1e-9);
}

static void too_big_and_caps(void **state)
{
	(void)state;
	struct cost_instance_type s = mk_type("s.large", 2000, 8192, 110);
	struct cost_instance_type l = mk_type("l.2xlarge", 8000, 32768, 110);
	struct cost_pack_type types[] = {
		{.it = &s, .price_usd_hr = 0.10, .max_nodes = -1},
		{.it = &l, .price_usd_hr = 0.35, .max_nodes = 1},
	};
	struct cost_pack_group groups[] = {
		{.name = "huge", .cpu_millis = 16000, .memory_bytes = GIB, .count = 2},
		{.name = "big", .cpu_millis = 3000, .memory_bytes = GIB, .count = 3},
		{.name = "small", .cpu_millis = 500, .memory_bytes = GIB, .count = 4},
	};
	struct cost_pack_input in = {.groups = groups, .n_groups = 3, .types = types,
				     .n_types = 2};
	struct cost_pack_result r;
	solve(&in, &r);
	/* "huge" fits nothing; two "big" fit the one large node, one is left for lack of
	 * capacity; the four small pods fill the large node's last 2,000m */
	assert_int_equal(r.unplaced_pods, 3);
	assert_int_equal(r.n_unplaced, 2);
	assert_int_equal(r.unplaced[0].group, 0);
	assert_int_equal(r.unplaced[0].reason, COST_PACK_TOO_BIG);
	assert_int_equal(r.unplaced[1].group, 1);
	assert_int_equal(r.unplaced[1].pods, 1);
	assert_int_equal(r.unplaced[1].reason, COST_PACK_NO_CAPACITY);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_INFEASIBLE);
	assert_contains(r.bound_error, "infeasible");
	assert_true(isnan(r.gap));
	assert_int_equal(r.nodes_per_type[1], 1);
	assert_int_equal(r.nodes_per_type[0], 0);
	cost_pack_result_release(&r);

	struct ks_err e = {0};
	double opt;
	assert_int_equal(cost_pack_exact(&in, 10, 1000, 10000, &opt, NULL, &e), KS_EINVAL);
	assert_string_equal(e.msg, "exact packing: pod group 0 'huge' fits no type");
	double b;
	assert_int_equal(cost_pack_lower_bound(&in, &b, &e), KS_EINVAL);
	assert_contains(e.msg, "infeasible");

	/* with room for two large nodes, everything but "huge" fits, and the bound holds */
	types[1].max_nodes = 2;
	solve(&in, &r);
	assert_int_equal(r.unplaced_pods, 2);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_OK);
	assert_true(isnan(r.gap)); /* pods unplaced: no gap */
	cost_pack_result_release(&r);
}

/* twins and dearer equals are never used; a cheaper but capped type is, up to its cap */
static void dominated_types(void **state)
{
	(void)state;
	struct cost_instance_type a = mk_type("a.large", 2000, 8192, 29);
	struct cost_instance_type twin = mk_type("twin.large", 2000, 8192, 29);
	struct cost_instance_type dear = mk_type("dear.large", 2000, 8192, 29);
	struct cost_instance_type capped = mk_type("capped.large", 2000, 8192, 29);
	struct cost_pack_type types[] = {
		{.it = &dear, .price_usd_hr = 0.12, .max_nodes = -1},
		{.it = &a, .price_usd_hr = 0.10, .max_nodes = -1},
		{.it = &twin, .price_usd_hr = 0.10, .max_nodes = -1},
		{.it = &capped, .price_usd_hr = 0.05, .max_nodes = 1},
	};
	struct cost_pack_group groups[] = {{.cpu_millis = 1000, .memory_bytes = GIB, .count = 6}};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 4};
	struct cost_pack_result r;
	solve(&in, &r);
	assert_int_equal(r.nodes_per_type[0], 0);
	assert_int_equal(r.nodes_per_type[1], 2);
	assert_int_equal(r.nodes_per_type[2], 0);
	assert_int_equal(r.nodes_per_type[3], 1);
	assert_true(fabs(r.hourly_usd - 0.25) < 1e-9);
	assert_true(fabs(r.lower_bound_usd_hr - 0.25) < 1e-6);
	assert_true(fabs(r.gap) < 1e-6);
	int64_t per_type[4];
	assert_true(fabs(exact(&in, 0, per_type) - 0.25) < 1e-9); /* no upper bound given */
	assert_int_equal(per_type[3], 1);
	assert_int_equal(per_type[1] + per_type[2], 2);
	cost_pack_result_release(&r);
}

/* the result's nodes of type t that run pods of group g */
static int64_t nodes_running(const struct cost_pack_result *r, size_t g, size_t t)
{
	int64_t n = 0;
	for (size_t s = 0; s < r->n_shapes; s++)
		for (size_t p = r->shapes[s].first; p < r->shapes[s].first + r->shapes[s].n; p++)
			if (r->shapes[s].type == t && r->placements[p].group == g)
				n += r->shapes[s].nodes;
	return n;
}

/* "amd" pods may only use the dearer amd64 type; the others go anywhere and share the amd64
 * node when that is cheaper than a node of their own */
static void allowed_sharing(void **state)
{
	(void)state;
	struct cost_instance_type arm = mk_type("arm.xlarge", 4000, 16384, 58);
	struct cost_instance_type amd = mk_type("amd.xlarge", 4000, 16384, 58);
	struct cost_pack_type types[] = {
		{.it = &arm, .price_usd_hr = 0.10, .max_nodes = -1},
		{.it = &amd, .price_usd_hr = 0.20, .max_nodes = -1},
	};
	struct cost_pack_group groups[] = {
		{.name = "amd", .cpu_millis = 1000, .memory_bytes = GIB, .count = 1},
		{.name = "any", .cpu_millis = 1000, .memory_bytes = GIB, .count = 3},
	};
	const uint8_t allowed[] = {0, 1, /* amd: amd.xlarge only */
				   1, 1};
	struct cost_pack_input in = {.groups = groups, .n_groups = 2, .types = types,
				     .n_types = 2};
	struct cost_pack_result r;
	solve(&in, &r); /* no matrix: one cheap node (amd.xlarge is dominated) */
	assert_int_equal(r.nodes_per_type[0], 1);
	assert_int_equal(r.nodes_per_type[1], 0);
	cost_pack_result_release(&r);

	in.allowed = allowed;
	solve(&in, &r); /* check_result: every placement allowed */
	assert_int_equal(r.nodes_per_type[0], 0);
	assert_int_equal(r.nodes_per_type[1], 1);
	assert_int_equal(nodes_running(&r, 1, 1), 1); /* the others share the amd64 node */
	assert_true(fabs(r.hourly_usd - 0.20) < 1e-9);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_OK);
	/* the LP: a quarter of an amd64 node for the one pod, 3/4 of an arm64 one */
	assert_true(fabs(r.lower_bound_usd_hr - (0.05 + 0.075)) < 1e-9);
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - 0.20) < 1e-9);
	cost_pack_result_release(&r);

	/* 7 others: 3 share the amd64 node, 4 fill an arm64 one */
	groups[1].count = 7;
	solve(&in, &r);
	assert_int_equal(r.nodes_per_type[0], 1);
	assert_int_equal(r.nodes_per_type[1], 1);
	assert_int_equal(nodes_running(&r, 0, 0), 0);
	assert_true(fabs(r.hourly_usd - 0.30) < 1e-9);
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - 0.30) < 1e-9);
	cost_pack_result_release(&r);

	/* 4 amd pods fill the amd64 node: the others get arm64 nodes of their own */
	groups[0].count = 4;
	groups[1].count = 8;
	solve(&in, &r);
	assert_int_equal(r.nodes_per_type[0], 2);
	assert_int_equal(r.nodes_per_type[1], 1);
	assert_int_equal(nodes_running(&r, 0, 1), 1);
	assert_int_equal(nodes_running(&r, 1, 1), 0);
	cost_pack_result_release(&r);
}

/* a group allowed on no type it fits is unplaced, TOO_BIG; the others are packed */
static void allowed_nowhere(void **state)
{
	(void)state;
	struct cost_instance_type s = mk_type("s.large", 2000, 8192, 29);
	struct cost_instance_type l = mk_type("l.2xlarge", 8000, 32768, 58);
	struct cost_pack_type types[] = {
		{.it = &s, .price_usd_hr = 0.10, .max_nodes = -1},
		{.it = &l, .price_usd_hr = 0.40, .max_nodes = -1},
	};
	struct cost_pack_group groups[] = {
		{.name = "big", .cpu_millis = 3000, .memory_bytes = GIB, .count = 2},
		{.name = "pinned", .cpu_millis = 500, .memory_bytes = GIB, .count = 3},
		{.name = "web", .cpu_millis = 500, .memory_bytes = GIB, .count = 4},
	};
	const uint8_t allowed[] = {1, 0, /* big: only s.large, which it does not fit */
				   0, 0, /* pinned: nowhere */
				   1, 1};
	struct cost_pack_input in = {.groups = groups, .n_groups = 3, .types = types,
				     .n_types = 2, .allowed = allowed};
	struct cost_pack_result r;
	solve(&in, &r);
	assert_int_equal(r.n_unplaced, 2);
	assert_int_equal(r.unplaced_pods, 5);
	assert_int_equal(r.unplaced[0].group, 0);
	assert_int_equal(r.unplaced[0].pods, 2);
	assert_int_equal(r.unplaced[0].reason, COST_PACK_TOO_BIG);
	assert_int_equal(r.unplaced[1].group, 1);
	assert_int_equal(r.unplaced[1].pods, 3);
	assert_int_equal(r.unplaced[1].reason, COST_PACK_TOO_BIG);
	assert_int_equal(r.nodes_per_type[0], 1); /* web: 4 x 500m on one s.large */
	assert_int_equal(r.nodes_per_type[1], 0);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_OK);
	assert_true(fabs(r.lower_bound_usd_hr - 0.10) < 1e-9);
	cost_pack_result_release(&r);

	struct ks_err e = {0};
	double opt;
	assert_int_equal(cost_pack_exact(&in, 0, 1000, 1000, &opt, NULL, &e), KS_EINVAL);
	assert_string_equal(e.msg,
			    "exact packing: pod group 0 'big' fits no type it is allowed on");
	double b;
	assert_int_equal(cost_pack_lower_bound(&in, &b, &e), 0); /* of the placeable pods */
	assert_true(fabs(b - 0.10) < 1e-9);
}

/* The pruning keeps a type some group needs: big.2xlarge beats small.large on every count
 * and covers it in the LP, but "pinned" may only use small.large. */
static void allowed_keeps_types(void **state)
{
	(void)state;
	struct cost_instance_type small = mk_type("small.large", 2000, 8192, 29);
	struct cost_instance_type big = mk_type("big.2xlarge", 8000, 32768, 58);
	struct cost_pack_type types[] = {
		{.it = &small, .price_usd_hr = 0.10, .max_nodes = -1},
		{.it = &big, .price_usd_hr = 0.09, .max_nodes = -1},
	};
	struct cost_pack_group groups[] = {
		{.name = "pinned", .cpu_millis = 1000, .memory_bytes = GIB, .count = 1},
		{.name = "web", .cpu_millis = 1000, .memory_bytes = GIB, .count = 8},
	};
	const uint8_t allowed[] = {1, 0, 1, 1};
	struct cost_pack_input in = {.groups = groups, .n_groups = 2, .types = types,
				     .n_types = 2};
	struct cost_pack_result r;
	solve(&in, &r); /* no matrix: small.large is dominated, never used */
	assert_int_equal(r.nodes_per_type[0], 0);
	assert_int_equal(r.nodes_per_type[1], 2);
	cost_pack_result_release(&r);

	in.allowed = allowed;
	solve(&in, &r); /* pinned + one web on small.large, 7 web on big.2xlarge */
	assert_int_equal(r.unplaced_pods, 0);
	assert_int_equal(nodes_running(&r, 0, 0), 1);
	assert_int_equal(r.nodes_per_type[0], 1);
	assert_int_equal(r.nodes_per_type[1], 1);
	assert_true(fabs(r.hourly_usd - 0.19) < 1e-9);
	assert_true(fabs(exact(&in, 0, NULL) - 0.19) < 1e-9);
	/* the LP: half a small node for pinned, web at 0.09 / 8 a pod on big.2xlarge */
	assert_int_equal(r.bound_status, COST_PACK_BOUND_OK);
	assert_true(fabs(r.lower_bound_usd_hr - (0.05 + 0.09)) < 1e-9);
	cost_pack_result_release(&r);

	/* the LP's covering alone (big.2xlarge dearer, so not dominating, but more of
	 * everything per dollar): small.large stays in the LP for pinned */
	types[1].price_usd_hr = 0.35;
	solve(&in, &r);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_OK);
	assert_true(fabs(r.lower_bound_usd_hr - (0.05 + 0.35)) < 1e-9);
	assert_true(fabs(r.hourly_usd - 0.45) < 1e-9); /* small: pinned + web; big: 7 web */
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - 0.45) < 1e-9);
	cost_pack_result_release(&r);
}

/* GLPK's terminal output stays off: nothing reaches stdout */
static void glpk_is_quiet(void **state)
{
	(void)state;
	struct cost_instance_type a = mk_type("a.large", 2000, 8192, 29);
	struct cost_pack_type types[] = {{.it = &a, .price_usd_hr = 0.1, .max_nodes = 3}};
	struct cost_pack_group groups[] = {{.cpu_millis = 700, .memory_bytes = GIB, .count = 9}};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 1};
	char *dir = tu_mkdtemp();
	char path[4096];
	snprintf(path, sizeof path, "%s/stdout", dir);
	fflush(stdout);
	int saved = dup(1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	struct cost_pack_result r;
	struct ks_err e = {0};
	int rc1 = cost_pack_solve(&in, &r, &e);
	double opt;
	int rc2 = cost_pack_exact(&in, 10, 1000, 1000, &opt, NULL, &e); /* infeasible: caps */
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, KS_EINVAL);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_INFEASIBLE);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	cost_pack_result_release(&r);
	tu_rmtree(dir);
	free(dir);
}

/* the most pods of group g on one node of the result */
static int64_t most_per_node(const struct cost_pack_result *r, size_t g)
{
	int64_t most = 0;
	for (size_t p = 0; p < r->n_placements; p++)
		if (r->placements[p].group == g && r->placements[p].pods > most)
			most = r->placements[p].pods;
	return most;
}

/* anti-affinity (cap 1): 5 small pods that would share one node get a node each, the
 * cheapest that holds one; the LP's k_gt row (y <= 1 x) makes the bound exact */
static void cap_one_per_node(void **state)
{
	(void)state;
	struct cost_instance_type s = mk_type("s.large", 2000, 8192, 29);
	struct cost_instance_type l = mk_type("l.2xlarge", 8000, 32768, 58);
	struct cost_pack_type types[] = {
		{.it = &s, .price_usd_hr = 0.10, .max_nodes = -1},
		{.it = &l, .price_usd_hr = 0.40, .max_nodes = -1},
	};
	struct cost_pack_group groups[] = {{.name = "api", .cpu_millis = 500,
					    .memory_bytes = GIB, .count = 5}};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 2};
	struct cost_pack_result r;
	solve(&in, &r); /* no cap: 2 + 3 pods on two small nodes (or one large: the same $) */
	assert_true(fabs(r.hourly_usd - 0.20) < 1e-9);
	cost_pack_result_release(&r);

	groups[0].max_per_node = 1;
	solve(&in, &r);
	assert_int_equal(r.nodes, 5);
	assert_int_equal(r.nodes_per_type[0], 5);
	assert_int_equal(most_per_node(&r, 0), 1);
	assert_true(fabs(r.hourly_usd - 0.50) < 1e-9);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_OK);
	assert_true(fabs(r.lower_bound_usd_hr - 0.50) < 1e-9);
	assert_true(fabs(r.gap) < 1e-9);
	int64_t per_type[2];
	assert_true(fabs(exact(&in, r.hourly_usd, per_type) - 0.50) < 1e-9);
	assert_int_equal(per_type[0], 5);
	assert_true(fabs(exact(&in, 0, NULL) - 0.50) < 1e-9); /* no upper bound given */
	double b = 0;
	assert_int_equal(cost_pack_lower_bound(&in, &b, NULL), 0);
	assert_true(fabs(b - 0.50) < 1e-9);
	cost_pack_result_release(&r);

	/* a cap above the count changes nothing; cap 3: two nodes, at most 3 on each */
	groups[0].max_per_node = 9;
	solve(&in, &r);
	assert_true(fabs(r.hourly_usd - 0.20) < 1e-9);
	cost_pack_result_release(&r);
	groups[0].max_per_node = 3;
	solve(&in, &r);
	assert_true(fabs(r.hourly_usd - 0.20) < 1e-9);
	assert_true(most_per_node(&r, 0) <= 3);
	cost_pack_result_release(&r);

	/* only 3 small nodes may be bought: the other 2 pods need large nodes, one each */
	groups[0].max_per_node = 1;
	types[0].max_nodes = 3;
	solve(&in, &r);
	assert_int_equal(r.nodes_per_type[0], 3);
	assert_int_equal(r.nodes_per_type[1], 2);
	assert_true(fabs(r.hourly_usd - 1.10) < 1e-9);
	assert_true(fabs(r.lower_bound_usd_hr - 1.10) < 1e-9);
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - 1.10) < 1e-9);
	cost_pack_result_release(&r);

	/* and with no large type allowed either, 2 pods are left without a node */
	types[1].max_nodes = 0;
	solve(&in, &r);
	assert_int_equal(r.nodes, 3);
	assert_int_equal(r.unplaced_pods, 2);
	assert_int_equal(r.unplaced[0].reason, COST_PACK_NO_CAPACITY);
	assert_int_equal(r.bound_status, COST_PACK_BOUND_INFEASIBLE);
	cost_pack_result_release(&r);
}

/* a spread group (at most 2 a node) and an uncapped one share nodes: 10 spread pods need 5
 * nodes, and the batch pods ride in their slack instead of on nodes of their own */
static void cap_mixed_groups(void **state)
{
	(void)state;
	struct cost_instance_type a = mk_type("a.xlarge", 4000, 16384, 58);
	struct cost_pack_type types[] = {{.it = &a, .price_usd_hr = 0.20, .max_nodes = -1}};
	struct cost_pack_group groups[] = {
		{.name = "spread", .cpu_millis = 1000, .memory_bytes = GIB, .count = 10,
		 .max_per_node = 2},
		{.name = "batch", .cpu_millis = 500, .memory_bytes = GIB, .count = 10},
	};
	struct cost_pack_input in = {.groups = groups, .n_groups = 2, .types = types,
				     .n_types = 1};
	struct cost_pack_result r;
	solve(&in, &r); /* 15 cores: 4 nodes by cpu, 5 by the cap */
	assert_int_equal(r.nodes, 5);
	assert_true(most_per_node(&r, 0) <= 2);
	assert_int_equal(nodes_running(&r, 0, 0), 5); /* every node runs spread pods... */
	assert_true(nodes_running(&r, 1, 0) > 0);     /* ...and the batch ones among them */
	assert_true(fabs(r.lower_bound_usd_hr - 1.0) < 1e-9); /* x >= 10 / 2 */
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - 1.0) < 1e-9);
	cost_pack_result_release(&r);

	/* 18 batch pods: 5 x (2 spread + 4 batch) = 20 slots, still 5 nodes; both capped at
	 * 3: 19 cores fit 5 nodes, but 18 batch pods at most 3 a node need 6 */
	groups[1].count = 18;
	solve(&in, &r);
	assert_int_equal(r.nodes, 5);
	assert_true(fabs(exact(&in, r.hourly_usd, NULL) - 1.0) < 1e-9);
	cost_pack_result_release(&r);
	groups[0].max_per_node = 3;
	groups[1].max_per_node = 3;
	solve(&in, &r);
	assert_true(most_per_node(&r, 0) <= 3 && most_per_node(&r, 1) <= 3);
	double opt = exact(&in, r.hourly_usd, NULL);
	assert_true(fabs(opt - r.hourly_usd) < 1e-9);
	assert_int_equal(r.nodes, 6);
	assert_true(r.lower_bound_usd_hr <= opt + 1e-9);
	cost_pack_result_release(&r);
}

static void bad_input(void **state)
{
	(void)state;
	struct cost_instance_type a = mk_type("a.large", 2000, 8192, 29);
	struct cost_pack_type types[] = {{.it = &a, .price_usd_hr = 0.1, .max_nodes = -1}};
	struct cost_pack_group groups[] = {{.name = "web", .cpu_millis = 100, .count = -1}};
	struct cost_pack_input in = {.groups = groups, .n_groups = 1, .types = types,
				     .n_types = 1};
	struct cost_pack_result r;
	struct ks_err e = {0};
	assert_int_equal(cost_pack_solve(&in, &r, &e), KS_EINVAL);
	assert_string_equal(e.msg, "packing: pod group 0 'web': negative request or count");
	groups[0].count = 1;
	groups[0].max_per_node = -1;
	assert_int_equal(cost_pack_solve(&in, &r, &e), KS_EINVAL);
	assert_string_equal(e.msg, "packing: pod group 0 'web': negative pods per node cap");
	groups[0].max_per_node = 0;
	types[0].price_usd_hr = 0;
	assert_int_equal(cost_pack_solve(&in, &r, &e), KS_EINVAL);
	assert_string_equal(e.msg, "packing: type a.large: price 0 is not a positive number");
	in.n_types = 0;
	assert_int_equal(cost_pack_solve(&in, &r, &e), KS_EINVAL);
	assert_string_equal(e.msg, "packing: no instance types to pack onto");
	cost_pack_result_release(&r);

	/* no pods: nothing to buy */
	types[0].price_usd_hr = 0.1;
	in.n_types = 1;
	in.n_groups = 0;
	solve(&in, &r);
	assert_int_equal(r.nodes, 0);
	assert_true(r.hourly_usd == 0);
	assert_true(r.lower_bound_usd_hr == 0);
	cost_pack_result_release(&r);
}

/* xorshift64*: the same cases on every machine */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int64_t rnd_in(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd(s) % (uint64_t)(hi - lo + 1));
}

/* the case and the heuristic's packing, for PACK_DEBUG=1 */
static void print_case(const struct cost_pack_input *in, const struct cost_pack_result *r)
{
	for (size_t t = 0; t < in->n_types; t++) {
		const struct cost_instance_type *it = in->types[t].it;
		print_message(" type %zu: %lldm %lldMi %d pods $%.4f\n", t,
			      (long long)it->alloc_cpu_millis, (long long)it->alloc_memory_mib,
			      it->max_pods, in->types[t].price_usd_hr);
	}
	for (size_t g = 0; g < in->n_groups; g++) {
		print_message(" group %zu: %lldm %lldMi x%lld", g,
			      (long long)in->groups[g].cpu_millis,
			      (long long)(in->groups[g].memory_bytes >> 20),
			      (long long)in->groups[g].count);
		if (in->groups[g].max_per_node)
			print_message(" <=%lld/node", (long long)in->groups[g].max_per_node);
		for (size_t t = 0; in->allowed && t < in->n_types; t++)
			if (in->allowed[g * in->n_types + t])
				print_message(" t%zu", t);
		print_message("\n");
	}
	print_message(" overhead %lldm\n", (long long)in->overhead_cpu_millis);
	for (size_t s = 0; s < r->n_shapes; s++) {
		const struct cost_pack_shape *sh = &r->shapes[s];
		print_message(" %lld x type %zu:", (long long)sh->nodes, sh->type);
		for (size_t p = sh->first; p < sh->first + sh->n; p++)
			print_message(" g%zu x%lld", r->placements[p].group,
				      (long long)r->placements[p].pods);
		print_message("\n");
	}
}

/* a random matrix for ng groups x nt types: each group allowed anywhere (one in three) or
 * on each type with probability 1/2 and on one random type at least */
static void random_allowed(uint64_t *seed, size_t ng, size_t nt, uint8_t *allowed)
{
	for (size_t g = 0; g < ng; g++) {
		bool anywhere = rnd_in(seed, 0, 2) == 0;
		for (size_t t = 0; t < nt; t++)
			allowed[g * nt + t] = anywhere || rnd_in(seed, 0, 1);
		allowed[g * nt + (size_t)rnd_in(seed, 0, (int64_t)nt - 1)] = 1;
	}
}

enum { SMALL_MAXT = 4, SMALL_MAXG = 4 };

/* what a random case gets on top of its pods and types, each drawn after what comes before
 * (so a seed's pods and types stay those of the cases without it) */
enum {
	CASE_MATRIX = 1, /* a random allowed matrix */
	CASE_CAPS = 2,   /* half the groups capped per node, at 1-3 (small) or 1-8 (larger) */
};

/* random caps per node for ng groups: half of them none, the others 1..most */
static void random_caps(uint64_t *seed, struct cost_pack_group *groups, size_t ng, int64_t most)
{
	for (size_t g = 0; g < ng; g++)
		groups[g].max_per_node = rnd_in(seed, 0, 1) ? rnd_in(seed, 1, most) : 0;
}

/* one small random case (1-4 types, 1-4 groups of 1-5 pods), with what `extras` asks
 * (CASE_*: without them, the cases are those of before matrices and caps) */
struct small_case {
	struct cost_instance_type it[SMALL_MAXT];
	struct cost_pack_type types[SMALL_MAXT];
	struct cost_pack_group groups[SMALL_MAXG];
	uint8_t allowed[SMALL_MAXG * SMALL_MAXT];
	struct cost_pack_input in;
};

static void make_small_case(struct small_case *sc, uint64_t seed, unsigned extras)
{
	static const char *const names[SMALL_MAXT] = {"t0", "t1", "t2", "t3"};
	size_t nt = (size_t)rnd_in(&seed, 1, SMALL_MAXT), ng = (size_t)rnd_in(&seed, 1, SMALL_MAXG);
	for (size_t t = 0; t < nt; t++) {
		int64_t cpu = 1000 * rnd_in(&seed, 2, 8);
		int64_t mem = 1024 * rnd_in(&seed, 2, 16);
		sc->it[t] = mk_type(names[t], cpu, mem, (int)rnd_in(&seed, 3, 20));
		/* price roughly by size, with noise */
		double p = 0.02 * (double)cpu / 1000 + 0.005 * (double)mem / 1024;
		p *= 0.8 + 0.4 * (double)rnd_in(&seed, 0, 100) / 100;
		sc->types[t] = (struct cost_pack_type){.it = &sc->it[t], .price_usd_hr = p,
						       .max_nodes = -1};
	}
	for (size_t g = 0; g < ng; g++)
		sc->groups[g] = (struct cost_pack_group){
			.cpu_millis = 250 * rnd_in(&seed, 1, 8),
			.memory_bytes = 256 * 1048576LL * rnd_in(&seed, 1, 16),
			.count = rnd_in(&seed, 1, 5)};
	sc->in = (struct cost_pack_input){.groups = sc->groups, .n_groups = ng,
					  .types = sc->types, .n_types = nt,
					  .overhead_cpu_millis = 100 * rnd_in(&seed, 0, 2)};
	if (extras & CASE_MATRIX) {
		random_allowed(&seed, ng, nt, sc->allowed);
		sc->in.allowed = sc->allowed;
	}
	if (extras & CASE_CAPS)
		random_caps(&seed, sc->groups, ng, 3);
}

/* Run `cases` small random cases from base_seed against the MIP: heuristic >= optimum >=
 * bound on each; the heuristic must equal the optimum on each of the first exact_cases and
 * stay within max_excess of it on all. The misses and the cases compared (no pod unplaced)
 * are counted. */
static void small_cases_vs_exact(uint64_t base_seed, int cases, int exact_cases,
				 unsigned extras, double max_excess, int *missed, int *compared)
{
	*missed = *compared = 0;
	for (int c = 0; c < cases; c++) {
		struct small_case sc;
		make_small_case(&sc, base_seed ^ (uint64_t)(c + 1) * 1000003ULL, extras);
		struct cost_pack_result r;
		solve(&sc.in, &r);
		if (r.unplaced_pods) {
			cost_pack_result_release(&r);
			continue;
		}
		(*compared)++;
		double opt = exact(&sc.in, r.hourly_usd, NULL);
		assert_true(opt <= r.hourly_usd + 1e-9);
		assert_int_equal(r.bound_status, COST_PACK_BOUND_OK);
		assert_true(r.lower_bound_usd_hr <= opt + 1e-9);
		/* whole nodes: between the LP and the optimum (when proven in time) */
		double ib = 0;
		struct ks_err ierr = {0};
		int irc = cost_pack_integer_bound(&sc.in, 2000, &ib, &ierr);
		assert_true(irc == 0 || irc == KS_ETIMEOUT);
		if (irc == 0) {
			assert_true(ib >= r.lower_bound_usd_hr - 1e-9);
			assert_true(ib <= opt + 1e-9);
		}
		assert_false(isnan(r.gap));
		assert_true(r.gap >= -1e-9);
		if (r.hourly_usd > opt + 1e-9) {
			(*missed)++;
			print_message("case %d%s%s: heuristic $%.4f, optimum $%.4f\n", c,
				      extras & CASE_MATRIX ? " (matrix)" : "",
				      extras & CASE_CAPS ? " (caps)" : "", r.hourly_usd, opt);
			if (getenv("PACK_DEBUG"))
				print_case(&sc.in, &r);
			assert_true(c >= exact_cases);
		}
		assert_true(r.hourly_usd <= opt * (1 + max_excess) + 1e-9);
		cost_pack_result_release(&r);
	}
}

/* Small random cases (1-4 types, 1-4 groups of 1-5 pods): the heuristic equals the MIP
 * optimum on each of the first EXACT_CASES; over all CASES it misses on at most MAX_MISSES
 * (2 of the 390 compared miss today: cases 120 and 385, by 6.0% and 0.3%, where the optimum
 * is a different mix of types for every node at once), never by more than
 * MAX_EXCESS; the LP bound is never above the optimum. Cases where a pod fits no type are
 * skipped (counted). */
static void random_small_cases(void **state)
{
	(void)state;
	enum { CASES = 400, EXACT_CASES = 100, MAX_MISSES = 4 };
	int missed, compared;
	small_cases_vs_exact(0x9e3779b97f4a7c15ULL, CASES, EXACT_CASES, 0, 0.12, &missed,
			     &compared);
	print_message("random small cases: the heuristic hit the optimum on %d of %d (%d had"
		      " a pod too big for every type)\n",
		      compared - missed, compared, CASES - compared);
	assert_true(compared >= CASES * 9 / 10);
	assert_true(missed <= MAX_MISSES);
}

/* The same with a random allowed matrix on each case (a third of the groups allowed
 * anywhere, the others on each type with probability 1/2): every placement allowed
 * (check_result), bound <= optimum <= heuristic, and the heuristic at the optimum on
 * every case compared; cases with a group allowed on no type it fits are skipped
 * (counted). */
static void random_small_cases_allowed(void **state)
{
	(void)state;
	enum { CASES = 200 };
	int missed, compared;
	small_cases_vs_exact(0x2545f4914f6cdd1dULL, CASES, 0, CASE_MATRIX, 1, &missed, &compared);
	print_message("random small cases with allowed matrices: the heuristic hit the optimum"
		      " on %d of %d (%d had a group allowed on no type it fits)\n",
		      compared - missed, compared, CASES - compared);
	assert_true(compared >= CASES * 3 / 4);
	assert_int_equal(missed, 0);
}

/* The same with half the groups capped at 1-3 pods per node, with and without a random
 * matrix: no node over a cap (check_result), bound <= optimum <= heuristic, and the
 * heuristic at the optimum on all but MAX_MISSES of each run. */
static void random_small_cases_caps(void **state)
{
	(void)state;
	enum { CASES = 300, MAX_MISSES = 3 };
	static const unsigned extras[] = {CASE_CAPS, CASE_CAPS | CASE_MATRIX};
	static const uint64_t seeds[] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL};
	for (size_t i = 0; i < 2; i++) {
		int missed, compared;
		small_cases_vs_exact(seeds[i], CASES, 0, extras[i], 1, &missed, &compared);
		print_message("random small cases with caps per node%s: the heuristic hit the"
			      " optimum on %d of %d\n",
			      extras[i] & CASE_MATRIX ? " and allowed matrices" : "",
			      compared - missed, compared);
		assert_true(compared >= CASES * 3 / 4);
		assert_true(missed <= MAX_MISSES);
	}
}

/* Larger random cases take the path the small ones do not (the LP's split, improvement on
 * the best start only): every pod placed once, no node overfull, bound <= heuristic; with
 * `matrix`, a random allowed matrix too, and every placement allowed. The worst gap. */
static double larger_cases(uint64_t base_seed, unsigned extras)
{
	enum { CASES = 30, MAXT = 8, MAXG = 40 };
	static const char *const names[MAXT] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};
	double worst = 0;
	for (int c = 0; c < CASES; c++) {
		uint64_t seed = base_seed ^ (uint64_t)(c + 1) * 7919ULL;
		struct cost_instance_type it[MAXT];
		struct cost_pack_type types[MAXT];
		struct cost_pack_group groups[MAXG];
		uint8_t allowed[MAXG * MAXT];
		size_t nt = (size_t)rnd_in(&seed, 2, MAXT), ng = (size_t)rnd_in(&seed, 10, MAXG);
		for (size_t t = 0; t < nt; t++) {
			int64_t cpu = 2000 * rnd_in(&seed, 1, 32);
			int64_t mem = cpu / 1000 * 1024 * rnd_in(&seed, 2, 8);
			it[t] = mk_type(names[t], cpu - 70, mem - 900, (int)rnd_in(&seed, 20, 250));
			double p = (0.03 * (double)cpu / 1000 + 0.004 * (double)mem / 1024) *
				   (0.9 + 0.2 * (double)rnd_in(&seed, 0, 100) / 100);
			types[t] = (struct cost_pack_type){
				.it = &it[t], .price_usd_hr = p,
				.max_nodes = rnd_in(&seed, 0, 4) ? -1 : rnd_in(&seed, 1, 20)};
		}
		for (size_t g = 0; g < ng; g++)
			groups[g] = (struct cost_pack_group){
				.cpu_millis = 50 * rnd_in(&seed, 1, 60),
				.memory_bytes = 64 * 1048576LL * rnd_in(&seed, 1, 96),
				.count = rnd_in(&seed, 1, 200)};
		struct cost_pack_input in = {.groups = groups, .n_groups = ng, .types = types,
					     .n_types = nt, .overhead_cpu_millis = 250,
					     .overhead_memory_bytes = 400 * 1048576LL,
					     .overhead_pods = 4};
		if (extras & CASE_MATRIX) {
			random_allowed(&seed, ng, nt, allowed);
			in.allowed = allowed;
		}
		if (extras & CASE_CAPS)
			random_caps(&seed, groups, ng, 8);
		struct cost_pack_result r;
		solve(&in, &r); /* checks placement, capacity and bound <= cost */
		if (r.unplaced_pods == 0 && r.bound_status == COST_PACK_BOUND_OK && r.gap > worst)
			worst = r.gap;
		cost_pack_result_release(&r);
	}
	return worst;
}

static void random_larger_cases(void **state)
{
	(void)state;
	double worst = larger_cases(0x51ed270b27a3c0f1ULL, 0);
	print_message("larger random cases: the worst gap to the LP bound %.2f%%\n", worst * 100);
	assert_true(worst < 0.12); /* 7.2% today */
	worst = larger_cases(0x3c6ef372fe94f82bULL, CASE_MATRIX);
	print_message("larger random cases with allowed matrices: the worst gap %.2f%%\n",
		      worst * 100);
	assert_true(worst < 0.15);
	worst = larger_cases(0x3c6ef372fe94f82bULL, CASE_MATRIX | CASE_CAPS);
	print_message("larger random cases with matrices and caps per node: the worst gap"
		      " %.2f%%\n", worst * 100);
	assert_true(worst < 0.20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_type),           cmocka_unit_test(price_crossover),
		cmocka_unit_test(cpu_vs_memory),      cmocka_unit_test(daemonset_overhead),
		cmocka_unit_test(max_pods_binding),   cmocka_unit_test(too_big_and_caps),
		cmocka_unit_test(dominated_types),    cmocka_unit_test(allowed_sharing),
		cmocka_unit_test(allowed_nowhere),    cmocka_unit_test(allowed_keeps_types),
		cmocka_unit_test(cap_one_per_node),   cmocka_unit_test(cap_mixed_groups),
		cmocka_unit_test(glpk_is_quiet),      cmocka_unit_test(bad_input),
		cmocka_unit_test(random_small_cases), cmocka_unit_test(random_small_cases_allowed),
		cmocka_unit_test(random_small_cases_caps),
		cmocka_unit_test(random_larger_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
