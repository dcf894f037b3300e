/* infra.h — small readers shared by the infrastructure analyzers (an_service.c, an_pdb.c,
 * an_webhook.c, an_netpol.c, an_hpa.c, an_configmap.c, an_security.c, …): label selectors
 * read from an object without decoding it, pod readiness, a pod's owning workload, status
 * conditions, and "k=v, k2=v2" label text.
 *
 * Everything reads the world through the wobj_* accessors and the object store, so the scans
 * over every pod stay cheap; nothing here allocates what outlives a call except the selector
 * (free it with kube_selector_free) and strings interned in the world. */
#ifndef KS_DIAG_INFRA_H
#define KS_DIAG_INFRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/selector.h"
#include "world/world.h"

/* The LabelSelector object at path of o (metav1 semantics: absent matches nothing). */
bool infra_selector_at(struct wobj o, const char *path, struct kube_selector *sel);
/* A map selector (a Service's spec.selector: {"app":"web"}) at path; false when absent or
 * empty (a Service without selector selects nothing by design). */
bool infra_map_selector_at(struct wobj o, const char *path, struct kube_selector *sel);
/* The value of label key on o, copied into buf; NULL when absent. */
const char *infra_label(struct wobj o, const char *key, char *buf, size_t n);
/* The string under key of the map at map_path ("metadata.annotations"; keys may hold dots),
 * copied into buf; NULL when absent. */
const char *infra_map_value(struct wobj o, const char *map_path, const char *key, char *buf,
			    size_t n);
/* "k=v, k2=v2" of the string map at path of o (labels, a selector) into buf. */
const char *infra_map_text(struct wobj o, const char *path, char *buf, size_t n);

/* Status condition `type` in the array at path (usually "status.conditions"): its status
 * ("True"/"False"/"Unknown") copied into status, reason and message likewise (each may be
 * NULL). Returns false when there is no such condition. */
bool infra_condition(struct wobj o, const char *path, const char *type, char *status,
		     size_t ns, char *reason, size_t nr, char *message, size_t nm);
/* Pod condition Ready is True. */
bool infra_pod_ready(struct wobj pod);
/* The workload owning a pod: the Deployment behind its ReplicaSet, or its StatefulSet,
 * DaemonSet, Job (or the ReplicaSet itself when it has no Deployment). Zero wobj: none. */
struct wobj infra_pod_workload(struct world *w, struct wobj pod);
/* The controller ownerReference of o: kind and name copied; false when none. */
bool infra_owner(struct wobj o, char *kind, size_t nk, char *name, size_t nn);

/* Pods in namespace ns that sel matches; calls fn for each (may be NULL) and returns how
 * many matched. */
size_t infra_pods_matching(struct world *w, const char *ns, const struct kube_selector *sel,
			   world_visit_fn fn, void *ctx);

/* Ready and not-ready addresses over the subsets of an Endpoints object. */
void infra_endpoint_counts(struct wobj ep, size_t *ready, size_t *not_ready);

/* Whether Service svc exposes port name pname (when non-empty) or port number. */
bool infra_service_has_port(struct wobj svc, int64_t number, const char *pname);

/* Seconds since the RFC 3339 timestamp ts / at path of o (world_now as now), or -1. */
int64_t infra_age_of(struct world *w, const char *ts);
int64_t infra_age_at(struct world *w, struct wobj o, const char *path);
/* The condition of this type in a decoded conditions array, or NULL. */
const cJSON *infra_json_condition(const cJSON *conds, const char *type);

/* The workload kinds with a pod template at spec.template (CronJob: spec.jobTemplate…). */
extern const enum world_kind infra_workload_kinds[];
extern const size_t infra_n_workload_kinds;
/* The path of the pod spec in an object of kind k ("spec", "spec.template.spec", …). */
const char *infra_podspec_path(enum world_kind k);

#endif
