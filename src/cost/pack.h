/* pack.h — the cheapest node mix for a set of pods: a bin-packing heuristic, a lower bound on
 * its cost from an LP relaxation (GLPK), and the exact optimum of small cases (GLPK MIP).
 *
 * The problem. Pod groups g (count n_g identical pods, each requesting cpu_g millicores and
 * mem_g bytes) go onto nodes; a node of type t offers C_t = alloc_cpu - overhead cpu,
 * M_t = alloc_memory - overhead memory and P_t = max_pods - overhead pods to pods (the
 * overhead being the DaemonSet pods every node runs) and costs p_t per hour (given by the
 * caller, so spot, on-demand and overrides all plug in); at most cap_t nodes of type t may be
 * used. Find the node mix and the assignment of pods to nodes of least total price.
 *
 * Allowed pairs. A pod may be barred from some types (its node affinity pins an arch or an
 * instance family, say) while others in the same NodePool may go anywhere: the caller gives
 * a matrix allowed[g][t] (cost_pack_input.allowed; NULL: every pair allowed), and "a pod of
 * g fits type t" below always means "g is allowed on t and one pod fits an empty node of t".
 * Everything that puts a pod on a type honours it: the fills and the starts, the LP's
 * columns, every improvement pass (a node changes type only when every group on it is
 * allowed on the new one; pods move only to nodes whose type they are allowed on), the
 * pruning of types below and the exact MIP. The groups share nodes wherever the matrix
 * lets them, which packing each class of pods apart would forbid; a group allowed on no
 * type it fits is reported unplaced, COST_PACK_TOO_BIG.
 *
 * Pods per node. A group may say "at most N of my pods on any one node"
 * (cost_pack_group.max_per_node: a topologySpreadConstraint on kubernetes.io/hostname with
 * DoNotSchedule and maxSkew N, or a required anti-affinity on the hostname against its own
 * labels, N = 1; 0: no cap). The cap is the same on every type, so "the most pods of g one
 * node of t holds" (k_gt below) is min(what fits, cap) everywhere, and everything that puts
 * pods of g on a node honours it: the fills ("take as many of g as fit", at most the cap),
 * the LP's split (a type gets at least share_g / cap nodes, so each node's equal part is
 * within the cap), the greedy and the starts, the slack fills and every improvement pass
 * (pods move only into a node's room for g, which counts the cap; two nodes merge only when
 * no group has more than its cap on both together; a node changing type keeps its pods, so
 * its counts), and the exact MIP's patterns (at most the cap of g each). Pruning types is
 * unaffected: a node of a dominated type swapped for the larger one runs the same pods. The
 * LP's covering test (below) compares the capped k_gt per dollar, so it keeps a small type
 * that is the cheaper home for capped pods (fewer types left out: a slower LP with caps).
 *
 * The heuristic (cost_pack_solve). Pods are never expanded one by one: nodes hold
 * (group, count) items, a node is filled group by group ("take as many of g as fit"), and a
 * filled node's pattern is repeated as often as the remaining counts allow.
 *  1. Construction, several starts, the cheapest kept:
 *     - the LP's split (what wins at scale): the LP below says how many pods of each group
 *       go on each type; per type, that many nodes as the share needs, each given an equal
 *       part of every group and the remainders to the nodes they leave least full; the
 *       LP's fractions and what did not fit go into the slack, then to the greedy below;
 *     - greedy: the next node is the (type, fill) with the most value per dollar, a pod's
 *       value being the LP's dual price of its group (what one more pod of that shape costs
 *       in the relaxation), or the cost of its largest share of the cheapest type it fits;
 *     - one start per type that opens that type while it has room (first-fit decreasing).
 *  2. Improvement: downsize each node to the cheapest type that holds what it runs; empty
 *     the least-used nodes into the slack of the others; merge two nodes into one cheaper
 *     type; re-pack pairs of the least-used nodes from every start; until nothing improves.
 *     Small problems (<= 200 pods, <= 64 group x type pairs) get this on every start, with
 *     triples, the whole solution re-packed and fills searched for the best value; all
 *     within a fixed work budget. Last, the best one (<= 8 nodes) is re-packed once more
 *     with every maximal fill of a first node of each type tried, the rest packed after it
 *     (a lookahead the node-by-node greedy lacks; with a budget of its own, so it only
 *     ever beats what the starts found).
 * Types that another uncapped type beats on every count (cpu, memory, pods, price) and that
 * allows every group the beaten type allows are left out beforehand: they are never needed
 * (a cheap large type does not replace a small one that some group may only use).
 * Identical nodes are reported once, with a count.
 *
 * The lower bound (the "assignment LP"), with continuous x_t >= 0 (nodes of type t) and
 * y_gt >= 0 (pods of group g on type t), only for pairs where g is allowed on t and one pod
 * of g fits on an empty node of t:
 *     minimise sum_t p_t x_t
 *     subject to  sum_t y_gt = n_g                       for every group g
 *                 sum_g cpu_g y_gt <= C_t x_t              for every type t   (cpu)
 *                 sum_g mem_g y_gt <= M_t x_t              for every type t   (memory)
 *                 sum_g y_gt       <= P_t x_t              for every type t   (pods)
 *                 y_gt <= k_gt x_t  where k_gt = floor(min(C_t/cpu_g, M_t/mem_g, P_t)),
 *                                   or the group's cap when that is less: the most pods
 *                                   of g one node of t can hold (a row only where it
 *                                   cuts: below the real ratio and k_gt <= 32 or set by
 *                                   the cap; fewer rows only make the bound weaker,
 *                                   never wrong)
 *                 x_t <= cap_t.
 * Validity: take any feasible packing, let x_t be its number of nodes of type t and y_gt its
 * number of g pods on them. Every pod is somewhere (first row). Each node of type t holds
 * pods whose requests add up to at most C_t, M_t and P_t, and at most k_gt pods of g; summing
 * over the x_t nodes of type t gives the next four rows. A pod is only on a type it fits, and
 * x_t <= cap_t. So every packing is a feasible point of the LP with the same cost, and the LP
 * optimum is at most the optimal packing's cost — a lower bound. When the LP is infeasible, no
 * packing holds every pod (the caps are too small). With an allowed matrix the argument is
 * the same: a packing puts g's pods only on types g is allowed on, so its y_gt is 0 for every
 * forbidden pair, and leaving those columns out cuts off no packing; k_gt rows exist only
 * for the y_gt that do. With a cap on pods per node, every node of a packing holds at most
 * cap_g pods of g, so summing over its x_t nodes of type t, y_gt <= cap_g x_t: the capped
 * k_gt row holds for every packing, and the bound stays valid. A cap always cuts (the
 * resource rows alone let y_gt reach x_t / size), so its row is always there — added
 * lazily: the LP is solved without them, then again with the rows of every group whose
 * optimum breaks one, until none is broken, which is the optimum with every row.
 * Why this LP. The plain per-resource LP (total cpu, memory and pod slots covered by the mix)
 * is this one without the "fits" and k_gt rows, summed over the types: it lets a 7-core pod use
 * the spare cores of 2-core nodes and lets memory-hungry pods live on cheap cpu-heavy types,
 * which this LP forbids, so this one is at least as tight. The configuration LP (a column per
 * feasible node pattern) is tighter still but needs column generation with a knapsack
 * per type; with many small pods, the case that matters at scale, the difference is small,
 * and this LP has (groups x types) columns that GLPK's simplex solves in 0.03-0.2 s for 300
 * groups on 24-78 types, about 1 s on 877 (bench/pack, docs/PACKING.md).
 * Its optimum is fractional and the integer optimum may lie above it: the gap is how far the
 * heuristic is from the optimum at most, not how far it is (20 pods in bench/pack: a 9% gap
 * with the heuristic at the exact optimum). Leaving out dominated types (above) keeps the
 * bound valid: some optimal packing uses none of them, and it is feasible for the LP. The
 * LP also leaves out a type t when an uncapped type u is at least as large in every resource
 * and offers at least as much of each (and of every k_gt) per dollar: any LP point using t
 * maps to one as cheap using u instead (x_u += x_t p_t / p_u), so the optimum is the same.
 * (Where t has no k_gt row its y_gt is held only by the resource rows, to x_t / size: that
 * ratio is what u's k_gu row must cover per dollar.)
 * (k_gt is 0 for a forbidden pair, so "as much of every k_gt per dollar" already says that
 * every group with a y_gt has a y_gu: a type that a group needs is kept.)
 * Within a family the larger sizes usually cover the smaller ones (the DaemonSet overhead
 * weighs less), which cut the LP from 5.2 s to 0.8 s with 877 types, to the same bound.
 *
 * The exact optimum (cost_pack_exact), for small cases: the configuration integer program.
 * Every maximal pattern of every type is enumerated in integers (how many pods of each group
 * one node holds, no group able to take one more; never more than the group has nor than
 * its cap per node; only groups allowed on the type); then
 *     minimise sum_p p_t(p) z_p   subject to   sum_p a_gp z_p >= n_g,   z_p integer >= 0,
 *     sum_{p of type t} z_p <= cap_t,   z_p <= floor(upper / p_t(p)),
 * solved by glp_intopt. It is exact: a packing's nodes each run a sub-pattern of some
 * maximal pattern, so some z covers the pods at the same cost, and from a z, pods can be
 * taken off nodes until each group has exactly n_g; a cheaper packing never uses more than
 * floor(upper / p_t) nodes of a type when upper is a known cost (the heuristic's). Pattern
 * counts grow fast with the number of groups and pods per node: only for small cases.
 *
 * GLPK's terminal output is switched off (glp_term_out) while it runs: nothing is printed.
 *
 * Ownership: the input and the catalog entries it points to belong to the caller and are
 * only read. A cost_pack_result is filled by cost_pack_solve and its arrays belong to it
 * until cost_pack_result_release. Call from one thread at a time: GLPK's environment and its
 * terminal switch are not shared safely. */
