/* optimize_internal.h — the model opt_run builds from the world and the files of the
 * optimizer share: optimize.c (the model and the report), optimize_pool.c (candidates,
 * packing, the patch), optimize_rightsize.c (usage history -> requests).
 *
 * Pods are never kept one by one: a "pod set" is the pods of one workload with the same
 * requests and node selector in one pool (replicas share their interned fields, so the
 * selector's objstore ids identify the class). Everything here belongs to struct om and is
 * freed by om_release. */
#ifndef KS_COST_OPTIMIZE_INTERNAL_H
#define KS_COST_OPTIMIZE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hashmap.h"
#include "cost/optimize.h"
#include "kube/nodereq.h"
#include "kube/objstore.h"
#include "world/world.h"

#define OM_NONE ((size_t)-1)

/* the pods sharing one node selector (spec.nodeSelector and required node affinity) */
struct om_class {
	uint32_t node_selector, affinity; /* objstore ids in the pod store */
	struct kube_nodereq_sel sel;
	bool sel_ok;                      /* parsed; a selector that does not parse allows
					   * every type (the scheduler would reject the pod) */
	uint8_t *type_ok;                 /* [catalog count], computed on first use */
	bool spot_ok, on_demand_ok;       /* what its karpenter.sh/capacity-type terms allow */
};

struct om_podset {
	size_t pool, cls, workload;
	int64_t cpu_m, mem, count;
	int64_t new_cpu_m, new_mem;       /* right-sized per pod (= cpu_m, mem without history) */
	unsigned arch_ok;                 /* bit 1 << enum cost_arch: the architectures its
					   * images may run on (see om_arch_evidence) */
};

struct om_node {
	const char *name;
	size_t pool;                      /* OM_NONE: not a NodePool's */
	const struct cost_instance_type *type; /* NULL: not in the catalog */
	const char *type_name;
	bool spot;
	double price;                     /* < 0: unknown */
	int64_t alloc_cpu_m, alloc_mem;
	int64_t req_cpu_m, req_mem;
	int arch;                         /* enum cost_arch, -1 unknown */
};

struct om_workload {
	const char *ns, *kind, *name;
	struct wobj first_pod;
	int64_t pods;
	int64_t cpu_m, mem;               /* per pod (the first pod's) */
	int64_t new_cpu_m, new_mem;       /* right-sized per pod */
	size_t pool;                      /* of the first pod placed in a pool */
	double share_hr, new_share_hr;    /* dominant share of the nodes' price, all pods */
	bool production, replicated_kind; /* Job/CronJob pods and DaemonSets need no replicas */
	bool daemonset;
	struct opt_container_rec *recs;
	size_t n_recs;
	bool over_requested, rightsized;
	size_t last_set;                  /* index + 1 of the pod set its last pod joined */
	int64_t max_per_node;             /* hostname spread / anti-affinity: 0 none */
};

struct om_pool {
	struct wobj o;
	const cJSON *json;
	const char *name;
	struct kube_nodereq_term term;    /* cap_pool_term, no zones */
	bool term_ok;
	bool allows_spot, allows_od;      /* by its karpenter.sh/capacity-type requirements */
	bool allows_arch[2];              /* some catalog type of each arch satisfies it */
	unsigned named_arch;              /* archs its kubernetes.io/arch requirements name
					   * (bits; 0: it names none) */
	/* of the types its requirements allow today: the lowest generation and the
	 * categories (what the open candidates keep; 0 / none when it allows no type) */
	int min_generation;
	const char *categories[32];
	size_t n_categories;
	int64_t ov_cpu_m, ov_mem, ov_pods; /* DaemonSet overhead per node */
	int64_t pods, pending;
	struct ks_u32set images;          /* its pods' images (string ids in om.pod_st) */
	size_t settling;                  /* nodes being deleted or drifted (cap_node_settling) */
	bool tolerant_spot;               /* replicated, no production namespace */
	char spot_why[160];               /* why it is not (when it is not) */
};

struct om {
	struct world *w;
	const struct opt_opts *o;
	size_t ncat;
	struct om_class *classes;
	size_t n_classes;
	struct ks_map class_by_key;       /* "nodeSelector/affinity" -> index + 1 */
	struct om_podset *sets;
	size_t n_sets, cap_sets;
	struct ks_map set_by_key;
	struct ks_map pending_by_key;     /* pending_pool's answers */
	struct om_node *nodes;
	size_t n_nodes, cap_nodes;
	struct ks_map node_by_name;
	struct om_workload *workloads;
	size_t n_workloads, cap_workloads;
	struct ks_map workload_by_key;    /* "ns/Kind/name" -> index + 1 */
	struct ks_map workload_by_refs;   /* "ownerReferences id" -> index + 1 */
	struct om_pool *pools;
	size_t n_pools;
	const struct kube_objstore *pod_st; /* where the pods (and their image strings) live */
	struct ks_u32set image_seen[2];   /* image string ids seen running on each arch */
};

/* optimize.c */
bool om_class_allows(struct om *m, size_t cls, size_t cat_index);

/* optimize_pool.c: fill out (already holding name and counts) for pool p */
void om_pool_optimize(struct om *m, size_t p, struct opt_pool *out);
void om_mix_release(struct opt_mix *x);
void om_add_risk(struct opt_pool *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* optimize_rightsize.c: recommended requests per workload (new_cpu_m/new_mem, recs) */
int om_rightsize(struct om *m, struct ks_err *err);

#endif
