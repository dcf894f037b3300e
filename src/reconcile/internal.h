/* internal.h — what the reconciler's files share (not for other modules).
 *
 * Files, one concern each: plan.c (shape checks, the step view, fingerprints), intent.c (the
 * write-ahead intent log and the audit table), execute.c (apply, idempotency, rollback,
 * resume), verify.c (the checks after a step), owners.c (Helm / Argo CD / Flux detection),
 * helm.c (changes through a Helm release), gitops.c (patch files committed to a git repo),
 * secretstep.c (a Secret key from Vault), diff.c (server-side dry runs and their diffs),
 * run.c (running helm, git and gzip without a shell).
 * Ownership: a struct rc_step borrows the plan's JSON; everything else says so. */
#ifndef KS_RECONCILE_INTERNAL_H
#define KS_RECONCILE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "kube/client.h"
#include "reconcile/reconcile.h"

struct ks_err;
struct vault_client;

/* Ceilings of a plan (reconcile_plan_check). */
#define RC_MAX_STEPS 64
#define RC_MAX_ID 63
#define RC_MAX_NAME 253
#define RC_MAX_PATCH ((size_t)256 << 10)  /* a step's patch, printed */
#define RC_MAX_PLAN ((size_t)4 << 20)     /* a whole plan, printed */
#define RC_MAX_TIMEOUT_S 3600
/* Output kept from a child process (helm get values, git), and how long one may run. */
#define RC_RUN_OUT_MAX ((size_t)16 << 20)
#define RC_RUN_TIMEOUT_MS 300000

struct reconciler {
	struct reconcile_opts o; /* strings below are copies */
	char *cluster, *field_manager, *kubeconfig, *kube_context, *helm_bin, *git_bin;
	char *gitops_repo, *gitops_dir, *vault_addr, *vault_token, *vault_namespace;
	pthread_mutex_t mu;
};

/* A step of a plan, as read by rc_step_parse: pointers into the plan's JSON. */
struct rc_step {
	const cJSON *json;
	const char *id, *action; /* "patch", "restart", "secret-from-source" */
	const cJSON *target;
	const char *api_version, *kind, *ns, *name, *uid;
	enum kube_patch_type patch_type;
	const cJSON *patch;       /* patch steps */
	const char *secret_key;   /* secret-from-source: the Secret's data key */
	const char *vault_mount, *vault_path, *vault_field;
	const cJSON *preconditions;
	const cJSON *verify;
	int timeout_s;            /* 0: the reconciler's default */
};

/* Who manages an object (owners.c). */
enum rc_via { RC_VIA_LIVE, RC_VIA_HELM, RC_VIA_GITOPS };
struct rc_owner {
	enum rc_via via;
	char release[64], release_ns[64]; /* helm */
	char tool[16];                    /* gitops: "argocd" or "flux" */
	char app[128];                    /* gitops: the Argo CD app or Flux object */
};

/* plan.c */
int rc_step_parse(const cJSON *step, struct rc_step *out, struct ks_err *err);
const char *rc_via_name(enum rc_via v);
const char *rc_patch_type_name(enum kube_patch_type t);

/* owners.c */
void rc_owner_detect(const cJSON *obj, struct rc_owner *out);

/* run.c: run argv[0] (searched in $PATH) with KUBECONFIG=kubeconfig when not NULL, in cwd
 * when not NULL, stdin from in_path (NULL: /dev/null). stdout into out (bounded by
 * out's ceiling; out may be NULL); a non-zero exit is KS_EIO with the command and the
 * first line(s) of its stderr; past RC_RUN_TIMEOUT_MS it is killed (KS_ETIMEOUT). */
int rc_run(const char *const argv[], const char *kubeconfig, const char *cwd,
	   const char *in_path, struct ks_buf *out, struct ks_err *err);

/* intent.c: the intent log (tables recon_plans, recon_steps, recon_audit). Plan states:
 * "running", "rolling_back", then "succeeded", "failed", "rolled_back". Step states:
 * "intent" (committed before the cluster is touched), "applied", "already_applied",
 * "verified", "failed", "rolled_back", "rollback_failed". */
