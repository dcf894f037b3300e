/* optimize.h — `kswarm optimize`: for each Karpenter NodePool, the cheapest node mix that holds
 * its pods, with a lower bound on what any mix could cost, the alternatives and why they lost,
 * the risks, and the change as a NodePool merge patch; cluster-wide, idle capacity and
 * right-sizing (docs/OPTIMIZE.md has the full semantics).
 *
 * Per NodePool (opt_run):
 *  1. What it holds: the active pods bound to its nodes (label karpenter.sh/nodepool) that no
 *     DaemonSet owns, and the pending unschedulable pods whose node selector names it.
 *     A pod's requests are the scheduler's (diag/capacity.h). Pods with the same requests and
 *     the same node selector form one group.
 *  2. Its DaemonSet overhead per node: the requests of every DaemonSet's pod template that
 *     tolerates the pool's taints and whose node selector can meet the pool's requirements,
 *     as Karpenter computes it.
 *  3. The current cost: each node's instance type and capacity type (its labels) priced by
 *     cost_prices (overrides included).
 *  4. Candidate instance-type sets, each packed with cost_pack_solve (heuristic + LP bound):
 *      - "current requirements": the types the pool allows today (what consolidation could
 *        reach without a change);
 *      - "open sizes": the pool's requirements without the shape keys (instance-type, -size,
 *        -cpu, -memory, -generation; node.kubernetes.io/instance-type), so any size of the
 *        categories, families, architectures and manufacturers the owner chose;
 *      - "arm64 (Graviton)" / "amd64": open sizes on the other architecture, eligible only when
 *        every image of the pool's pods is seen running on a node of that architecture (kswarm
 *        cannot read registries' manifests; a pool that already allows an architecture vouches
 *        for its pods);
 *      - "spot" / "on-demand": open sizes priced at the other capacity type, under the spot
 *        policy (OPT_SPOT_*) and the interruption risk of the chosen types;
 *      - "any category": open sizes and categories (GPU types excluded), reported, never
 *        chosen: the category is the owner's choice (burstable t types, memory r types ...).
 *     Group g may use type t only when t satisfies the pod's own node selector.
 *  5. The recommendation is the cheapest eligible candidate, when it saves at least
 *     OPT_MIN_SAVING_PCT of the current cost; the patch pins node.kubernetes.io/instance-type
 *     to the mix's types (so Karpenter, choosing the cheapest offering, lands on that mix),
 *     drops the shape requirements it replaces, sets the capacity type and architecture when
 *     they change, raises spec.limits when the mix or the roll-over needs more, and sets
 *     consolidationPolicy WhenEmptyOrUnderutilized when it is WhenEmpty (nodes replaced one
 *     by one for drift are only merged back by consolidation).
 *
 * Right-sizing (when opts->usage holds history): one rs_spec per (workload, container) from
 * the world (HPAs on CPU and LimitRanges honoured); the pool's mix is packed again with the
 * recommended requests ("with_rightsizing"); a workload's monthly saving is the change of its
 * pods' dominant-resource share of their node's price.
 *
 * Ownership: the report owns everything in it (strings copied, the patch a cJSON tree it
 * frees); opt_report_free releases it. The world, catalog and prices are borrowed. */
#ifndef KS_COST_OPTIMIZE_H
#define KS_COST_OPTIMIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct ks_buf;
struct ks_err;
struct world;
struct cost_catalog;
struct cost_prices;
struct rs_set;

#define OPT_HOURS_PER_MONTH 730.0   /* AWS's monthly figure: 8760 h / 12 */
#define OPT_MIN_SAVING_PCT 5.0      /* below this, keep the pool as it is */
#define OPT_SPOT_MAX_BUCKET 2       /* spot preferred only for interruption buckets 0-2 (<15%) */
#define OPT_MAX_RISKS 8
#define OPT_INFO_MAX_PODS 5000      /* "any category" is packed only for pools up to this */
#define OPT_INT_BOUND_MAX_NODES 20  /* integer node-count bound for mixes up to this */
#define OPT_INT_BOUND_MS 100        /* ... and given at most this long (GLPK) */

/* How a lower bound was proven. */
enum opt_bound_method {
	OPT_BOUND_NONE,
	OPT_BOUND_LP,       /* the LP relaxation */
	OPT_BOUND_INTEGER,  /* the LP with integer node counts (GLPK branch and bound) */
	OPT_BOUND_EXACT,    /* the exact optimum (configuration MIP): the gap is the distance */
};
const char *opt_bound_method_name(enum opt_bound_method m); /* "lp", "integer", "exact" */

enum opt_spot_policy {
	OPT_SPOT_KEEP,   /* the capacity types the pool allows today (default) */
	OPT_SPOT_PREFER, /* spot where the workloads tolerate it (see docs/OPTIMIZE.md) */
	OPT_SPOT_NEVER,  /* on-demand only */
};
/* "keep", "prefer", "never"; -1 for anything else */
int opt_spot_policy_parse(const char *s);
const char *opt_spot_policy_name(enum opt_spot_policy p);

struct opt_opts {
	const struct cost_catalog *cat;
	const struct cost_prices *prices;
	const char *nodepool;          /* only this pool; NULL: every pool */
	enum opt_spot_policy spot;
	struct rs_set *usage;          /* right-sizing history (rs_fetch_prometheus), or NULL */
	const char *usage_source;      /* for the report ("Prometheus URL"), may be NULL */
};