#ifndef KS_COST_PACK_H
#define KS_COST_PACK_H

#include <stddef.h>
#include <stdint.h>

struct ks_err;
struct cost_instance_type;

#define COST_PACK_UNLIMITED (-1)
#define COST_PACK_MAX_GROUPS 100000
#define COST_PACK_MAX_TYPES 4096
#define COST_PACK_MAX_PODS 100000000 /* in all */

/* count identical pods, each requesting cpu_millis and memory_bytes */
struct cost_pack_group {
	const char *name; /* for messages; may be NULL */
	int64_t cpu_millis;
	int64_t memory_bytes;
	int64_t count;
	/* at most this many of them on any one node (hostname spread or anti-affinity);
	 * 0: no cap */
	int64_t max_per_node;
};

/* A candidate node type: the catalog's allocatable resources and max pods, the caller's
 * price, and how many nodes of it may be used at most (COST_PACK_UNLIMITED: any). */
struct cost_pack_type {
	const struct cost_instance_type *it;
	double price_usd_hr;
	int64_t max_nodes;
};

struct cost_pack_input {
	const struct cost_pack_group *groups;
	size_t n_groups;
	const struct cost_pack_type *types;
	size_t n_types;
	/* requested by the DaemonSet pods that run on every node */
	int64_t overhead_cpu_millis;
	int64_t overhead_memory_bytes;
	int overhead_pods;
	/* NULL: every group may run on every type. Else a row-major n_groups x n_types matrix
	 * (n_groups * n_types entries, which cannot be checked: the caller's memory, read
	 * only): allowed[g * n_types + t] != 0 when a pod of group g may run on a node of
	 * type t (its node affinity, arch, family...). */
	const uint8_t *allowed;
};

