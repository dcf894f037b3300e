/* rootcause.h — the chains analyzers follow from a symptom to its cause, reusable by every
 * analyzer:
 *
 *  - owners:      pod -> ReplicaSet -> Deployment (or StatefulSet / DaemonSet / Job ->
 *                 CronJob) through controller ownerReferences and world_by_uid;
 *  - log errors:  a table of error patterns over a container's log (authentication,
 *                 connection refused, timeouts, DNS, missing env/config/file, permission,
 *                 out of memory, panics, bad flags, schema/migration), each match with a
 *                 category and what it names (a user, a host, a file, an env var, a key);
 *                 then the object the named thing lives in (the Secret and key behind the
 *                 credentials, the ConfigMap behind a mounted file, the Service of a host);
 *  - rollouts:    the two latest revisions of a workload (ReplicaSets by the
 *                 deployment.kubernetes.io/revision annotation, ControllerRevisions for
 *                 StatefulSets and DaemonSets), the diff of their pod templates, and the
 *                 Helm release that owns the workload (from the release Secrets' labels);
 *  - fixes:       strategic-merge patches of a workload's container (image, memory) and
 *                 "rollout undo" as a patch restoring the previous template's fields.
 *
 * Ownership: wobj values and cJSON pointers returned are borrowed from the world (valid
 * until world_free); patches returned are new trees the caller hands to diag_fix_patch. */
#ifndef KS_DIAG_ROOTCAUSE_H
#define KS_DIAG_ROOTCAUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "diag/finding.h"
#include "world/world.h"

/* ---- owners ---- */

struct rc_owners {
	struct wobj controller; /* the direct controller (ReplicaSet, StatefulSet, Job…) */
	struct wobj top;        /* the outermost controller (Deployment, CronJob…); the object
				 * itself when it has none */
};
/* Follow controller ownerReferences from o up to three levels. */
void rc_owners(struct world *w, struct wobj o, struct rc_owners *out);
/* The outermost controller of o, or o. */
struct wobj rc_top_owner(struct world *w, struct wobj o);
/* The controller ownerReference's uid of o, or "" (interned). */
const char *rc_controller_uid(struct world *w, struct wobj o);

/* ---- events ---- */

/* The latest event about o with this reason (any when NULL) whose message starts with
 * prefix (any when NULL); a zero wobj when none. */
struct wobj rc_latest_event(struct world *w, struct wobj o, const char *reason,
			    const char *prefix);

/* ---- container lookups in decoded objects ---- */

/* The pod template spec of a workload (spec.template.spec; for CronJob
 * spec.jobTemplate.spec.template.spec) or of a pod (spec). NULL when absent. */
const cJSON *rc_pod_spec(const cJSON *obj);
/* Container name in the pod spec (containers, then initContainers, ephemeral). */
const cJSON *rc_container(const cJSON *pod_spec, const char *name);

/* ---- log error patterns ---- */

enum rc_log_cat {
	RC_LOG_NONE = 0,
	RC_LOG_AUTH,        /* authentication/password failures */
	RC_LOG_SCHEMA,      /* schema version, pending migration, missing table/column */
	RC_LOG_DNS,         /* host name not resolved */
	RC_LOG_CONN_REFUSED,
	RC_LOG_TIMEOUT,     /* connect timeouts to a host */
	RC_LOG_TLS,         /* certificate errors */
	RC_LOG_MISSING_ENV, /* a required environment variable is not set */
	RC_LOG_MISSING_CONFIG, /* a configuration key/setting is missing */
	RC_LOG_MISSING_FILE,
	RC_LOG_PERMISSION,
	RC_LOG_OOM,         /* the runtime ran out of memory (heap), not the cgroup */
	RC_LOG_BAD_FLAG,    /* unknown flag/option on the command line */
	RC_LOG_PANIC,       /* panics, uncaught exceptions, tracebacks */
	RC_LOG_CAT_COUNT
};
/* "auth", "schema", "dns", … */
const char *rc_log_cat_name(enum rc_log_cat c);

enum rc_subject {
	RC_SUBJ_NONE = 0, RC_SUBJ_USER, RC_SUBJ_HOST, RC_SUBJ_FILE, RC_SUBJ_ENV, RC_SUBJ_KEY,
	RC_SUBJ_FLAG, RC_SUBJ_MIGRATION, RC_SUBJ_TABLE
};
const char *rc_subject_name(enum rc_subject s); /* "user", "host", … */

#define RC_LOG_LINE_MAX 512
struct rc_log_match {
	enum rc_log_cat cat;
	enum rc_subject subject_kind;
	char subject[160];          /* what the line names ("payments", "db:5432"), or "" */
	char line[RC_LOG_LINE_MAX]; /* the matching line (trimmed, cut at the ceiling) */
};
/* Scan a log text for the most telling error: the categories are tried in the order of the
 * enum (a more specific one first), each over every line; the first hit wins. Returns
 * false when nothing matches. At most RC_LOG_SCAN_MAX bytes of text are read. */
