/* reconcile.h — Layer 1: carry out decided plans as desired-state changes through the API
 * server, idempotently, verified, rolled back on regression, audited (DESIGN.md "Plans").
 *
 * A plan is JSON (the body of a "plan" message; schema in docs/PLANS.md):
 *   {"plan_id":"p3","risk":"low|medium|high","title":"…","steps":[STEP,…], …}
 *   STEP = {"id":"s1","action":"patch"|"restart"|"secret-from-source",
 *           "target":{"apiVersion","kind","namespace","name","uid"},
 *           "patch_type":"strategic|merge|json","patch":{…},            (patch)
 *           "secret":{"key":"password","source":{"type":"vault","mount":"secret",
 *                     "path":"payments/db","field":"password"}},        (secret-from-source)
 *           "preconditions":{"uid":"…","resourceVersion":"…",
 *                            "fields":[{"path":"spec.replicas","equals":3}]},
 *           "verify":{"checks":["rollout","pods-ready","no-findings"],
 *                     "findings":["RolloutRegression"],"timeout_s":180},
 *           "summary":"…"}
 * Objects owned by a Helm release are changed through the release; objects owned by Argo CD
 * or Flux get a patch file committed to the configured git repository instead of a live
 * change (docs/RECONCILER.md).
 *
 * Execution is journaled in the store (write-ahead intent log): before a step touches the
 * cluster its intent (the object before, the change, the inverse) is committed; after, its
 * result. reconcile_resume, run at start, finishes or rolls back what a crash interrupted;
 * nothing is applied twice (a step already applied is recognised by its recorded
 * resourceVersion/generation and the object's state).
 *
 * Secret values never leave the reconciler: events, errors, audit records and diffs carry a
 * fingerprint ("sha256:1a2b3c4d") instead.
 *
 * Threads: one reconciler executes one plan at a time (calls are serialized by a mutex).
 * Ownership: opts strings are copied; the kube client, store and callbacks' ctx are borrowed
 * and must outlive the reconciler. cJSON trees handed out are the caller's. */
#ifndef KS_RECONCILE_H
#define KS_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct ks_err;
struct kube_client;
struct store;
struct reconciler;

/* What the reconciler tells the swarm as it works; the daemon turns each into a bus message
 * (step_started, step_done, verification, rollback, outcome). */
enum reconcile_event_kind {
	RECONCILE_STEP_STARTED,
	RECONCILE_STEP_DONE,
	RECONCILE_VERIFICATION, /* ok says whether it passed */
	RECONCILE_ROLLBACK,     /* one step undone (or the decision to roll back: step NULL) */
	RECONCILE_OUTCOME,      /* the plan ended: result is "succeeded"|"failed"|"rolled_back" */
};
struct reconcile_event {
	enum reconcile_event_kind kind;
	const char *plan_id;
	const char *step_id;   /* NULL for plan-wide events */
	const cJSON *target;   /* the step's target, or NULL */
	bool ok;
	const char *result;    /* OUTCOME only */
	const char *text;      /* one plain sentence, no secret values */
	const cJSON *body;     /* details (before/after with fingerprints, via, durations) */
};
typedef void (*reconcile_event_fn)(void *ctx, const struct reconcile_event *ev);

/* "no-findings" verification is asked of the caller (Layer 1 does not call Layer 2): set
 * *still_present when a finding with one of these causes is open on the target. */
typedef int (*reconcile_findings_fn)(void *ctx, const cJSON *target, const cJSON *causes,
				     bool *still_present, struct ks_err *err);

struct reconcile_opts {
	struct kube_client *kube; /* required */
	struct store *store;      /* required: intent log and audit */
	const char *cluster;
	const char *field_manager; /* default "kswarm" */
	const char *kubeconfig;    /* for helm (and kubectl-free git output); NULL: $KUBECONFIG */
	const char *kube_context;  /* NULL: current */
	const char *helm_bin;      /* default "helm" */
	const char *git_bin;       /* default "git" */
	const char *gitops_repo;   /* a git work tree for GitOps-owned objects; NULL: refuse them */
	const char *gitops_dir;    /* directory inside it, default "kswarm" */
	const char *vault_addr;    /* secret sources; NULL: secret-from-source steps fail */
	const char *vault_token;
	const char *vault_namespace;
	int poll_ms;               /* verification poll interval, default 1000 */
	int default_timeout_s;     /* verification deadline when a step names none, default 300 */
	reconcile_event_fn on_event;
	reconcile_findings_fn findings;
	void *ctx;
};

int reconcile_new(const struct reconcile_opts *o, struct reconciler **out, struct ks_err *err);
void reconcile_free(struct reconciler *r);

/* Check a plan's shape (every field above, ceilings) without touching the cluster. */
int reconcile_plan_check(const cJSON *plan, struct ks_err *err);

/* The server-side dry run of every step (dryRun=All), without changing anything: *out is
 * {"plan_id","steps":[{"id","target","via":"live|helm|gitops","diff":"unified text",
 *   "changes":[{"path","before","after"}],"rollback":"…how it would be undone…"}]}
 * Secret values appear as fingerprints. */
int reconcile_dry_run(struct reconciler *r, const cJSON *plan, cJSON **out, struct ks_err *err);

/* Execute an approved plan (blocking until it succeeded, failed or was rolled back).
 * approved_by is recorded in the audit. *result is "succeeded", "failed" or "rolled_back".
 * Returns 0 when the plan ran to an outcome (whatever it was), negative when it could not
 * be started (bad plan, store error). */
int reconcile_execute(struct reconciler *r, const cJSON *plan, const char *approved_by,
		      const char **result, struct ks_err *err);

/* After a restart: every plan the intent log shows unfinished is finished (steps whose
 * intent was recorded are checked against the cluster, then the plan verified) or rolled
 * back. *resumed counts the plans handled. */
int reconcile_resume(struct reconciler *r, int *resumed, struct ks_err *err);

/* The audit trail (newest first, at most limit; plan_id NULL for all):
 * [{"plan_id","step_id","at","actor","approved_by","action","via","target","before",
 *   "after","result","why"}] with secrets as fingerprints. */
int reconcile_audit(struct reconciler *r, const char *plan_id, int limit, cJSON **out,
		    struct ks_err *err);

/* "sha256:" + the first 16 hex digits of SHA-256(value): how a secret value is shown. */
void reconcile_fingerprint(const void *value, size_t len, char out[24]);

#endif
