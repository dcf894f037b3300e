/* world.h — the world model: one consistent, indexed picture of a cluster for the analyses.
 *
 * A world holds the objects of every kind the diagnostics read (pods, nodes, events,
 * workloads, Services, storage, RBAC, webhooks, Karpenter NodePools…), each kind in a
 * kube_informer: filled live by one LIST+WATCH per kind (world_load_live), or from a
 * snapshot file (world_load_snapshot, the format `kswarm snapshot` writes). The analyses
 * read it only; the one outside call they may need, logs of failing containers, is made by
 * world_fetch_logs before the analysis, bounded and in parallel, and kept in the world (and
 * in snapshots).
 *
 * Which kinds a cluster serves is known (world_has): "no Gateway objects" and "no Gateway
 * API here" are different facts.
 *
 * Secrets: only their key names are kept. Each value is replaced, as it is loaded, by a
 * keyed hash (HMAC-SHA-256 under a key made at random for this process; world_secret_matches
 * compares a candidate value with it), and snapshots hold empty values. No Secret value is
 * ever in the world, in a snapshot, or in anything derived from them.
 *
 * Objects are read without decoding through struct wobj (an objstore id in its kind's
 * store) and the wobj_* accessors, which is what the scans over every pod use; world_json
 * decodes one object to cJSON (cached until world_free) for the detailed look at the few
 * that are unhealthy.
 *
 * Ownership: the world owns everything; wobj values and the strings and trees the accessors
 * return are borrowed until world_free. Not thread-safe: one thread at a time. */
#ifndef KS_WORLD_WORLD_H
#define KS_WORLD_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "kube/objstore.h"

struct ks_err;
struct kube_client;
struct kube_resource;

enum world_kind {
	WK_POD, WK_NODE, WK_NAMESPACE, WK_EVENT, WK_SERVICE, WK_ENDPOINTS, WK_CONFIGMAP,
	WK_SECRET, WK_SERVICEACCOUNT, WK_LIMITRANGE,
	WK_DEPLOYMENT, WK_REPLICASET, WK_STATEFULSET, WK_DAEMONSET, WK_CONTROLLERREVISION,
	WK_JOB, WK_CRONJOB,
	WK_INGRESS, WK_INGRESSCLASS, WK_NETWORKPOLICY,
	WK_PVC, WK_PV, WK_STORAGECLASS,
	WK_HPA, WK_PDB, WK_VALIDATINGWEBHOOK, WK_MUTATINGWEBHOOK,
	WK_ROLE, WK_CLUSTERROLE, WK_ROLEBINDING, WK_CLUSTERROLEBINDING,
	WK_GATEWAYCLASS, WK_GATEWAY, WK_HTTPROUTE,
	WK_NODEPOOL, WK_NODECLAIM,
	WK_COUNT
};

struct world_kind_info {
	const char *kind;     /* "Deployment" */
	const char *group;    /* "apps"; "" for core */
	const char *resource; /* "deployments" */
	const char *versions[4]; /* served versions we read, newest first (NULL-terminated) */
	bool namespaced;
	bool extension;       /* a CRD kind (Gateway API, Karpenter): often not served */
};
extern const struct world_kind_info world_kinds[WK_COUNT];
/* The kind an apiVersion + kind names (any version of the group), or -1. */
int world_kind_of(const char *api_version, const char *kind);

struct world;

struct world *world_new(void);
void world_free(struct world *w);

struct world_load_opts {
	const char *ns;             /* NULL: every namespace (cluster-scoped kinds always whole) */
	long timeout_ms;            /* for all the LISTs; 0: 60 s */
	bool progress;              /* a progress line on stderr while loading */
};
/* Discover what the server serves and LIST every served kind through an informer (all at
 * once over the client's connection); returns when all are synced. */
int world_load_live(struct world *w, struct kube_client *c, const struct world_load_opts *o,
		    struct ks_err *err);

/* A snapshot file: the JSON Lines `kswarm snapshot` writes, or one JSON or YAML document of
 * kind List (as `kubectl get ... -o json|yaml` prints, fixtures use it) whose items may
 * include the kswarm.dev/v1 Snapshot header and ContainerLog items (format in
 * docs/SNAPSHOT.md). Files over WORLD_SNAPSHOT_MAX_BYTES are refused. */
