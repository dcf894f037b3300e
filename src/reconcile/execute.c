/* execute.c — carry out an approved plan: apply each step with its preconditions, verify
 * it, roll back what was done when a step fails or regresses, and journal every move in the
 * write-ahead intent log (intent.c) so that reconcile_resume can finish a plan a crash cut.
 *
 * The intent log's state machine, per step (column recon_steps.state):
 *
 *     (none) --check_preconditions, dry run shows no change--> already_applied
 *     (none) --log_intent: before, change, inverse committed--> intent
 *     intent --apply_step: the API server (or helm, or git) accepted it--> applied
 *     intent --apply_step refused (409 precondition, helm mapping, …)--> failed
 *     applied | already_applied --verify ok--> verified (already_applied stays)
 *     applied --verify failed or deadline--> regressed
 *     applied | verified | regressed --undo_step--> rolled_back | rollback_failed
 *
 * and per plan (recon_plans.state): running -> succeeded | failed, or running ->
 * rolling_back -> rolled_back | failed. A plan is "failed" when nothing had been changed
 * (the first step was refused) or when a rollback could not restore everything.
 *
 * Invariants:
 *  1. Nothing touches the cluster before its intent row is committed (log_intent); the row
 *     holds the object before, so a rollback is always possible after a crash.
 *  2. A step is never applied twice: on resume (and on a re-run) a step with a row is
 *     checked against the cluster first — its recorded resourceVersion before, or a dry
 *     run of the same change (the same restartedAt value, the same Secret value) showing no
 *     change means "already there" (resolve_intent).
 *  3. Every write carries a precondition: the patch holds metadata.resourceVersion (the
 *     server answers 409 when the object moved); a rollback first checks that every path
 *     it restores still holds what the step left (else someone changed it since: refused),
 *     then patches at the read resourceVersion.
 *  4. Secret values live only in memory and in recon_steps.secret_before until the plan
 *     ends; events, audit, errors and diffs get fingerprints (diff.c rc_redact_secret).
 *
 * Rollback restores the exact previous state of what the step changed: the inverse merge
 * patch recorded at apply time (record_inverse: the paths where the server's answer differs
 * from the object read before), a Secret's one key, a Helm release's previous revision
 * (helm rollback), or reverts the GitOps commit. Changes others made elsewhere are kept.
 * Test hook: KSWARM_RECONCILE_STALL_MS (milliseconds) sleeps after each intent is committed
 * and before the cluster is touched, and after the decision to roll back is recorded, so a
 * test can kill -9 the process in those windows. */
#include "base/common.h"
#include "base/base64.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "kube/apply.h"
#include "reconcile/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RESTART_ANNOTATION "kubectl.kubernetes.io/restartedAt"

static char *dup_or(const char *s, const char *def)
{
	return s ? ks_strdup(s) : def ? ks_strdup(def) : NULL;
}

int reconcile_new(const struct reconcile_opts *o, struct reconciler **out, struct ks_err *err)
{
	*out = NULL;
	if (!o || !o->kube || !o->store)
		return ks_err_set(err, KS_EINVAL,
				  "reconciler: a kube client and a store are needed");
	struct reconciler *r = ks_calloc(1, sizeof *r);
	r->o = *o;
	r->cluster = dup_or(o->cluster, "default");
	r->field_manager = dup_or(o->field_manager, "kswarm");
	r->kubeconfig = dup_or(o->kubeconfig ? o->kubeconfig : getenv("KUBECONFIG"), NULL);
	r->kube_context = dup_or(o->kube_context, NULL);
	r->helm_bin = dup_or(o->helm_bin, "helm");
	r->git_bin = dup_or(o->git_bin, "git");
	r->gitops_repo = dup_or(o->gitops_repo, NULL);
	r->gitops_dir = dup_or(o->gitops_dir, "kswarm");
	r->vault_addr = dup_or(o->vault_addr, NULL);
	r->vault_token = dup_or(o->vault_token, NULL);
	r->vault_namespace = dup_or(o->vault_namespace, NULL);
	if (r->o.poll_ms <= 0)
		r->o.poll_ms = 1000;
	if (r->o.default_timeout_s <= 0)
		r->o.default_timeout_s = 300;
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return 0;
}