/* count nodes of one instance type and capacity type */
struct opt_mix_item {
	char *type;
	char *capacity;               /* "on-demand", "spot" */
	int64_t nodes;
	double usd_hr_each;           /* after overrides; < 0: no price known */
	char *price_source;
	int interruption_bucket;      /* spot: 0-4, -1 unknown */
};

struct opt_mix {
	double hourly_usd;            /* sum of the priced items */
	int64_t nodes;
	int64_t cpu_m, mem;           /* allocatable in all */
	struct opt_mix_item *items;
	size_t n_items;
	size_t unpriced;              /* nodes whose type has no price */
};

struct opt_candidate {
	char *name;                   /* "open sizes", "spot", ... */
	char *description;            /* what was allowed: "category m, any size, amd64" */
	bool feasible;                /* every pod placed */
	bool eligible;                /* policy and evidence allow choosing it */
	char *why_not;                /* when not chosen: why it lost */
	struct opt_mix mix;
	double lower_bound_usd_hr;    /* < 0: none */
	double gap_pct;               /* NAN: none */
	enum opt_bound_method bound_method;
	int64_t unplaced_pods;
	size_t types_considered;
	bool spot;                    /* priced at the spot capacity type */
};

struct opt_pool {
	char *name;
	int64_t pods, pending_pods;
	int64_t requested_cpu_m, requested_mem;
	int64_t overhead_cpu_m, overhead_mem, overhead_pods; /* per node */
	struct opt_mix current;
	int64_t current_alloc_cpu_m, current_alloc_mem;
	struct opt_candidate *cands;
	size_t n_cands;
	int chosen;                   /* index in cands, or -1: keep the pool as it is */
	struct opt_mix recommended;   /* = cands[chosen].mix, or the current mix */
	double monthly_savings_usd;
	double lower_bound_monthly_usd; /* < 0: none */
	double gap_pct;               /* NAN: none */
	enum opt_bound_method bound_method;
	bool has_rightsized;
	struct opt_mix with_rightsizing; /* the chosen types, right-sized requests */
	char *risks[OPT_MAX_RISKS];
	size_t n_risks;
	size_t settling_nodes;        /* drifted or being deleted: no recommendation until 0 */
	cJSON *patch;                 /* merge patch of the NodePool, NULL: no change */
	cJSON *patched;               /* the NodePool with the patch applied (for -o yaml) */
	char *verdict;
};

struct opt_container_rec {
	char *container;
	char *status;                 /* rs_status_name */
	char *text;                   /* rs_rec.text */
	double cpu_request, cpu_target; /* cores */
	double mem_request, mem_target; /* bytes */
};

struct opt_workload {
	char *ns, *kind, *name;
	char *nodepool;               /* of its first pod, or NULL */
	int64_t replicas;             /* pods seen */
	int64_t cpu_m, mem;           /* requested per pod */
	struct opt_container_rec *containers;
	size_t n_containers;
	bool over_requested;
	double monthly_usd;           /* its pods' share of their nodes */
	double monthly_savings_usd;   /* with the recommended requests; 0 without history */
};

struct opt_saving {
	char *what;                   /* "NodePool internal-tools", "Deployment shop/web" */
	double monthly_usd;
};

struct opt_report {
	char *cluster;
	char *region;
	char *spot_policy;
	char *usage_source;           /* NULL: no usage history */
	struct opt_pool *pools;
	size_t n_pools;
	struct opt_workload *workloads;
	size_t n_workloads;
	/* cluster-wide */
	double current_hourly_usd, recommended_hourly_usd;
	int64_t nodes, alloc_cpu_m, alloc_mem, requested_cpu_m, requested_mem;
	double idle_hourly_usd;       /* price of what no pod requests (dominant resource) */
	struct opt_saving *top;       /* biggest first */
	size_t n_top;
	char **notes;                 /* things the user should know ("no usage history") */
	size_t n_notes;
	double ms;                    /* time spent in opt_run */
};

/* Build the report. KS_ENOTFOUND when opts->nodepool names no NodePool; KS_EINVAL for bad
 * options. A pool whose requirements do not parse is reported with a note, not an error. */
int opt_run(struct world *w, const struct opt_opts *o, struct opt_report *out,
	    struct ks_err *err);
void opt_report_free(struct opt_report *r);

/* The workload a pod belongs to, "Deployment/web" (a string the world keeps), or NULL: the
 * rs_workload_fn for rs_set_new, world being the struct world *. */
const char *opt_workload_of(void *world, const char *ns, const char *pod);
/* The usage history of the world's workloads from the Prometheus at url, for opt_opts.usage
 * (rs_set_free it); NULL with err set when Prometheus cannot be read. */
struct rs_set *opt_usage_from_prometheus(struct world *w, const char *url, struct ks_err *err);

/* "2 x m5.large + 1 x c6a.xlarge spot" ("no nodes"; "..." when cut at n). */
void opt_mix_text(char *buf, size_t n, const struct opt_mix *x);

/* Output (optimize_report.c): the JSON of docs/optimize.schema.json; a table per NodePool
 * with a one-line verdict; the patched NodePools as a YAML stream (pools with a patch). */
cJSON *opt_report_json(const struct opt_report *r);
void opt_report_text(struct ks_buf *b, const struct opt_report *r, bool colour);
int opt_report_yaml(struct ks_buf *b, const struct opt_report *r, struct ks_err *err);

#endif