/* pods of one group on each node of a shape */
struct cost_pack_placement {
	size_t group;
	int64_t pods;
};

/* nodes identical nodes of one type, each running placements[first .. first + n) */
struct cost_pack_shape {
	size_t type;
	int64_t nodes;
	size_t first, n;
};

enum cost_pack_unplaced_reason {
	COST_PACK_TOO_BIG,     /* one pod does not fit an empty node of any type it is
				* allowed on */
	COST_PACK_NO_CAPACITY, /* fits some type, but the availability caps are used up */
};

struct cost_pack_unplaced {
	size_t group;
	int64_t pods;
	enum cost_pack_unplaced_reason reason;
};

enum cost_pack_bound_status {
	COST_PACK_BOUND_NONE,       /* not computed (GLPK failed: see bound_error) */
	COST_PACK_BOUND_OK,         /* lower_bound_usd_hr is valid for the placeable pods */
	COST_PACK_BOUND_INFEASIBLE, /* no packing can place every placeable pod (caps) */
};

struct cost_pack_result {
	double hourly_usd;          /* the heuristic's node mix */
	int64_t nodes;
	int64_t *nodes_per_type;    /* [n_types] */
	struct cost_pack_shape *shapes;
	size_t n_shapes;
	struct cost_pack_placement *placements;
	size_t n_placements;
	struct cost_pack_unplaced *unplaced; /* groups (or their remainder) left out */
	size_t n_unplaced;
	int64_t unplaced_pods;
	enum cost_pack_bound_status bound_status;
	double lower_bound_usd_hr;  /* of the pods that fit some type */
	double gap;                 /* (hourly_usd - bound) / bound; NAN without a bound or
				     * when pods are unplaced */
	char bound_error[128];
	double bound_ms;            /* the LP (its split and duals feed the heuristic too) */
	double heuristic_ms;        /* the rest: starts, improvement, the result */
};