void reconcile_free(struct reconciler *r)
{
	if (!r)
		return;
	char **strs[] = {&r->cluster, &r->field_manager, &r->kubeconfig, &r->kube_context,
			 &r->helm_bin, &r->git_bin, &r->gitops_repo, &r->gitops_dir,
			 &r->vault_addr, &r->vault_token, &r->vault_namespace};
	if (r->vault_token)
		explicit_bzero(r->vault_token, strlen(r->vault_token));
	for (size_t i = 0; i < KS_ARRAY_LEN(strs); i++)
		free(*strs[i]);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

const struct kube_resource *rc_resource(struct reconciler *r, const struct rc_step *st,
					struct ks_err *err)
{
	return kube_resource_of(r->o.kube, st->target, err);
}

char *rc_step_patch_doc(const struct rc_step *st, const char *restarted_at,
			enum kube_patch_type *type)
{
	if (strcmp(st->action, "restart") == 0) {
		*type = KUBE_PATCH_STRATEGIC;
		return ks_asprintf("{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
				   "{\"" RESTART_ANNOTATION "\":\"%s\"}}}}}", restarted_at);
	}
	*type = st->patch_type;
	return ks_json_print(st->patch);
}

/* The same document with a resourceVersion precondition: merge and strategic patches carry
 * metadata.resourceVersion, a JSON patch starts with a "test" of it. */
static char *with_rv(const char *doc, enum kube_patch_type type, const char *rv)
{
	if (type != KUBE_PATCH_JSON && doc[0] == '{' && !strstr(doc, "\"metadata\"")) {
		/* Spliced as text: a Secret's value is not copied into a parsed tree. */
		return ks_asprintf("{\"metadata\":{\"resourceVersion\":\"%s\"}%s%s", rv,
				   doc[1] == '}' ? "" : ",", doc + 1);
	}
	cJSON *d = cJSON_Parse(doc);
	if (!d)
		return ks_strdup(doc);
	if (type == KUBE_PATCH_JSON) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "op", "test");
		cJSON_AddStringToObject(t, "path", "/metadata/resourceVersion");
		cJSON_AddStringToObject(t, "value", rv);
		cJSON_InsertItemInArray(d, 0, t);
	} else {
		cJSON *m = cJSON_GetObjectItemCaseSensitive(d, "metadata");
		if (!cJSON_IsObject(m))
			m = cJSON_AddObjectToObject(d, "metadata");
		cJSON_DeleteItemFromObjectCaseSensitive(m, "resourceVersion");
		cJSON_AddStringToObject(m, "resourceVersion", rv);
	}
	char *s = ks_json_print(d);
	cJSON_Delete(d);
	return s;
}

/* ---- events and audit ---- */

struct run {
	struct reconciler *r;
	const cJSON *plan;
	const char *plan_id, *approved_by;
	bool resuming;
	int n_changed; /* steps this run changed (or found changed by its interrupted self) */
};

static void emit(struct run *x, enum reconcile_event_kind kind, const struct rc_step *st,
		 bool ok, const char *result, const char *text, const cJSON *body)
{
	if (!x->r->o.on_event)
		return;
	struct reconcile_event ev = {.kind = kind, .plan_id = x->plan_id,
				     .step_id = st ? st->id : NULL,
				     .target = st ? st->target : NULL, .ok = ok, .result = result,
				     .text = text, .body = body};
	x->r->o.on_event(x->r->o.ctx, &ev);
}

static void audit(struct run *x, const struct rc_step *st, const char *action, const char *via,
		  const cJSON *before, const cJSON *after, const char *result, const char *why)
{
	struct ks_err e = {0};
	if (rc_audit_add(x->r, x->plan_id, st ? st->id : NULL, x->approved_by, action, via,
			 st ? st->target : NULL, before, after, result, why, &e))
		KS_WARN("reconcile", "plan %s: audit: %s", x->plan_id, e.msg);
}

/* ---- preconditions ---- */

static bool is_secret(const struct rc_step *st)
{
	return strcmp(st->kind, "Secret") == 0;
}

/* The object must be the one the plan was made for (checked before anything else). */
static int check_uid(const struct rc_step *st, const cJSON *live, struct ks_err *err)
{
	const char *uid = ks_json_str_or(live, "metadata.uid", "");
	const char *want_uid = ks_json_str(st->preconditions, "uid");
	if (!want_uid)
		want_uid = st->uid;
	if (want_uid && strcmp(want_uid, uid) != 0)
		return ks_err_set(err, KS_ECONFLICT,
				  "precondition: %s %s/%s has uid %s, the plan expects %s (it was "
				  "deleted and created again)", st->kind, st->ns ? st->ns : "",
				  st->name, uid, want_uid);
	return 0;
}

/* resourceVersion and field values (after the idempotency check: a step already applied
 * has moved the resourceVersion itself). */
static int check_preconditions(const struct rc_step *st, const cJSON *live, struct ks_err *err)
{
	const char *rv = ks_json_str_or(live, "metadata.resourceVersion", "");
	const char *want_rv = ks_json_str(st->preconditions, "resourceVersion");
	if (want_rv && strcmp(want_rv, rv) != 0)
		return ks_err_set(err, KS_ECONFLICT,
				  "precondition: %s %s/%s is at resourceVersion %s, the plan was "
				  "made at %s (it changed since)", st->kind, st->ns ? st->ns : "",
				  st->name, rv, want_rv);
	const cJSON *f;
	cJSON_ArrayForEach(f, ks_json_child(st->preconditions, "fields")) {
		const char *path = ks_json_str(f, "path");
		const cJSON *have = ks_json_get(live, path), *want = ks_json_child(f, "equals");
		if (have && cJSON_Compare(have, want, true))
			continue;
		if (is_secret(st) && (strncmp(path, "data", 4) == 0 ||
				      strncmp(path, "stringData", 10) == 0))
			return ks_err_set(err, KS_ECONFLICT,
					  "precondition: field %s does not hold the expected value",
					  path);
		char *h = have ? cJSON_PrintUnformatted(have) : NULL;
		char *w = cJSON_PrintUnformatted(want);
		int rc = ks_err_set(err, KS_ECONFLICT, "precondition: field %s is %s, the plan "
				    "expects %s", path, h ? h : "absent", w ? w : "?");
		cJSON_free(h);
		cJSON_free(w);
		return rc;
	}
	return 0;
}

