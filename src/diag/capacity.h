/* capacity.h — the capacity model the Scheduling, Karpenter and Usage analyzers share: a
 * pod's effective requests, what a node can still take, and whether a Karpenter NodePool
 * could launch a node for a pod (requirements, taints, catalog instance types, limits).
 *
 * A pod's requests are the scheduler's: max(sum of the containers', largest init
 * container's) per resource, plus spec.overhead. A node's free capacity is its allocatable
 * minus the requests of the pods bound to it that are not Succeeded or Failed.
 *
 * A NodePool's verdict for a pod follows Karpenter's provisioner: the pool's requirements
 * (spec.template.spec.requirements, the template's labels, and the implied
 * karpenter.sh/nodepool=NAME) must intersect one of the pod's node-selector terms; the pod
 * must tolerate the pool's taints (spec.template.spec.taints); some catalog instance type
 * must satisfy both sides' requirements on the instance labels and hold the pod; and the
 * pool's remaining limits (spec.limits minus status.resources) must allow such a type. The
 * catalog has no zones: a pool without a zone requirement offers the zones the cluster's
 * nodes are in (its node class's subnets, as observed).
 *
 * Ownership: results are plain values or strings in caller buffers; cJSON arguments are
 * borrowed. cap_catalog returns the options' catalog or the default one, loaded once and
 * kept for the process (never freed). */
#ifndef KS_DIAG_CAPACITY_H
#define KS_DIAG_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "diag/diag.h"
#include "kube/nodereq.h"

struct cost_catalog;
struct cost_instance_type;

struct cap_res {
	int64_t cpu_m;  /* millicores */
	int64_t mem;    /* bytes */
	int64_t pods;
};

/* A quantity string's milli value (cpu) or value (memory, pods); def when absent or bad. */
int64_t cap_qty_milli(const cJSON *q, int64_t def);
int64_t cap_qty_value(const cJSON *q, int64_t def);
/* "1.5" cores / "3.0 GiB" style text. */
void cap_fmt_cpu(char *out, size_t n, int64_t cpu_m);
void cap_fmt_mem(char *out, size_t n, int64_t bytes);

void cap_pod_requests(const cJSON *pod, struct cap_res *out);
/* The same from the pod's fields, without decoding it (memoized per container resources in
 * the world: replicas share them). */
void cap_wpod_requests(struct world *w, struct wobj pod, struct cap_res *out);
/* Whether the pod still holds node resources (bound, not Succeeded/Failed). */
bool cap_pod_active(struct wobj pod);
void cap_node_allocatable(const cJSON *node, struct cap_res *out);
/* The same from the stored node, without decoding it. */
void cap_wnode_allocatable(struct wobj node, struct cap_res *out);

/* Sum of the requests of the active pods bound to node. */
void cap_node_requested(struct world *w, const char *node, struct cap_res *out);

/* The catalog for the analysis (NULL when none could be loaded). */
const struct cost_catalog *cap_catalog(struct diag_ctx *cx);

/* The zones the cluster's nodes are in (topology.kubernetes.io/zone), comma-separated. */
void cap_cluster_zones(struct world *w, char *out, size_t n);

enum cap_pool_verdict {
	CAP_POOL_FITS,          /* Karpenter can launch a node for the pod */
	CAP_POOL_REQUIREMENTS,  /* the requirements do not intersect the pod's */
	CAP_POOL_TAINT,         /* a pool taint the pod does not tolerate */
	CAP_POOL_NO_TYPE,       /* no instance type satisfies both and holds the pod */
	CAP_POOL_LIMIT,         /* types exist, but the pool's limits leave no room */
};
const char *cap_pool_verdict_name(enum cap_pool_verdict v);

struct cap_pool_eval {
	enum cap_pool_verdict verdict;
	char why[512];          /* a sentence fragment: "key topology.kubernetes.io/zone, ..." */
	size_t types_pool;      /* catalog types the pool's requirements allow */
	size_t types_both;      /* ... and the pod's */
	size_t types_fit;       /* ... and big enough for the pod */
	const struct cost_instance_type *smallest_fit; /* cheapest of those, or NULL */
	struct cap_res limit, used; /* spec.limits, status.resources (-1: no limit) */
};

/* Evaluate pool (a NodePool object) for pod; sel is the pod's node selector
 * (kube_nodereq_from_pod), req its requests, zones the cluster's zones (cap_cluster_zones).
 * With pod, sel and req NULL, only the pool's own requirements are judged (types_pool).
 * w (may be NULL) memoizes the types the pool allows, per pool object: pool must then be the
 * world's decoded NodePool (world_json), whose address lasts as long as the world. */
void cap_pool_eval(struct world *w, const struct cost_catalog *cat, const cJSON *pool,
		   const cJSON *pod, const struct kube_nodereq_sel *sel, const struct cap_res *req,
		   const char *zones, struct cap_pool_eval *out);

/* The pool's requirements as one term: spec.template.spec.requirements, the template's
 * labels, the implied karpenter.sh/nodepool label, and the cluster's zones (comma-separated)
 * when the pool names none (zones NULL or "": left out). The caller frees out (also on
 * error). */
int cap_pool_term(const cJSON *pool, const char *zones, struct kube_nodereq_term *out);

/* Whether a node of a NodePool is in transition, so that it tells nothing about the pool as
 * it is now: being deleted, or drifted from pool_term (cap_pool_term), which Karpenter
 * replaces: a label the node has fails a requirement on its key, or its instance type (in
 * cat, when given) does not satisfy the requirements. A requirement on a label the node
 * lacks is judged through the instance type only (nodes not labelled by Karpenter).
 * Reads the stored labels, decodes nothing. */
bool cap_node_settling(struct wobj node, const struct kube_nodereq_term *pool_term,
		       const struct cost_catalog *cat);

/* Whether the catalog type satisfies the requirement term on the keys it has labels for
 * (instance type, family, size, arch, ...); keys it has no label for are not judged. */
bool cap_type_satisfies(const struct cost_instance_type *t, const struct kube_nodereq_term *term);

/* The owner the findings name for a pod: its Deployment (through the ReplicaSet), or its
 * controller (StatefulSet, Job...), or the pod itself. */
struct wobj cap_pod_owner(struct world *w, const cJSON *pod, struct wobj self);

/* Whether pod o is Pending with PodScheduled=False reason Unschedulable (screened with the
 * accessors, decoded only when it is Pending and unbound); *json gets the decoded pod. */
bool cap_pod_unschedulable(struct world *w, struct wobj o, const cJSON **json);
/* The same test, without decoding the pod. */
bool cap_wpod_unschedulable(struct wobj o);

/* The remediation for a NodePool at its CPU limit: a merge patch of spec.limits.cpu to what
 * is in use plus pending_cpu_m, with 25% headroom, in whole cores. */
void cap_fix_pool_limit(struct diag_finding *f, const struct diag_ref *pool,
			const struct cap_pool_eval *e, int64_t pending_cpu_m);

#endif