/* Pack in's pods: the heuristic's node mix, the LP bound and the gap. 0, or KS_EINVAL for
 * a bad input (negative request, count or cap per node, a price that is not > 0, no types,
 * a NULL type, too many groups/types/pods). Pods that cannot be placed are listed in
 * out->unplaced, not an error. */
int cost_pack_solve(const struct cost_pack_input *in, struct cost_pack_result *out,
		    struct ks_err *err);
void cost_pack_result_release(struct cost_pack_result *r);

/* The LP lower bound alone: *bound, and 0; KS_EINVAL for bad input or when the LP is
 * infeasible (the message says so); KS_EIO when GLPK fails. Unplaceable groups are left out. */
int cost_pack_lower_bound(const struct cost_pack_input *in, double *bound, struct ks_err *err);

/* A tighter lower bound where the mix has few nodes: the assignment LP above with the node
 * counts x_t integer (the pods y_gt stay fractional), solved by GLPK's branch and bound. Any
 * packing is a point of it (its node counts are integers), so its optimum is a lower bound
 * at least the LP's; a partly used large node, which the LP buys a fraction of, costs whole
 * here. KS_ETIMEOUT when not proven within time_limit_ms (the LP bound then stands). */
int cost_pack_integer_bound(const struct cost_pack_input *in, int time_limit_ms, double *bound,
			    struct ks_err *err);

/* The exact optimum by GLPK's MIP, for small cases: *optimum and, when nodes_per_type is not
 * NULL, the nodes of each type ([n_types]). upper_usd_hr: the cost of a known packing of
 * every pod (the heuristic's), which bounds the search; <= 0: none. KS_ETIMEOUT when the
 * search does not finish within time_limit_ms, KS_ETOOBIG when there are more than max_vars
 * maximal patterns or more than 64 groups, KS_EINVAL when a pod fits no type or no packing
 * (at most upper) exists, KS_EIO when GLPK fails. */
int cost_pack_exact(const struct cost_pack_input *in, double upper_usd_hr, int time_limit_ms,
		    size_t max_vars, double *optimum, int64_t *nodes_per_type, struct ks_err *err);

#endif