/* ---- apply ---- */

/* What a live step sends: the patch document and its type; for a Secret the value is read
 * from its source here (doc then holds it: the caller wipes it). */
static int step_doc(struct run *x, const struct rc_step *st, const char *restarted_at,
		    char **doc, enum kube_patch_type *type, char fp[24], struct ks_err *err)
{
	*doc = NULL;
	if (strcmp(st->action, "secret-from-source") != 0) {
		*doc = rc_step_patch_doc(st, restarted_at, type);
		return 0;
	}
	char *value = NULL;
	size_t len = 0;
	int rc = rc_secret_fetch(x->r, st, &value, &len, err);
	if (rc)
		return rc;
	reconcile_fingerprint(value, len, fp);
	*doc = rc_secret_patch(st->secret_key, value, len);
	*type = KUBE_PATCH_MERGE;
	explicit_bzero(value, len);
	free(value);
	return 0;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Whether applying doc would change nothing (a server-side dry run). */
static int no_change(struct run *x, const struct kube_resource *res, const struct rc_step *st,
		     const cJSON *live, const char *doc, enum kube_patch_type type, bool *same,
		     struct ks_err *err)
{
	struct kube_patch_opts po = {.type = type, .field_manager = x->r->field_manager,
				     .dry_run = true};
	cJSON *dry = NULL;
	int rc = kube_patch(x->r->o.kube, res, st->ns, st->name, doc, strlen(doc), &po, &dry,
			    err);
	if (rc)
		return rc;
	cJSON *a = rc_content(live), *b = rc_content(dry);
	*same = cJSON_Compare(a, b, true);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(dry);
	return 0;
}

/* The before-object as kept in the log and audit: a Secret's values as fingerprints. */
static cJSON *before_for_log(const struct rc_step *st, const cJSON *live)
{
	cJSON *b = rc_content(live);
	cJSON_AddStringToObject(b, "_resourceVersion",
				ks_json_str_or(live, "metadata.resourceVersion", ""));
	cJSON_AddNumberToObject(b, "_generation",
				(double)ks_json_int_or(live, "metadata.generation", 0));
	cJSON_AddStringToObject(b, "_uid", ks_json_str_or(live, "metadata.uid", ""));
	if (is_secret(st))
		rc_redact_secret(b);
	return b;
}

static cJSON *secret_before(const struct rc_step *st, const cJSON *live)
{
	cJSON *sb = cJSON_CreateObject();
	cJSON_AddStringToObject(sb, "key", st->secret_key);
	const cJSON *v = ks_json_child(ks_json_child(live, "data"), st->secret_key);
	cJSON_AddBoolToObject(sb, "had", cJSON_IsString(v));
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(sb, "b64", v->valuestring);
	return sb;
}

static void stall_for_tests(void)
{
	const char *s = getenv("KSWARM_RECONCILE_STALL_MS");
	int64_t ms = 0;
	if (!s || !ks_parse_int64(s, &ms) || ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void record_after(struct rc_intent *in, const cJSON *obj)
{
	free(in->after_rv);
	in->after_rv = ks_strdup(ks_json_str_or(obj, "metadata.resourceVersion", ""));
	in->after_generation = ks_json_int_or(obj, "metadata.generation", 0);
}

/* Record how a live, non-Secret step is undone: the inverse merge patch and the values the
 * step left (checked before the undo). */
static void record_inverse(struct rc_intent *in, const cJSON *before, const cJSON *after_obj)
{
	cJSON *ac = rc_content(after_obj);
	cJSON *inv = rc_inverse_merge(before, ac);
	cJSON_DeleteItemFromObjectCaseSensitive(in->inverse, "patch");
	cJSON_DeleteItemFromObjectCaseSensitive(in->inverse, "expect");
	cJSON_AddItemToObject(in->inverse, "expect", rc_expected(inv, ac));
	cJSON_AddItemToObject(in->inverse, "patch", inv);
	cJSON_Delete(ac);
}

/* A Secret step's key still holds the value the step wrote (by fingerprint). */
static bool secret_still_ours(const struct rc_intent *in, const char *key, const cJSON *cur)
{
	const char *want = ks_json_str(ks_json_child(in->change, "data"), key);
	const char *b64 = ks_json_str(ks_json_child(cur, "data"), key);
	if (!want || !b64)
		return false;
	unsigned char *raw = NULL;
	size_t n = 0;
	if (ks_base64_decode(b64, strlen(b64), &raw, &n, NULL))
		return false;
	char fp[24];
	reconcile_fingerprint(raw, n, fp);
	explicit_bzero(raw, n);
	free(raw);
	return strcmp(fp, want) == 0;
}

/* A step with a row from an interrupted run (or a finished earlier run of the same plan):
 * decide whether its change is already on the object. *applied: yes. */
static int resolve_intent(struct run *x, const struct kube_resource *res,
			  const struct rc_step *st, const struct rc_intent *old,
			  const cJSON *live, const char *doc, enum kube_patch_type type,
			  bool *applied, struct ks_err *err)
{
	*applied = false;
	const char *before_rv = ks_json_str_or(old->before, "_resourceVersion", "");
	const char *rv = ks_json_str_or(live, "metadata.resourceVersion", "");
	if (strcmp(before_rv, rv) == 0)
		return 0; /* untouched since the intent: not applied */
	bool same = false;
	int rc = no_change(x, res, st, live, doc, type, &same, err);
	if (rc)
		return rc;
	*applied = same;
	return 0;
}

static void set_state(struct rc_intent *in, const char *state, const char *why)
{
	free(in->state);
	in->state = ks_strdup(state);
	free(in->why);
	in->why = ks_strdup(why ? why : "");
}

/* The live patch, with the read resourceVersion as precondition. A 409 caused only by a
 * status write (a controller; the generation, i.e. the spec, did not move) is retried
 * from a fresh read, whose object becomes the recorded before-state — unless the plan
 * named the resourceVersion itself. */
static int patch_at_rv(struct run *x, const struct kube_resource *res, const struct rc_step *st,
		       struct rc_intent *in, cJSON **live, const char *doc,
		       enum kube_patch_type type, cJSON **out, struct ks_err *err)
{
	struct kube_patch_opts po = {.type = type, .field_manager = x->r->field_manager};
	for (int attempt = 0;; attempt++) {
		char *sent = with_rv(doc, type, ks_json_str_or(*live, "metadata.resourceVersion",
							       ""));
		int rc = kube_patch(x->r->o.kube, res, st->ns, st->name, sent, strlen(sent), &po,
				    out, err);
		wipe_free(sent);
		if (rc != KS_ECONFLICT)
			return rc;
		int64_t gen = ks_json_int_or(*live, "metadata.generation", 0);
		cJSON *fresh = NULL;
		bool strict = ks_json_str(st->preconditions, "resourceVersion") != NULL;
		if (attempt >= 4 || gen == 0 || strict ||
		    kube_get(x->r->o.kube, res, st->ns, st->name, &fresh, NULL) ||
		    ks_json_int_or(fresh, "metadata.generation", -1) != gen ||
		    strcmp(ks_json_str_or(fresh, "metadata.uid", ""),
			   ks_json_str_or(*live, "metadata.uid", "?")) != 0) {
			cJSON_Delete(fresh);
			return ks_err_wrap(err,
					   "precondition: the object changed since it was read");
		}
		ks_err_clear(err);
		cJSON_Delete(*live);
		*live = fresh;
		cJSON_Delete(in->before);
		in->before = before_for_log(st, fresh);
		if ((rc = rc_log_step(x->r, in, err)))
			return rc;
	}
}

/* Apply one step. *changed tells whether this step is now ours to undo. */
static int apply_step(struct run *x, const struct rc_step *st, bool *changed,
		      struct ks_err *err)
{
	struct reconciler *r = x->r;
	*changed = false;
	const struct kube_resource *res = rc_resource(r, st, err);
	if (!res)
		return err->code ? err->code : KS_EINVAL;
	cJSON *live = NULL, *applied_obj = NULL, *change = NULL, *inverse = NULL;
	char *doc = NULL;
	char fp[24] = "";
	struct rc_intent old = {0}, in = {0};
	int rc = kube_get(r->o.kube, res, st->ns, st->name, &live, err);
	if (rc)
		goto out;
	struct rc_owner ow;
	rc_owner_detect(live, &ow);
	bool have_old = rc_log_step_get(r, x->plan_id, st->id, &old, NULL) == 0;
	/* A restart keeps the restartedAt value of its first intent: the same change. */
	char now[40];
	ks_time_format_rfc3339(ks_time_now_ms() / 1000, now, sizeof now);
	const char *restarted_at = ks_json_str_or(old.change, "restarted_at", now);
	enum kube_patch_type type = KUBE_PATCH_STRATEGIC;

	if (ow.via != RC_VIA_LIVE && strcmp(st->action, "patch") != 0) {
		rc = ks_err_set(err, KS_EUNSUPPORTED,
				"%s %s/%s is managed by %s (%s): a %s step is not done behind its "
				"back; change it at the source",
				st->kind, st->ns ? st->ns : "", st->name,
				ow.via == RC_VIA_HELM ? "Helm" : ow.tool,
				ow.via == RC_VIA_HELM ? ow.release : ow.app, st->action);
		if (ow.via == RC_VIA_HELM && strcmp(st->action, "restart") == 0) {
			/* Helm's three-way merge keeps an annotation it did not render: a
			 * restart survives the next upgrade, so it is done live. */
			ks_err_clear(err);
			rc = 0;
			ow.via = RC_VIA_LIVE;
		}
		if (rc)
			goto out;
	}
	/* Live and Helm-owned objects are compared with the change by a dry run of it (a Helm
	 * step's patch is what the release's new values render to). */
	bool dry_runs = ow.via != RC_VIA_GITOPS;
	if (dry_runs && (rc = step_doc(x, st, restarted_at, &doc, &type, fp, err)))
		goto out;

	in.plan_id = ks_strdup(x->plan_id);
	in.step_id = ks_strdup(st->id);
	in.via = ks_strdup(rc_via_name(ow.via));
	in.action = ks_strdup(st->action);
	in.target = cJSON_Duplicate(st->target, true);

	if ((rc = check_uid(st, live, err)))
		goto out;
	bool resumable = x->resuming && have_old && (strcmp(old.state, "intent") == 0 ||
						     strcmp(old.state, "applied") == 0);
	bool untouched = resumable && strcmp(ks_json_str_or(old.before, "_resourceVersion", ""),
					     ks_json_str_or(live, "metadata.resourceVersion",
							    "?")) == 0;
	if (dry_runs && resumable) {
		bool there = false;
		if ((rc = resolve_intent(x, res, st, &old, live, doc, type, &there, err)))
			goto out;
		if (!there && !untouched) {
			rc = ks_err_set(err, KS_ECONFLICT,
					"the object changed since the intent was recorded and does "
					"not hold the change: someone else wrote it; not applied "
					"over their change");
			goto out;
		}
		if (there) {
			/* Our interrupted self applied it: adopt, never apply again. */
			in.before = cJSON_Duplicate(old.before, true);
			in.change = cJSON_Duplicate(old.change, true);
			in.inverse = cJSON_Duplicate(old.inverse, true);
			in.secret_before = cJSON_Duplicate(old.secret_before, true);
			record_after(&in, live);
			if (ow.via == RC_VIA_LIVE && !is_secret(st) &&
			    !ks_json_child(in.inverse, "patch"))
				record_inverse(&in, in.before, live);
			set_state(&in, "applied", "found applied on resume");
			rc = rc_log_step(r, &in, err);
			*changed = true;
			audit(x, st, st->action, in.via, in.before, NULL, "applied",
			      "found applied after a restart; not applied again");
			goto out;
		}
	}
	/* A fresh step (or one the crash left before the cluster was touched). */
	if (dry_runs && !untouched) {
		bool same = false;
		if ((rc = no_change(x, res, st, live, doc, type, &same, err)))
			goto out;
		if (same) {
			in.before = before_for_log(st, live);
			record_after(&in, live);
			set_state(&in, "already_applied",
				  "the object already has the desired state");
			rc = rc_log_step(r, &in, err);
			audit(x, st, st->action, in.via, in.before, in.before, "already applied",
			      "a dry run of the change shows no difference");
			goto out;
		}
	}

	if (!untouched && (rc = check_preconditions(st, live, err)))
		goto out;

	/* The intent, committed before the cluster is touched. */
	in.before = before_for_log(st, live);
	change = cJSON_CreateObject();
	if (strcmp(st->action, "restart") == 0) {
		cJSON_AddStringToObject(change, "restarted_at", restarted_at);
	} else if (strcmp(st->action, "secret-from-source") == 0) {
		cJSON *d = cJSON_AddObjectToObject(change, "data");
		cJSON_AddStringToObject(d, st->secret_key, fp);
		in.secret_before = secret_before(st, live);
	} else {
		cJSON_AddStringToObject(change, "patch_type", rc_patch_type_name(st->patch_type));
		cJSON_AddItemToObject(change, "patch", cJSON_Duplicate(st->patch, true));
	}
	in.change = change;
	change = NULL;
	inverse = cJSON_CreateObject();
	cJSON_AddStringToObject(inverse, "restore", ow.via == RC_VIA_LIVE ? (is_secret(st) ?
				"secret-key" : "content") : rc_via_name(ow.via));
	in.inverse = inverse;
	inverse = NULL;
	if (ow.via == RC_VIA_HELM) {
		/* The mapping and the revision to roll back to, known before the upgrade. */
		cJSON *hc = NULL, *hi = NULL;
		if ((rc = rc_helm_apply(r, st, live, &ow, true, &hc, &hi, err)))
			goto out;
		cJSON_AddItemToObject(in.change, "helm", hc);
		cJSON_Delete(in.inverse);
		in.inverse = hi;
	}
	set_state(&in, "intent", NULL);
	if ((rc = rc_log_step(r, &in, err)))
		goto out;
	stall_for_tests();

	if (ow.via == RC_VIA_HELM) {
		cJSON *hc = NULL, *hi = NULL;
		rc = rc_helm_apply(r, st, live, &ow, false, &hc, &hi, err);
		if (!rc) {
			cJSON_DeleteItemFromObjectCaseSensitive(in.change, "helm");
			cJSON_AddItemToObject(in.change, "helm", hc);
			cJSON_Delete(hi); /* the same as recorded in the intent */
		}
	} else if (ow.via == RC_VIA_GITOPS) {
		cJSON *gc = NULL;
		rc = rc_gitops_apply(r, x->plan_id, st, &ow, false, &gc, err);
		if (!rc)
			cJSON_AddItemToObject(in.change, "gitops", gc);
	} else {
		rc = patch_at_rv(x, res, st, &in, &live, doc, type, &applied_obj, err);
	}
	if (rc) {
		set_state(&in, "failed", err->msg);
		rc_log_step(r, &in, NULL);
		audit(x, st, st->action, in.via, in.before, NULL, "failed", err->msg);
		goto out;
	}
	if (applied_obj) {
		record_after(&in, applied_obj);
		if (!is_secret(st))
			record_inverse(&in, in.before, applied_obj);
		/* What changed, leaf by leaf (a Secret's values as fingerprints): for events. */
		cJSON_AddItemToObject(in.change, "changes",
				      rc_changes(live, applied_obj, is_secret(st)));
	}
	else
		record_after(&in, live); /* helm / gitops: the live object is not ours */
	set_state(&in, "applied", NULL);
	*changed = true;
	if ((rc = rc_log_step(r, &in, err)))
		goto out;
	cJSON *after_log = applied_obj ? before_for_log(st, applied_obj) : NULL;
	audit(x, st, st->action, in.via, in.before, after_log ? after_log : in.change, "applied",
	      ow.via == RC_VIA_GITOPS ? "patch file committed; no live change" : "");
	cJSON_Delete(after_log);
out:
	wipe_free(doc);
	cJSON_Delete(live);
	cJSON_Delete(applied_obj);
	cJSON_Delete(change);
	cJSON_Delete(inverse);
	rc_intent_release(&old);
	rc_intent_release(&in);
	return rc;
}

/* ---- rollback ---- */

static int undo_live(struct run *x, const struct rc_step *st, const struct rc_intent *in,
		     struct ks_err *err)
{
	const struct kube_resource *res = rc_resource(x->r, st, err);
	if (!res)
		return err->code ? err->code : KS_EINVAL;
	int rc = 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		cJSON *cur = NULL, *out = NULL;
		if ((rc = kube_get(x->r->o.kube, res, st->ns, st->name, &cur, err)))
			return rc;
		const char *uid = ks_json_str_or(cur, "metadata.uid", "");
		const char *rv = ks_json_str_or(cur, "metadata.resourceVersion", "");
		if (strcmp(uid, ks_json_str_or(in->before, "_uid", "")) != 0) {
			rc = ks_err_set(err, KS_ECONFLICT, "the object was replaced (uid %s) "
					"since the change; not rolled back", uid);
			cJSON_Delete(cur);
			return rc;
		}
		const cJSON *sb = in->secret_before;
		const char *key = ks_json_str_or(sb, "key", st->secret_key);
		const cJSON *inv = ks_json_child(in->inverse, "patch");
		cJSON *cc = rc_content(cur);
		bool ours = is_secret(st) ? secret_still_ours(in, key, cur)
					  : inv && rc_still_ours(inv, ks_json_child(in->inverse,
										"expect"), cc);
		cJSON_Delete(cc);
		if (!ours) {
			rc = ks_err_set(err, KS_ECONFLICT, "what this step changed was changed "
					"again by someone else (resourceVersion %s); not rolled "
					"back over their change", rv);
			cJSON_Delete(cur);
			return rc;
		}
		if (is_secret(st)) {
			struct ks_buf d;
			ks_buf_init(&d, KS_BUF_UNLIMITED);
			ks_buf_appendstr(&d, "{\"metadata\":{\"resourceVersion\":");
			ks_buf_append_json_string(&d, rv);
			ks_buf_appendstr(&d, "},\"data\":{");
			ks_buf_append_json_string(&d, key);
			ks_buf_appendc(&d, ':');
			if (ks_json_bool_or(sb, "had", false))
				ks_buf_append_json_string(&d, ks_json_str_or(sb, "b64", ""));
			else
				ks_buf_appendstr(&d, "null");
			ks_buf_appendstr(&d, "}}");
			struct kube_patch_opts po = {.type = KUBE_PATCH_MERGE,
						     .field_manager = x->r->field_manager};
			if (sb)
				rc = kube_patch(x->r->o.kube, res, st->ns, st->name, d.data, d.len,
						&po, &out, err);
			else
				rc = ks_err_set(err, KS_ENOTFOUND, "the previous value is no "
						"longer in the intent log");
			explicit_bzero(d.data, d.len);
			ks_buf_release(&d);
		} else {
			char *doc = ks_json_print(inv);
			char *sent = with_rv(doc, KUBE_PATCH_MERGE, rv);
			struct kube_patch_opts po = {.type = KUBE_PATCH_MERGE,
						     .field_manager = x->r->field_manager};
			rc = kube_patch(x->r->o.kube, res, st->ns, st->name, sent, strlen(sent),
					&po, &out, err);
			free(doc);
			free(sent);
		}
		cJSON_Delete(cur);
		cJSON_Delete(out);
		if (rc != KS_ECONFLICT)
			return rc;
		ks_err_clear(err); /* status moved under us: read again */
	}
	return rc;
}

static int undo_step(struct run *x, const struct rc_step *st, struct ks_err *err)
{
	struct rc_intent in;
	int rc = rc_log_step_get(x->r, x->plan_id, st->id, &in, err);
	if (rc)
		return rc;
	const char *restore = ks_json_str_or(in.inverse, "restore", "content");
	if (strcmp(in.via, "helm") == 0)
		rc = rc_helm_undo(x->r, in.inverse, err);
	else if (strcmp(in.via, "gitops") == 0)
		rc = rc_gitops_undo(x->r, x->plan_id, ks_json_child(in.change, "gitops"), err);
	else
		rc = undo_live(x, st, &in, err);
	set_state(&in, rc ? "rollback_failed" : "rolled_back", rc ? err->msg : restore);
	struct ks_err e2 = {0};
	rc_log_step(x->r, &in, &e2);
	audit(x, st, "rollback", in.via, in.change, in.before, rc ? "rollback failed" :
	      "rolled back", rc ? err->msg : "restored the state recorded before the step");
	rc_intent_release(&in);
	return rc;
}

/* A step state this run must undo on rollback. */
static bool is_ours(const char *state)
{
	return strcmp(state, "applied") == 0 || strcmp(state, "verified") == 0 ||
	       strcmp(state, "regressed") == 0 || strcmp(state, "rollback_failed") == 0;
}

static bool step_is_ours(struct run *x, const char *step_id)
{
	struct rc_intent in;
	if (rc_log_step_get(x->r, x->plan_id, step_id, &in, NULL))
		return false;
	bool ours = is_ours(in.state);
	rc_intent_release(&in);
	return ours;
}

static bool any_ours(struct run *x, const cJSON *steps, int last)
{
	for (int j = 0; j <= last; j++)
		if (step_is_ours(x, ks_json_str_or(cJSON_GetArrayItem(steps, j), "id", "")))
			return true;
	return false;
}

/* Undo every changed step up to and including last, newest first. */
static bool roll_back(struct run *x, const cJSON *steps, int last, const char *why)
{
	emit(x, RECONCILE_ROLLBACK, NULL, true, NULL, why, NULL);
	struct ks_err e = {0};
	rc_log_plan_state(x->r, x->plan_id, "rolling_back", why, &e);
	stall_for_tests();
	bool all = true;
	for (int i = last; i >= 0; i--) {
		struct rc_step st;
		rc_step_parse(cJSON_GetArrayItem(steps, i), &st, NULL);
		if (!step_is_ours(x, st.id))
			continue;
		struct ks_err ue = {0};
		int rc = undo_step(x, &st, &ue);
		char text[KS_ERR_MSG_MAX + 64];
		if (rc)
			snprintf(text, sizeof text, "Step %s could not be rolled back: %s", st.id,
				 ue.msg);
		else
			snprintf(text, sizeof text,
				 "Step %s was rolled back to its previous state.", st.id);
		cJSON *body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "reason", why);
		emit(x, RECONCILE_ROLLBACK, &st, rc == 0, NULL, text, body);
		cJSON_Delete(body);
		all &= rc == 0;
	}
	return all;
}

/* ---- the plan ---- */

static void end_plan(struct run *x, const char *result, const char *why)
{
	struct ks_err e = {0};
	if (rc_log_plan_state(x->r, x->plan_id, result, why, &e))
		KS_WARN("reconcile", "plan %s: %s", x->plan_id, e.msg);
	audit(x, NULL, "plan", "-", NULL, NULL, result, why);
	char text[KS_ERR_MSG_MAX + 128];
	snprintf(text, sizeof text, "Plan %s %s%s%s", x->plan_id,
		 strcmp(result, "succeeded") == 0 ? "succeeded" :
		 strcmp(result, "rolled_back") == 0 ? "was rolled back" : "failed",
		 why && *why ? ": " : ".", why && *why ? why : "");
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "why", why ? why : "");
	emit(x, RECONCILE_OUTCOME, NULL, strcmp(result, "succeeded") == 0, result, text, body);
	cJSON_Delete(body);
}