#define WORLD_SNAPSHOT_MAX_BYTES ((size_t)8 << 30)
#define WORLD_SNAPSHOT_MAX_LINE ((size_t)64 << 20)
int world_load_snapshot(struct world *w, const char *path, struct ks_err *err);
int world_load_snapshot_mem(struct world *w, const char *data, size_t len, struct ks_err *err);
int world_write_snapshot(struct world *w, FILE *out, struct ks_err *err);

/* Where the world came from, for reports. */
const char *world_cluster_name(const struct world *w); /* context / snapshot's cluster */
const char *world_server_version(const struct world *w); /* "v1.20.2" or "" */
/* Now, for ages: the load time (live) or the snapshot's takenAt. */
int64_t world_now(const struct world *w);
void world_set_cluster(struct world *w, const char *name, const char *server_version);
void world_set_now(struct world *w, int64_t unix_s);

bool world_has(const struct world *w, enum world_kind k);
/* The resource kind k was read from (the version the server served); NULL when not served. */
const struct kube_resource *world_resource(const struct world *w, enum world_kind k);
size_t world_count(const struct world *w, enum world_kind k);
/* API calls made to build the world, and objects read, for reports and benchmarks. */
struct world_stats {
	uint64_t api_calls;   /* requests: discovery, LIST pages, WATCH, logs */
	uint64_t list_calls, log_calls;
	uint64_t objects;
	uint64_t load_ms;     /* wall time of world_load_live / world_load_snapshot */
	uint64_t logs_ms;
};
void world_get_stats(const struct world *w, struct world_stats *out);
void world_count_api_call(struct world *w, bool is_log);

/* One object. */
struct wobj {
	const struct kube_objstore *st;
	uint32_t id; /* KUBE_OBJ_NONE: no object */
	enum world_kind kind;
};
static inline bool wobj_ok(struct wobj o) { return o.id != KUBE_OBJ_NONE; }

typedef int (*world_visit_fn)(void *ctx, struct wobj o); /* non-zero stops */
size_t world_each(const struct world *w, enum world_kind k, world_visit_fn fn, void *ctx);
size_t world_in_namespace(const struct world *w, enum world_kind k, const char *ns,
			  world_visit_fn fn, void *ctx);
size_t world_owned_by(const struct world *w, enum world_kind k, const char *owner_uid,
		      world_visit_fn fn, void *ctx);
/* Objects carrying label key=value ("app=web"). */
size_t world_with_label(const struct world *w, enum world_kind k, const char *kv,
			world_visit_fn fn, void *ctx);
/* Pods bound to a node. */
size_t world_pods_on_node(const struct world *w, const char *node, world_visit_fn fn, void *ctx);
/* Events whose involvedObject is uid (or, for events without a uid, kind/ns/name), oldest
 * first by lastTimestamp / eventTime. */
size_t world_events_for(struct world *w, const char *kind, const char *ns, const char *name,
			const char *uid, world_visit_fn fn, void *ctx);
struct wobj world_get(const struct world *w, enum world_kind k, const char *ns,
		      const char *name);
struct wobj world_by_uid(struct world *w, const char *uid);

/* Reading a field without decoding: dotted paths as kube_objstore_get. */
uint32_t wobj_get(struct wobj o, const char *path);
/* The string at path, copied into buf (size n); NULL when absent or not a string. */
const char *wobj_str(struct wobj o, const char *path, char *buf, size_t n);
bool wobj_str_eq(struct wobj o, const char *path, const char *s);
int64_t wobj_int(struct wobj o, const char *path, int64_t def);
bool wobj_bool(struct wobj o, const char *path, bool def);
/* Whether the labels (a string map) at path of o match sel ("metadata.labels",
 * "spec.template.metadata.labels"). */
struct kube_selector;
bool wobj_labels_match(struct wobj o, const char *path, const struct kube_selector *sel);
/* Label look-up over a stored string map, for kube_label_lookup_fn users (selectors, node
 * requirements): wobj_labels_at(&l, o, "metadata.labels"), then wobj_label_lookup(&l, key).
 * The value returned is valid until the next look-up. */
struct wobj_labels {
	struct wobj labels;
	char buf[512];
};
void wobj_labels_at(struct wobj_labels *l, struct wobj o, const char *path);
const char *wobj_label_lookup(void *ctx, const char *key);
/* Objects of kind k in namespace ns (NULL: any) whose metadata.labels match sel; through
 * the label index when sel has an equality requirement (so a Service's pods are found
 * without scanning its namespace). Returns the number visited. */