struct rc_intent {
	char *plan_id, *step_id, *state, *via, *action;
	cJSON *target;
	cJSON *before;     /* the object before (Secret data values as fingerprints) */
	cJSON *change;     /* the change as applied (patch, restart value, helm set, file) */
	cJSON *inverse;    /* how it is undone (what rollback does) */
	cJSON *secret_before; /* secret steps: {"key":"…","had":true,"b64":"…"} — the only
			       * place a previous secret value is kept (for rollback) */
	char *after_rv;
	int64_t after_generation;
	char *why;
};
void rc_intent_release(struct rc_intent *in);
int rc_log_plan_begin(struct reconciler *r, const char *plan_id, const cJSON *plan,
		      const char *approved_by, struct ks_err *err);
int rc_log_plan_state(struct reconciler *r, const char *plan_id, const char *state,
		      const char *why, struct ks_err *err);
/* Write (insert or replace) a step's row. */
int rc_log_step(struct reconciler *r, const struct rc_intent *in, struct ks_err *err);
/* The step's row; KS_ENOTFOUND when none. */
int rc_log_step_get(struct reconciler *r, const char *plan_id, const char *step_id,
		    struct rc_intent *out, struct ks_err *err);
/* Plans not ended: *ids is a JSON array of {"plan_id","plan","approved_by","state"}. */
int rc_log_unfinished(struct reconciler *r, cJSON **plans, struct ks_err *err);
/* Append one audit record (before/after must already carry fingerprints only). */
int rc_audit_add(struct reconciler *r, const char *plan_id, const char *step_id,
		 const char *approved_by, const char *action, const char *via,
		 const cJSON *target, const cJSON *before, const cJSON *after,
		 const char *result, const char *why, struct ks_err *err);

/* diff.c */
/* The object's restorable content: a copy without status and the server-managed
 * metadata (resourceVersion, uid, generation, managedFields, creationTimestamp, selfLink). */
cJSON *rc_content(const cJSON *obj);
/* Changes between two objects' contents as [{"path","before","after"}] (leaf level, arrays
 * compared whole), Secret data values replaced by fingerprints when secret is true. */
cJSON *rc_changes(const cJSON *before, const cJSON *after, bool secret);
/* A unified-style text diff of two objects' contents (one line per leaf). */
char *rc_diff_text(const cJSON *before, const cJSON *after, bool secret);
/* Rollback of a live step (diff.c): the JSON merge patch turning after back into before
 * (both rc_content; only the paths that differ; keys starting with '_' skipped), the values
 * after holds at the paths it restores (same shape, null for absent), and whether cur
 * (rc_content) still holds them. */
cJSON *rc_inverse_merge(const cJSON *before, const cJSON *after);
cJSON *rc_expected(const cJSON *inverse, const cJSON *after);
bool rc_still_ours(const cJSON *inverse, const cJSON *expect, const cJSON *cur);
/* Replace every value of data/stringData by its fingerprint (a Secret), in place. */
void rc_redact_secret(cJSON *obj);

/* verify.c: run the step's checks until they pass or the deadline; *ok, and a sentence
 * in why (no secret values). */
int rc_verify_step(struct reconciler *r, const struct rc_step *st, bool *ok, char *why,
		   size_t why_len, struct ks_err *err);

/* helm.c: change an object owned by a Helm release through the release. change/inverse
 * get what was done and how to undo it. */
int rc_helm_apply(struct reconciler *r, const struct rc_step *st, const cJSON *live,
		  const struct rc_owner *ow, bool dry_run, cJSON **change, cJSON **inverse,
		  struct ks_err *err);
int rc_helm_undo(struct reconciler *r, const cJSON *inverse, struct ks_err *err);

/* gitops.c: write and commit the patch file; change gets {"file","commit"}. */
int rc_gitops_apply(struct reconciler *r, const char *plan_id, const struct rc_step *st,
		    const struct rc_owner *ow, bool dry_run, cJSON **change, struct ks_err *err);
int rc_gitops_undo(struct reconciler *r, const char *plan_id, const cJSON *change,
		   struct ks_err *err);

/* secretstep.c: the value for a secret-from-source step, read from Vault (caller wipes
 * and frees *value). */
int rc_secret_fetch(struct reconciler *r, const struct rc_step *st, char **value, size_t *len,
		    struct ks_err *err);
/* The merge patch setting data[key] to value (base64); the caller wipes and frees it. */
char *rc_secret_patch(const char *key, const char *value, size_t len);

/* execute.c helpers used by diff.c */
const struct kube_resource *rc_resource(struct reconciler *r, const struct rc_step *st,
					struct ks_err *err);
/* The patch document a patch or restart step sends (restart: restartedAt = at). */
char *rc_step_patch_doc(const struct rc_step *st, const char *restarted_at,
			enum kube_patch_type *type);

#endif