static void step_event_body(cJSON *body, const struct rc_intent *in, int64_t ms)
{
	cJSON_AddStringToObject(body, "via", in->via ? in->via : "live");
	cJSON_AddStringToObject(body, "state", in->state ? in->state : "");
	if (in->change)
		cJSON_AddItemToObject(body, "change", cJSON_Duplicate(in->change, true));
	cJSON_AddNumberToObject(body, "duration_ms", (double)ms);
}

static const char *run_plan(struct run *x)
{
	struct reconciler *r = x->r;
	const cJSON *steps = ks_json_child(x->plan, "steps");
	int n = ks_json_len(steps), i;
	char why[KS_ERR_MSG_MAX + 128] = "";
	bool failed = false;
	for (i = 0; i < n && !failed; i++) {
		struct rc_step st;
		rc_step_parse(cJSON_GetArrayItem(steps, i), &st, NULL);
		struct rc_intent prev;
		if (x->resuming && !rc_log_step_get(r, x->plan_id, st.id, &prev, NULL)) {
			bool done = strcmp(prev.state, "verified") == 0;
			rc_intent_release(&prev);
			if (done)
				continue;
		}
		char text[KS_ERR_MSG_MAX + 128];
		snprintf(text, sizeof text, "Step %s (%s of %s %s/%s) started.", st.id, st.action,
			 st.kind, st.ns ? st.ns : "", st.name);
		emit(x, RECONCILE_STEP_STARTED, &st, true, NULL, text, NULL);
		int64_t t0 = ks_mono_ms();
		struct ks_err e = {0};
		bool changed = false;
		int rc = apply_step(x, &st, &changed, &e);
		struct rc_intent in = {0};
		rc_log_step_get(r, x->plan_id, st.id, &in, NULL);
		cJSON *body = cJSON_CreateObject();
		step_event_body(body, &in, ks_mono_ms() - t0);
		if (rc)
			snprintf(text, sizeof text, "Step %s failed: %s", st.id, e.msg);
		else if (!changed)
			snprintf(text, sizeof text, "Step %s: already applied, nothing to do.",
				 st.id);
		else
			snprintf(text, sizeof text, "Step %s applied (%s).", st.id, in.via);
		emit(x, RECONCILE_STEP_DONE, &st, rc == 0, NULL, text, body);
		cJSON_Delete(body);
		if (rc) {
			snprintf(why, sizeof why, "step %s: %s", st.id, e.msg);
			rc_intent_release(&in);
			failed = true;
			break;
		}
		x->n_changed += changed;
		bool ok = true;
		char vwhy[KS_ERR_MSG_MAX] = "";
		if (in.via && strcmp(in.via, "gitops") == 0) {
			snprintf(vwhy, sizeof vwhy, "committed to the GitOps repository; the "
				 "cluster changes when it syncs");
		} else if ((rc = rc_verify_step(r, &st, &ok, vwhy, sizeof vwhy, &e))) {
			ok = false;
			snprintf(vwhy, sizeof vwhy, "%s", e.msg);
		}
		snprintf(text, sizeof text, "Step %s verification %s: %s", st.id,
			 ok ? "passed" : "failed", vwhy);
		emit(x, RECONCILE_VERIFICATION, &st, ok, NULL, text, NULL);
		if (strcmp(in.state, "applied") == 0 || !ok) {
			set_state(&in, ok ? "verified" : changed ? "regressed" : in.state, vwhy);
			rc_log_step(r, &in, NULL);
		}
		audit(x, &st, "verify", in.via, NULL, NULL, ok ? "verified" : "regressed", vwhy);
		rc_intent_release(&in);
		if (!ok) {
			snprintf(why, sizeof why, "step %s did not verify: %s", st.id, vwhy);
			failed = true;
			break;
		}
	}
	if (!failed) {
		end_plan(x, "succeeded", "");
		return "succeeded";
	}
	int last = i < n ? i : n - 1;
	if (!any_ours(x, steps, last)) {
		end_plan(x, "failed", why);
		return "failed";
	}
	if (roll_back(x, steps, last, why)) {
		end_plan(x, "rolled_back", why);
		return "rolled_back";
	}
	end_plan(x, "failed", "the rollback did not restore everything; see the audit");
	return "failed";
}