size_t world_matching(const struct world *w, enum world_kind k, const char *ns,
		      const struct kube_selector *sel, world_visit_fn fn, void *ctx);
/* metadata.name / namespace / uid, interned for the world's life (never NULL; "" absent). */
const char *wobj_name(struct world *w, struct wobj o);
const char *wobj_ns(struct world *w, struct wobj o);
const char *wobj_uid(struct world *w, struct wobj o);
/* The whole object decoded, cached until world_free (never NULL for a valid wobj). */
const cJSON *world_json(struct world *w, struct wobj o);
/* A memo of derived values for the world's life (an analyzer's per-spec results): get
 * returns what put stored under key, or NULL; put takes a malloc'd value (freed by
 * world_free; a second put of the key frees the first). */
void *world_memo_get(const struct world *w, const char *key);
void world_memo_put(struct world *w, const char *key, void *value);
/* Intern a string for the world's life. */
const char *world_strdup(struct world *w, const char *s);

/* Secrets: whether data[key] of Secret ns/name exists, and whether its value equals v. */
bool world_secret_has_key(struct world *w, const char *ns, const char *name, const char *key);
bool world_secret_matches(struct world *w, const char *ns, const char *name, const char *key,
			  const char *value, size_t len);
/* Whether s contains the value of any Secret key (values of 6 bytes or more), so that text
 * from logs and events can be redacted before it is shown. */
bool world_text_has_secret(struct world *w, const char *s, size_t len);
/* A copy of s with every Secret value found as above replaced by "[redacted]" (caller frees). */
char *world_redact(struct world *w, const char *s);

/* Container logs. */
struct world_log {
	const char *ns, *pod, *container;
	bool previous;   /* the last terminated instance */
	const char *text; /* the tail, secret values already redacted */
	bool truncated;
	const char *error; /* why it could not be read, or NULL */
};
/* Which containers' logs to read: every container that is waiting in CrashLoopBackOff,
 * terminated non-zero, restarted with a non-zero last exit, or running unready; previous
 * instance for the restarted. tail lines and a byte ceiling per log; concurrency limit. */
struct world_log_opts {
	int64_t tail_lines;   /* 0: 50 */
	int64_t limit_bytes;  /* 0: 64 KiB */
	int parallel;         /* 0: 8 */
	size_t max_logs;      /* 0: 200 */
	const char *ns;       /* NULL: all */
};
int world_fetch_logs(struct world *w, struct kube_client *c, const struct world_log_opts *o,
		     struct ks_err *err);
/* The log of a container (previous or current instance), or NULL when none was read. */
const struct world_log *world_log(const struct world *w, const char *ns, const char *pod,
				  const char *container, bool previous);
/* Add a log (snapshots, tests); text is copied and redacted. */
void world_add_log(struct world *w, const char *ns, const char *pod, const char *container,
		   bool previous, const char *text, bool truncated, const char *error);

/* Container metrics, read from Prometheus by world_fetch_metrics (src/world/promfetch.c) or
 * from a snapshot. name is one of the WM_* names; container "" for a pod-level value.
 * world_add_metric replaces an earlier value of the same key. */
#define WM_CPU_AVG_CORES "cpu_avg_cores"         /* mean CPU use over the window */
#define WM_CPU_P95_CORES "cpu_p95_cores"         /* 95th percentile of 5-minute rates */
#define WM_MEM_MAX_BYTES "memory_max_bytes"      /* peak working set over the window */
#define WM_CPU_THROTTLED_RATIO "cpu_throttled_ratio" /* throttled periods / periods */
#define WM_OOM_EVENTS "oom_events"               /* OOM kills in the window */
void world_add_metric(struct world *w, const char *name, const char *ns, const char *pod,
		      const char *container, double value);
bool world_metric(const struct world *w, const char *name, const char *ns, const char *pod,
		  const char *container, double *out);
/* The window the metrics cover, in seconds (0: no metrics were read). */
void world_set_metrics_window(struct world *w, double seconds);
double world_metrics_window(const struct world *w);

/* Whether any metric was read (analyses that need usage say so when not). */
bool world_has_metrics(const struct world *w);

#endif