#define RC_LOG_SCAN_MAX ((size_t)256 << 10)
bool rc_log_scan(const char *text, struct rc_log_match *m);
/* The last n non-empty lines of text, for evidence ("" when none); caller frees. */
char *rc_log_tail(const char *text, int n);

/* What a log error points at. */
enum rc_link_kind {
	RC_LINK_NONE = 0,
	RC_LINK_SECRET_KEY,    /* env valueFrom.secretKeyRef */
	RC_LINK_SECRET,        /* envFrom.secretRef, or a Secret volume */
	RC_LINK_CONFIGMAP_KEY, /* env valueFrom.configMapKeyRef */
	RC_LINK_CONFIGMAP,     /* envFrom.configMapRef, or a ConfigMap volume */
	RC_LINK_ENV_LITERAL,   /* env value set in the template */
	RC_LINK_ENV_ABSENT,    /* the named env var is not set by the template */
	RC_LINK_SERVICE,       /* the host is a Service of the cluster */
};
struct rc_link {
	enum rc_link_kind kind;
	struct diag_ref obj;  /* the Secret / ConfigMap / Service (uid "" when it is missing) */
	bool exists;          /* obj is in the world */
	char key[128];        /* the key in it, or "" */
	char env[128];        /* the env var through which the container reads it, or "" */
};
/* Link a log match to the object behind it, given the pod spec, the container spec and the
 * namespace. Returns false when nothing can be named. */
bool rc_log_link(struct world *w, const char *ns, const cJSON *pod_spec, const cJSON *container,
		 const struct rc_log_match *m, struct rc_link *out);

/* ---- rollouts ---- */

#define RC_REV_MAX 24
struct rc_rollout {
	struct wobj cur, prev;       /* ReplicaSets or ControllerRevisions; prev may be none */
	char cur_rev[RC_REV_MAX], prev_rev[RC_REV_MAX];
	const cJSON *cur_tpl, *prev_tpl; /* pod templates (spec.template) */
	int32_t prev_ready;          /* ready replicas of the previous ReplicaSet (-1 unknown) */
};
/* The two latest revisions of a Deployment, StatefulSet or DaemonSet. Returns false when
 * the workload has no revision at all; prev is none when it has one. */
bool rc_rollout_find(struct world *w, struct wobj workload, struct rc_rollout *out);
/* Whether revision object rev (a ReplicaSet, ControllerRevision, or the pod's
 * controller-revision-hash) is the current one. */
bool rc_rollout_pod_is_current(struct world *w, const struct rc_rollout *r, struct wobj pod);

struct rc_change {
	char container[64];
	char field[32];     /* "image", "env", "resources", "readinessProbe", "command"… */
	char path[160];     /* "spec.template.spec.containers[api].image" */
	char before[256], after[256]; /* compact JSON or the string ("" absent) */
};
/* Differences between the previous and the current template, up to max; returns the count
 * found (may exceed max). */
size_t rc_rollout_diff(const struct rc_rollout *r, struct rc_change *out, size_t max);
/* Add every change as diag_ev_diff evidence on f (source: the workload); returns the count. */
size_t rc_ev_rollout_diff(struct diag_finding *f, const struct diag_ref *workload,
			  const struct rc_rollout *r);

/* The Helm release owning a workload. */
struct rc_helm {
	char release[128], ns[64];
	int64_t revision, prev_revision;  /* from the release Secrets (0 unknown) */
	char status[32], prev_status[32];
	struct diag_ref secret;           /* the latest release Secret */
};
bool rc_helm_release(struct world *w, struct wobj workload, struct rc_helm *out);
/* Evidence and a related object naming the release and its revision. */
void rc_ev_helm(struct diag_finding *f, const struct diag_ref *workload, const struct rc_helm *h);

/* ---- remediation builders (strategic-merge patches of a workload) ---- */

/* {"spec":{"template":{"spec":{"containers":[{"name":C,"image":I}]}}}} (for CronJob under
 * spec.jobTemplate.spec.template). */
cJSON *rc_patch_image(const char *workload_kind, bool init, const char *container,
		      const char *image);
/* The container's memory limit (and request, when not NULL). */
cJSON *rc_patch_memory(const char *workload_kind, bool init, const char *container,
		       const char *limit, const char *request);
/* "rollout undo": the previous template's values of every field that differs (null for a
 * field the previous template lacked; env entries added since deleted by name). NULL when
 * there is no previous revision or nothing differs. */
cJSON *rc_patch_undo(const struct rc_rollout *r, const char *workload_kind);

/* Memory: bytes of a quantity string (-1 when unparsable), and bytes as a quantity ("384Mi"). */
int64_t rc_mem_bytes(const char *q);
void rc_mem_format(int64_t bytes, char *out, size_t n);

#endif