int reconcile_execute(struct reconciler *r, const cJSON *plan, const char *approved_by,
		      const char **result, struct ks_err *err)
{
	*result = NULL;
	int rc = reconcile_plan_check(plan, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&r->mu);
	struct run x = {.r = r, .plan = plan, .plan_id = ks_json_str(plan, "plan_id"),
			.approved_by = approved_by ? approved_by : ""};
	rc = rc_log_plan_begin(r, x.plan_id, plan, x.approved_by, err);
	if (!rc)
		*result = run_plan(&x);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* Whether a step of the plan had already failed or regressed when the process died (the
 * rollback decision was made but not yet recorded): then the plan is rolled back, not
 * run on. */
static bool failed_before_crash(struct run *x)
{
	const cJSON *s;
	bool failed = false;
	cJSON_ArrayForEach(s, ks_json_child(x->plan, "steps")) {
		struct rc_intent in;
		if (rc_log_step_get(x->r, x->plan_id, ks_json_str_or(s, "id", ""), &in, NULL))
			continue;
		failed |= strcmp(in.state, "regressed") == 0 || strcmp(in.state, "failed") == 0 ||
			  strcmp(in.state, "rollback_failed") == 0 ||
			  strcmp(in.state, "rolled_back") == 0;
		rc_intent_release(&in);
	}
	return failed;
}

int reconcile_resume(struct reconciler *r, int *resumed, struct ks_err *err)
{
	*resumed = 0;
	pthread_mutex_lock(&r->mu);
	cJSON *plans = NULL, *p;
	int rc = rc_log_unfinished(r, &plans, err);
	cJSON_ArrayForEach(p, plans) {
		const cJSON *plan = ks_json_child(p, "plan");
		struct run x = {.r = r, .plan = plan, .plan_id = ks_json_str(p, "plan_id"),
				.approved_by = ks_json_str_or(p, "approved_by", ""),
				.resuming = true};
		struct ks_err e = {0};
		if (reconcile_plan_check(plan, &e)) {
			rc_log_plan_state(r, x.plan_id, "failed", e.msg, NULL);
			continue;
		}
		KS_INFO("reconcile", "resuming plan %s (%s)", x.plan_id,
			ks_json_str_or(p, "state", "?"));
		if (strcmp(ks_json_str_or(p, "state", ""), "rolling_back") == 0 ||
		    failed_before_crash(&x)) {
			const cJSON *steps = ks_json_child(plan, "steps");
			int last = ks_json_len(steps) - 1;
			if (!any_ours(&x, steps, last)) {
				end_plan(&x, "failed", "a step had failed before the restart; "
					 "nothing was left to undo");
			} else {
				bool ok = roll_back(&x, steps, last, "resuming an interrupted "
						    "rollback");
				end_plan(&x, ok ? "rolled_back" : "failed",
					 "resumed an interrupted rollback");
			}
		} else {
			run_plan(&x);
		}
		(*resumed)++;
	}
	cJSON_Delete(plans);
	pthread_mutex_unlock(&r->mu);
	return rc;
}
