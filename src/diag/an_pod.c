/* an_pod.c — the Pod analyzer: why pods do not run, traced to the object at the root.
 *
 * Screening reads every pod without decoding (phase, status.reason, the ready flag and the
 * waiting state of each container status); only pods that look unhealthy are decoded and
 * looked at per container, init containers first:
 *
 *   waiting CrashLoopBackOff  -> OOMKilled last time: MemoryLimitTooLow (patch the limit);
 *                                previous log -> error pattern -> the Secret / ConfigMap /
 *                                Service / env it names (CredentialsRejected, …); a new
 *                                revision whose predecessor ran: RolloutRegression (patch =
 *                                rollout undo); else CrashLoopBackOff with the last lines
 *   ErrImagePull / ImagePullBackOff -> the pull error event; ImageTagNotFound on the owner
 *                                with the rollout diff and a patch back to the previous image
 *   CreateContainerConfigError -> ConfigMapKeyMissing / SecretKeyMissing / ConfigMapNotFound /
 *                                SecretNotFound on the ConfigMap or Secret
 *   other waiting errors       -> the reason as cause (CreateContainerError, …)
 *   ContainerCreating (stuck)  -> FailedMount / FailedCreatePodSandBox events
 *   running, not ready        -> Unhealthy readiness events: RolloutRegression or
 *                                ReadinessProbeFailing
 *   terminated non-zero       -> ContainerExitedNonZero; Evicted -> PodEvicted
 *   Pending, PodScheduled=False -> SchedulingGated; Unschedulable only as a derived finding
 *                                (group and follows "schedule:<owner uid>") that the
 *                                Scheduling analyzer's finding takes over.
 *
 * Grouping: pods sharing a cause share a group key naming it ("secret:ns/name",
 * "image:<owner uid>/<container>"), and "workload:<owner uid>" is aliased to it so that
 * the workload analyzers' derived findings join. Cause codes: docs/findings/pods.md. */
#include "base/common.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"
#include "diag/rootcause.h"

/* A container found unhealthy, and everything around it. */
struct pod_problem {
	struct diag_ctx *cx;
	struct world *w;
	struct wobj pod;
	const cJSON *pj, *spec;
	const char *ns, *podname;
	struct diag_ref pod_ref;
	struct wobj top;         /* the outermost owner, or the pod */
	struct diag_ref top_ref;
	bool owned;              /* top is not the pod itself */
	const cJSON *cs;         /* the container status */
	const cJSON *cspec;      /* the container spec (from the pod) */
	const char *cname;
	bool init;
	char spath[160];         /* ".status.containerStatuses[app]" */
	char tpath[160];         /* ".spec.template.spec.containers[app]" (or the pod's) */
};

/* A container running again after a non-zero exit within CRASH_RECENT_S is in a crash loop
 * between two crashes (kubectl shows it Running, then CrashLoopBackOff again) when it has
 * restarted at least CRASH_LOOP_RESTARTS times, or restarted under CRASH_JUST_RESTARTED_S
 * ago; one that has stayed up longer after a crash or two has recovered. */
#define CRASH_LOOP_RESTARTS 3
#define CRASH_RECENT_S 900
#define CRASH_JUST_RESTARTED_S 120

/* Pending pods younger than this, and containers created this recently, are left alone. */
#define POD_CREATING_GRACE_S 120

/* ---- screening ---- */

static bool statuses_unhealthy(struct wobj p, const char *path)
{
	uint32_t arr = kube_objstore_get(p.st, p.id, path);
	size_t n = kube_objstore_len(p.st, arr);
	for (size_t i = 0; i < n; i++) {
		uint32_t s = kube_objstore_at(p.st, arr, i);
		if (kube_objstore_get(p.st, s, "state.waiting") != KUBE_OBJ_NONE)
			return true;
		if (!kube_objstore_bool(p.st, kube_objstore_get(p.st, s, "ready"), false) &&
		    kube_objstore_get(p.st, s, "state.terminated") == KUBE_OBJ_NONE)
			return true;
		uint32_t code = kube_objstore_get(p.st, s, "state.terminated.exitCode");
		if (code != KUBE_OBJ_NONE && kube_objstore_num(p.st, code, 0) != 0)
			return true;
		/* running again between the crashes of a crash loop */
		uint32_t last = kube_objstore_get(p.st, s, "lastState.terminated.exitCode");
		if (kube_objstore_num(p.st, kube_objstore_get(p.st, s, "restartCount"), 0) >= 1 &&
		    last != KUBE_OBJ_NONE && kube_objstore_num(p.st, last, 0) != 0)
			return true;
	}
	return false;
}

static bool pod_looks_unhealthy(struct wobj p)
{
	char phase[32];
	if (!wobj_str(p, "status.phase", phase, sizeof phase))
		return false;
	if (!strcmp(phase, "Succeeded"))
		return false;
	if (!strcmp(phase, "Failed") || !strcmp(phase, "Pending"))
		return true;
	return statuses_unhealthy(p, "status.initContainerStatuses") ||
	       statuses_unhealthy(p, "status.containerStatuses");
}

/* ---- helpers ---- */

static int64_t age_of(struct world *w, const char *rfc3339)
{
	int64_t ns;
	if (!rfc3339 || ks_time_parse_rfc3339(rfc3339, strlen(rfc3339), &ns, NULL))
		return -1;
	return world_now(w) - ns / 1000000000;
}

static bool crashed_recently(struct pod_problem *pp)
{
	int64_t restarts = ks_json_int_or(pp->cs, "restartCount", 0);
	if (restarts < 1 || ks_json_int_or(pp->cs, "lastState.terminated.exitCode", 0) == 0)
		return false;
	int64_t age = age_of(pp->w, ks_json_str(pp->cs, "lastState.terminated.finishedAt"));
	if (age < 0 || age > CRASH_RECENT_S)
		return false;
	/* Restarted often, or restarted a moment ago (it has not yet shown it stays up). */
	int64_t up = age_of(pp->w, ks_json_str(pp->cs, "state.running.startedAt"));
	return restarts >= CRASH_LOOP_RESTARTS || (up >= 0 && up <= CRASH_JUST_RESTARTED_S);
}

/* The container's state as evidence: waiting in CrashLoopBackOff, or running again. */
static void ev_crash_state(struct diag_finding *f, struct pod_problem *pp)
{
	const char *waiting = ks_json_str(pp->cs, "state.waiting.reason");
	if (waiting)
		diag_ev_field(f, &pp->pod_ref, "", "%s.state.waiting.reason = %s", pp->spath,
			      waiting);
	else
		diag_ev_field(f, &pp->pod_ref, "", "%s.state: running again after restart %lld "
			      "(crash-looping)", pp->spath,
			      (long long)ks_json_int_or(pp->cs, "restartCount", 0));
}


static const char *kind_of(const struct diag_ref *r) { return r->kind; }

/* A finding about this container's problem, its object being obj (the top owner when
 * NULL), grouped under the key `group`. */
static struct diag_finding *new_finding(struct pod_problem *pp, const char *cause,
					enum diag_severity sev, const struct diag_ref *obj,
					const char *group)
{
	struct diag_finding *f =
		diag_new(pp->cx, "Pod", cause, sev, (struct wobj){.id = KUBE_OBJ_NONE});
	diag_set_object(f, obj ? obj : &pp->top_ref);
	diag_set_group(f, "%s", group);
	diag_related(f, &pp->pod_ref, "symptom");
	if (pp->owned) {
		diag_related(f, &pp->top_ref, "owner");
		char key[128];
		snprintf(key, sizeof key, "workload:%s", pp->top_ref.uid);
		if (strcmp(key, group) != 0)
			diag_alias(pp->cx, key, group);
	}
	return f;
}

static void ev_owner(struct diag_finding *f, struct pod_problem *pp)
{
	if (pp->owned)
		diag_ev_object(f, &pp->top_ref, "owns pod %s (%s %s/%s)", pp->podname,
			       pp->top_ref.kind, pp->top_ref.ns, pp->top_ref.name);
}

static void ev_last_state(struct diag_finding *f, struct pod_problem *pp)
{
	const cJSON *t = ks_json_get(pp->cs, "lastState.terminated");
	if (!t)
		return;
	diag_ev_field(f, &pp->pod_ref, "", "%s.lastState.terminated: reason %s, exit code %lld",
		      pp->spath, ks_json_str_or(t, "reason", "?"),
		      (long long)ks_json_int_or(t, "exitCode", -1));
}

static void symptom_waiting(struct diag_finding *f, struct pod_problem *pp, const char *reason)
{
	char owner[320] = "";
	if (pp->owned)
		snprintf(owner, sizeof owner, " (%s %s)", pp->top_ref.kind, pp->top_ref.name);
	diag_set_symptom(f, "%scontainer %s of pod %s/%s is waiting in %s%s",
			 pp->init ? "init " : "", pp->cname, pp->ns, pp->podname, reason, owner);
}

/* The events of this pod's kind for evidence: the latest with this reason/prefix. */
static bool ev_latest(struct diag_finding *f, struct pod_problem *pp, const char *reason,
		      const char *prefix)
{
	struct wobj e = rc_latest_event(pp->w, pp->pod, reason, prefix);
	if (!wobj_ok(e))
		return false;
	diag_ev_event(f, pp->w, e);
	return true;
}

/* The template a remediation patches: the owner's container path. */
static bool patchable(struct pod_problem *pp)
{
	return pp->owned && strcmp(pp->top_ref.kind, "ReplicaSet") != 0 &&
	       strcmp(pp->top_ref.kind, "Job") != 0;
}

/* ---- rollout regression ---- */

/* Whether the pod belongs to the newest revision of its owner, a previous revision exists
 * and ran, and the templates differ. */
static bool new_revision_broke(struct pod_problem *pp, struct rc_rollout *r)
{
	if (!pp->owned || !rc_rollout_find(pp->w, pp->top, r) || !wobj_ok(r->prev))
		return false;
	if (!rc_rollout_pod_is_current(pp->w, r, pp->pod))
		return false;
	if (r->prev.kind == WK_REPLICASET && r->prev_ready <= 0)
		return false;
	struct rc_change c[1];
	return rc_rollout_diff(r, c, 1) > 0;
}

static void ev_helm(struct diag_finding *f, struct pod_problem *pp)
{
	struct rc_helm h;
	if (pp->owned && rc_helm_release(pp->w, pp->top, &h))
		rc_ev_helm(f, &pp->top_ref, &h);
}

static void report_regression(struct pod_problem *pp, struct rc_rollout *r, const char *what,
			      const struct rc_log_match *m, bool previous_log)
{
	char group[128];
	snprintf(group, sizeof group, "rollout:%s", pp->top_ref.uid);
	struct diag_finding *f = new_finding(pp, "RolloutRegression", DIAG_HIGH, NULL, group);
	f->confidence = m ? 0.85 : 0.75;
	struct rc_change ch[4];
	size_t nch = rc_rollout_diff(r, ch, KS_ARRAY_LEN(ch));
	char change[300] = "its template";
	for (size_t i = 0; i < nch && i < KS_ARRAY_LEN(ch); i++)
		if (!strcmp(ch[i].field, "image")) {
			snprintf(change, sizeof change, "image %s -> %s", ch[i].before,
				 ch[i].after);
			break;
		}
	diag_set_symptom(f, "pods of the new revision %s of %s %s/%s %s", r->cur_rev,
			 pp->top_ref.kind, pp->ns, pp->top_ref.name, what);
	diag_set_root_cause(f,
			    "The rollout of %s %s/%s to revision %s (%s) made it worse: its pods %s%s%s, "
			    "while revision %s ran; the rollout cannot progress.",
			    pp->top_ref.kind, pp->ns, pp->top_ref.name, r->cur_rev, change, what,
			    m ? "; the log says: " : "", m ? m->line : "", r->prev_rev);
	ev_latest(f, pp, "Unhealthy", NULL);
	if (m)
		diag_ev_log(f, &pp->pod_ref, pp->cname, previous_log, m->line);
	ev_last_state(f, pp);
	rc_ev_rollout_diff(f, &pp->top_ref, r);
	ev_helm(f, pp);
	ev_owner(f, pp);
	cJSON *patch = rc_patch_undo(r, pp->top_ref.kind);
	if (patch)
		diag_fix_patch(f, &pp->top_ref, "strategic", patch, "low",
			       "roll %s %s back to revision %s (rollout undo): restore the previous "
			       "template's values of the fields that changed",
			       pp->top_ref.kind, pp->top_ref.name, r->prev_rev);
}

/* ---- OOMKilled ---- */

static void report_oom(struct pod_problem *pp)
{
	struct world *w = pp->w;
	const char *limit = ks_json_str(pp->cspec, "resources.limits.memory");
	const char *request = ks_json_str(pp->cspec, "resources.requests.memory");
	int64_t limit_b = rc_mem_bytes(limit), request_b = rc_mem_bytes(request);
	char group[160];
	snprintf(group, sizeof group, "memory:%s/%s", pp->top_ref.uid, pp->cname);
	struct diag_finding *f = new_finding(pp, "MemoryLimitTooLow", DIAG_HIGH, NULL, group);
	f->confidence = 0.9;
	int64_t restarts = ks_json_int_or(pp->cs, "restartCount", 0);
	diag_set_symptom(f, "container %s of pod %s/%s is OOMKilled (exit code 137) and restarted "
			 "%lld times", pp->cname, pp->ns, pp->podname, (long long)restarts);
	double peak = 0;
	bool has_peak = world_metric(w, WM_MEM_MAX_BYTES, pp->ns, pp->podname, pp->cname, &peak) &&
			peak > 0;
	char peak_s[32] = "";
	if (has_peak)
		rc_mem_format(((int64_t)peak + (1 << 20) - 1) / (1 << 20) * (1 << 20), peak_s,
			      sizeof peak_s);
	diag_set_root_cause(f,
			    "Container %s of %s %s/%s needs more memory than its limit %s%s%s and is "
			    "killed by the kernel (OOMKilled, exit code 137) soon after each start.",
			    pp->cname, pp->top_ref.kind, pp->ns, pp->top_ref.name,
			    limit ? limit : "(none)", has_peak ? "; its peak working set was " : "",
			    peak_s);
	ev_last_state(f, pp);
	diag_ev_field(f, &pp->top_ref, "", "%s.resources.limits.memory = %s", pp->tpath,
		      limit ? limit : "(unset)");
	diag_ev_field(f, &pp->pod_ref, "", "%s.restartCount = %lld", pp->spath,
		      (long long)restarts);
	if (has_peak) {
		cJSON *labels = cJSON_CreateObject();
		cJSON_AddStringToObject(labels, "namespace", pp->ns);
		cJSON_AddStringToObject(labels, "pod", pp->podname);
		cJSON_AddStringToObject(labels, "container", pp->cname);
		diag_ev_metric(f, WM_MEM_MAX_BYTES, labels, peak, "bytes", NULL);
	}
	ev_latest(f, pp, "BackOff", NULL);
	ev_owner(f, pp);

	int64_t new_b = -1;
	const char *basis;
	if (has_peak) {
		int64_t p = (int64_t)peak, a = p + p / 5, b = p + ((int64_t)100 << 20);
		new_b = a > b ? a : b;
		basis = "the peak working set x1.2, at least +100Mi";
	} else if (limit_b > 0) {
		new_b = limit_b * 2;
		basis = "twice the current limit: no memory metric was read, so the real peak is "
			"unknown";
	} else {
		basis = "";
	}
	if (new_b > 0 && patchable(pp)) {
		new_b = (new_b + (1 << 20) - 1) / (1 << 20) * (1 << 20);
		char nl[32], nr[32];
		rc_mem_format(new_b, nl, sizeof nl);
		bool lower_request = request_b > new_b;
		if (lower_request)
			rc_mem_format(new_b, nr, sizeof nr);
		diag_fix_patch(f, &pp->top_ref, "strategic",
			       rc_patch_memory(kind_of(&pp->top_ref), pp->init, pp->cname, nl,
					       lower_request ? nr : NULL),
			       "low", "raise the memory limit of container %s from %s to %s (%s)",
			       pp->cname, limit ? limit : "(unset)", nl, basis);
	} else {
		diag_fix_human(f, "give container %s more memory than %s, or make it use less",
			       pp->cname, limit ? limit : "its limit");
		diag_fix_check(f, "the container's memory use over a day (peak working set)");
	}
}

/* ---- crash loops and the previous log ---- */

struct log_cause {
	enum rc_log_cat cat;
	const char *cause;
	enum diag_severity sev;
	const char *what; /* completes "the log says the container …" */
};
static const struct log_cause log_causes[] = {
	{RC_LOG_AUTH, "CredentialsRejected", DIAG_HIGH, "is refused its credentials"},
	{RC_LOG_SCHEMA, "SchemaMigrationPending", DIAG_HIGH,
	 "finds a database schema it does not expect"},
	{RC_LOG_DNS, "DependencyUnresolvable", DIAG_HIGH, "cannot resolve a host name"},
	{RC_LOG_CONN_REFUSED, "DependencyUnreachable", DIAG_HIGH, "is refused a connection"},
	{RC_LOG_TIMEOUT, "DependencyUnreachable", DIAG_HIGH, "times out connecting"},
	{RC_LOG_TLS, "TLSCertificateError", DIAG_HIGH, "rejects a TLS certificate"},
	{RC_LOG_MISSING_ENV, "EnvVarMissing", DIAG_HIGH, "lacks an environment variable"},
	{RC_LOG_MISSING_CONFIG, "ConfigMissing", DIAG_HIGH, "lacks a configuration setting"},
	{RC_LOG_MISSING_FILE, "FileMissing", DIAG_HIGH, "cannot find a file"},
	{RC_LOG_PERMISSION, "PermissionDenied", DIAG_HIGH, "is denied a permission"},
	{RC_LOG_OOM, "AppOutOfMemory", DIAG_HIGH, "runs out of memory in its runtime"},
	{RC_LOG_BAD_FLAG, "BadArguments", DIAG_HIGH, "is given an unknown flag"},
	{RC_LOG_PANIC, "AppPanic", DIAG_HIGH, "crashes (panic / uncaught exception)"},
};

static const struct log_cause *log_cause_of(enum rc_log_cat c)
{
	for (size_t i = 0; i < KS_ARRAY_LEN(log_causes); i++)
		if (log_causes[i].cat == c)
			return &log_causes[i];
	return NULL;
}

static const struct world_log *crash_log(struct pod_problem *pp, bool *previous)
{
	const struct world_log *l = world_log(pp->w, pp->ns, pp->podname, pp->cname, true);
	*previous = true;
	if (!l || !l->text || !*l->text) {
		l = world_log(pp->w, pp->ns, pp->podname, pp->cname, false);
		*previous = false;
	}
	return l && l->text && *l->text ? l : NULL;
}

static void ev_link(struct diag_finding *f, struct pod_problem *pp, const struct rc_link *lk)
{
	switch (lk->kind) {
	case RC_LINK_SECRET_KEY:
	case RC_LINK_CONFIGMAP_KEY:
		diag_ev_field(f, &pp->top_ref, "", "%s.env[%s] <- %s %s/%s", pp->tpath, lk->env,
			      lk->kind == RC_LINK_SECRET_KEY ? "secretKeyRef" : "configMapKeyRef",
			      lk->obj.name, lk->key);
		break;
	case RC_LINK_SECRET:
	case RC_LINK_CONFIGMAP:
		diag_ev_object(f, &lk->obj, "read by container %s%s%s", pp->cname,
			       lk->key[0] ? ", key " : "", lk->key);
		break;
	case RC_LINK_ENV_LITERAL:
		diag_ev_field(f, &pp->top_ref, "", "%s.env[%s] is set in the template", pp->tpath,
			      lk->env);
		break;
	case RC_LINK_ENV_ABSENT:
		diag_ev_field(f, &pp->top_ref, "", "%s.env has no %s", pp->tpath, lk->env);
		break;
	case RC_LINK_SERVICE:
		diag_ev_object(f, &lk->obj, "%s", lk->exists ? "the Service the host names"
							   : "the host names this Service, which does not exist");
		break;
	default:
		break;
	}
	if (lk->obj.kind[0])
		diag_related(f, &lk->obj, "root-cause");
}

static void report_credentials(struct pod_problem *pp, const struct rc_log_match *m,
			       const struct rc_link *lk, bool previous)
{
	bool in_secret = lk->kind == RC_LINK_SECRET_KEY || lk->kind == RC_LINK_SECRET;
	char group[200];
	if (in_secret)
		snprintf(group, sizeof group, "secret:%s/%s", lk->obj.ns, lk->obj.name);
	else
		snprintf(group, sizeof group, "credentials:%s/%s", pp->top_ref.uid, pp->cname);
	struct diag_finding *f = new_finding(pp, "CredentialsRejected", DIAG_CRITICAL,
					     in_secret ? &lk->obj : NULL, group);
	f->confidence = in_secret && lk->exists ? 0.9 : 0.7;
	diag_set_symptom(f, "container %s of %s %s/%s crash-loops: %s", pp->cname,
			 pp->top_ref.kind, pp->ns, pp->top_ref.name, m->line);
	char who[200] = "";
	if (m->subject_kind == RC_SUBJ_USER)
		snprintf(who, sizeof who, " as user \"%s\"", m->subject);
	if (in_secret)
		diag_set_root_cause(f,
				    "The credentials in Secret %s/%s%s%s (read by %s %s/%s as env %s) are "
				    "rejected: the container fails to authenticate%s and exits at every "
				    "start.",
				    lk->obj.ns, lk->obj.name, lk->key[0] ? " key " : "", lk->key,
				    pp->top_ref.kind, pp->ns, pp->top_ref.name,
				    lk->env[0] ? lk->env : "(envFrom)", who);
	else
		diag_set_root_cause(f,
				    "Container %s of %s %s/%s fails to authenticate%s and exits at every "
				    "start; its credentials are wrong.",
				    pp->cname, pp->top_ref.kind, pp->ns, pp->top_ref.name, who);
	ev_crash_state(f, pp);
	ev_last_state(f, pp);
	diag_ev_log(f, &pp->pod_ref, pp->cname, previous, m->line);
	ev_link(f, pp, lk);
	ev_owner(f, pp);
	if (in_secret) {
		diag_fix_human(f, "update Secret %s/%s%s%s with the right credential, then restart "
			       "%s %s/%s", lk->obj.ns, lk->obj.name, lk->key[0] ? " key " : "",
			       lk->key, pp->top_ref.kind, pp->ns, pp->top_ref.name);
		diag_fix_check(f, "compare the value of %s/%s%s%s with the credential in its source "
			       "of truth (the database, Vault, the secrets manager); kswarm does not "
			       "know the right value", lk->obj.ns, lk->obj.name,
			       lk->key[0] ? " key " : "", lk->key);
		diag_fix_check(f, "after updating it: kubectl -n %s rollout restart %s/%s",
			       pp->ns, pp->top_ref.kind, pp->top_ref.name);
	} else {
		diag_fix_human(f, "give container %s the right credentials", pp->cname);
		diag_fix_check(f, "where the container reads its credentials from, and whether the "
			       "account%s exists and is allowed", who);
	}
}

static void report_log_cause(struct pod_problem *pp, const struct log_cause *lc,
			     const struct rc_log_match *m, const struct rc_link *lk, bool previous)
{
	bool has_obj = lk->obj.kind[0] && (lk->kind != RC_LINK_SERVICE || lk->exists ||
					   lc->cat == RC_LOG_DNS);
	char group[256];
	if (has_obj)
		snprintf(group, sizeof group, "%s:%s/%s/%s", lc->cause, lk->obj.kind, lk->obj.ns,
			 lk->obj.name);
	else
		snprintf(group, sizeof group, "%s:%s/%s", lc->cause, pp->top_ref.uid, pp->cname);
	struct diag_finding *f = new_finding(pp, lc->cause, lc->sev, has_obj ? &lk->obj : NULL,
					     group);
	f->confidence = has_obj ? 0.8 : 0.7;
	diag_set_symptom(f, "container %s of %s %s/%s crash-loops", pp->cname, pp->top_ref.kind,
			 pp->ns, pp->top_ref.name);
	char subj[200] = "";
	if (m->subject[0])
		snprintf(subj, sizeof subj, " (%s %s)", rc_subject_name(m->subject_kind),
			 m->subject);
	diag_set_root_cause(f, "Container %s of %s %s/%s %s%s%s%s and exits at every start: %s",
			    pp->cname, pp->top_ref.kind, pp->ns, pp->top_ref.name, lc->what, subj,
			    has_obj ? "; it points at " : "",
			    has_obj ? lk->obj.name : "", m->line);
	ev_crash_state(f, pp);
	ev_last_state(f, pp);
	diag_ev_log(f, &pp->pod_ref, pp->cname, previous, m->line);
	ev_link(f, pp, lk);
	ev_owner(f, pp);
	diag_fix_human(f, "fix what the log names%s for container %s", subj, pp->cname);
	if (has_obj)
		diag_fix_check(f, "%s %s/%s%s%s", lk->obj.kind, lk->obj.ns, lk->obj.name,
			       lk->key[0] ? " key " : "", lk->key);
	diag_fix_check(f, "kubectl -n %s logs %s -c %s --previous", pp->ns, pp->podname,
		       pp->cname);
}

static void report_crashloop_generic(struct pod_problem *pp, const struct world_log *l,
				     bool previous)
{
	char group[160];
	snprintf(group, sizeof group, "crashloop:%s/%s", pp->top_ref.uid, pp->cname);
	struct diag_finding *f = new_finding(pp, "CrashLoopBackOff", DIAG_HIGH, NULL, group);
	f->confidence = 0.5;
	const cJSON *t = ks_json_get(pp->cs, "lastState.terminated");
	symptom_waiting(f, pp, "CrashLoopBackOff");
	diag_set_root_cause(f,
			    "Container %s of %s %s/%s exits at every start (last: reason %s, exit code "
			    "%lld); nothing in its log or its configuration explains more.",
			    pp->cname, pp->top_ref.kind, pp->ns, pp->top_ref.name,
			    ks_json_str_or(t, "reason", "?"),
			    (long long)ks_json_int_or(t, "exitCode", -1));
	diag_ev_field(f, &pp->pod_ref, "", "%s.state.waiting.message = %s", pp->spath,
		      ks_json_str_or(pp->cs, "state.waiting.message", ""));
	ev_last_state(f, pp);
	if (l) {
		char *tail = rc_log_tail(l->text, 5);
		for (char *line = tail, *e; line && *line; line = e ? e + 1 : NULL) {
			e = strchr(line, '\n');
			if (e)
				*e = '\0';
			diag_ev_log(f, &pp->pod_ref, pp->cname, previous, line);
			if (!e)
				break;
		}
		free(tail);
	}
	ev_owner(f, pp);
	diag_fix_human(f, "find why container %s exits", pp->cname);
	diag_fix_check(f, "kubectl -n %s logs %s -c %s --previous", pp->ns, pp->podname,
		       pp->cname);
	diag_fix_check(f, "the container's command, arguments and environment");
}

static void analyze_crashloop(struct pod_problem *pp)
{
	const char *last_reason = ks_json_str(pp->cs, "lastState.terminated.reason");
	if (last_reason && !strcmp(last_reason, "OOMKilled")) {
		report_oom(pp);
		return;
	}
	bool previous = true;
	const struct world_log *l = crash_log(pp, &previous);
	struct rc_log_match m;
	bool matched = l && rc_log_scan(l->text, &m);
	struct rc_link lk = {.kind = RC_LINK_NONE};
	if (matched)
		rc_log_link(pp->w, pp->ns, pp->spec, pp->cspec, &m, &lk);
	if (matched && m.cat == RC_LOG_AUTH) {
		report_credentials(pp, &m, &lk, previous);
		return;
	}
	struct rc_rollout r;
	if (new_revision_broke(pp, &r)) {
		report_regression(pp, &r, "crash-loop", matched ? &m : NULL, previous);
		return;
	}
	const struct log_cause *lc = matched ? log_cause_of(m.cat) : NULL;
	if (lc)
		report_log_cause(pp, lc, &m, &lk, previous);
	else
		report_crashloop_generic(pp, l, previous);
}

/* ---- image pulls ---- */

static void analyze_image(struct pod_problem *pp, const char *reason)
{
	const char *image = ks_json_str_or(pp->cspec, "image", "?");
	struct wobj ev = rc_latest_event(pp->w, pp->pod, "Failed", "Failed to pull image");
	char msg[1024] = "";
	if (wobj_ok(ev))
		wobj_str(ev, "message", msg, sizeof msg);
	else
		snprintf(msg, sizeof msg, "%s", ks_json_str_or(pp->cs, "state.waiting.message", ""));
	const char *cause = "ImagePullFailed";
	if (strcasestr(msg, "not found") || strcasestr(msg, "manifest unknown"))
		cause = "ImageTagNotFound";
	else if (strcasestr(msg, "unauthorized") || strcasestr(msg, "authentication required") ||
		 strcasestr(msg, "denied") || strcasestr(msg, "403"))
		cause = "ImagePullUnauthorized";
	char group[200];
	snprintf(group, sizeof group, "image:%s/%s", pp->top_ref.uid, pp->cname);
	struct diag_finding *f = new_finding(pp, cause, DIAG_HIGH, NULL, group);
	f->confidence = wobj_ok(ev) ? 0.9 : 0.7;
	symptom_waiting(f, pp, reason);

	/* the image the previous revision ran */
	struct rc_rollout r;
	const char *prev_image = NULL;
	if (pp->owned && rc_rollout_find(pp->w, pp->top, &r) && r.prev_tpl) {
		const cJSON *pc = rc_container(ks_json_get(r.prev_tpl, "spec"), pp->cname);
		prev_image = ks_json_str(pc, "image");
		if (prev_image && !strcmp(prev_image, image))
			prev_image = NULL;
	}
	if (!strcmp(cause, "ImageTagNotFound"))
		diag_set_root_cause(f,
				    "%s %s/%s runs image %s, which the registry does not have%s%s%s; its "
				    "new pods cannot pull it.",
				    pp->top_ref.kind, pp->ns, pp->top_ref.name, image,
				    prev_image ? " (changed in the last rollout from " : "",
				    prev_image ? prev_image : "", prev_image ? ")" : "");
	else if (!strcmp(cause, "ImagePullUnauthorized"))
		diag_set_root_cause(f,
				    "The registry refuses to let %s %s/%s pull image %s: the pod has no "
				    "valid pull credentials for it.",
				    pp->top_ref.kind, pp->ns, pp->top_ref.name, image);
	else
		diag_set_root_cause(f, "Image %s of %s %s/%s cannot be pulled: %s", image,
				    pp->top_ref.kind, pp->ns, pp->top_ref.name, msg);
	if (wobj_ok(ev))
		diag_ev_event(f, pp->w, ev);
	diag_ev_field(f, &pp->pod_ref, "", "%s.state.waiting.reason = %s", pp->spath, reason);
	if (pp->owned && wobj_ok(r.cur) && wobj_ok(r.prev))
		rc_ev_rollout_diff(f, &pp->top_ref, &r);
	ev_helm(f, pp);
	ev_owner(f, pp);
	if (prev_image && patchable(pp) && strcmp(cause, "ImagePullUnauthorized") != 0) {
		diag_fix_patch(f, &pp->top_ref, "strategic",
			       rc_patch_image(pp->top_ref.kind, pp->init, pp->cname, prev_image),
			       "low", "set the image of container %s back to %s (the previous "
			       "revision's)", pp->cname, prev_image);
	} else if (!strcmp(cause, "ImagePullUnauthorized")) {
		diag_fix_human(f, "give the pod credentials for the registry of %s", image);
		diag_fix_check(f, "the pod's imagePullSecrets and its ServiceAccount's, and that "
			       "they hold a valid token for the registry");
	} else {
		diag_fix_human(f, "set container %s to an image that exists", pp->cname);
		diag_fix_check(f, "that %s exists in the registry (name and tag spelled right)",
			       image);
	}
}

/* ---- CreateContainerConfigError ---- */

/* "couldn't find key K in ConfigMap NS/NAME" / "... in Secret NS/NAME" */
static bool parse_missing_key(const char *msg, char *key, size_t kn, char *kind, size_t kindn,
			      char *ns, size_t nsn, char *name, size_t nn)
{
	const char *p = strcasestr(msg, "couldn't find key ");
	if (!p)
		return false;
	p += strlen("couldn't find key ");
	const char *in = strstr(p, " in ");
	if (!in)
		return false;
	snprintf(key, kn, "%.*s", (int)(in - p), p);
	p = in + 4;
	const char *sp = strchr(p, ' ');
	if (!sp)
		return false;
	snprintf(kind, kindn, "%.*s", (int)(sp - p), p);
	p = sp + 1;
	const char *slash = strchr(p, '/');
	if (!slash)
		return false;
	snprintf(ns, nsn, "%.*s", (int)(slash - p), p);
	snprintf(name, nn, "%.*s", (int)strcspn(slash + 1, " \"'"), slash + 1);
	return true;
}

/* `configmap "x" not found` / `configmaps "x" not found` / `secret "x" not found` */
static bool parse_not_found(const char *msg, bool *secret, char *name, size_t nn)
{
	static const char *const prefixes[] = {"configmaps \"", "configmap \"", "secrets \"",
					       "secret \""};
	for (size_t i = 0; i < KS_ARRAY_LEN(prefixes); i++) {
		const char *p = strcasestr(msg, prefixes[i]);
		if (!p)
			continue;
		p += strlen(prefixes[i]);
		const char *q = strchr(p, '"');
		if (!q || strncmp(q, "\" not found", 11) != 0)
			continue;
		*secret = i >= 2;
		snprintf(name, nn, "%.*s", (int)(q - p), p);
		return true;
	}
	return false;
}

/* The env entry of the container that reads name/key of a ConfigMap or Secret. */
static const char *env_reading(const cJSON *cspec, bool secret, const char *name, const char *key)
{
	const cJSON *e;
	const char *ref = secret ? "valueFrom.secretKeyRef" : "valueFrom.configMapKeyRef";
	cJSON_ArrayForEach(e, ks_json_get(cspec, "env"))
	{
		const cJSON *r = ks_json_get(e, ref);
		const char *n = ks_json_str(r, "name"), *k = ks_json_str(r, "key");
		if (n && !strcmp(n, name) && (!key || (k && !strcmp(k, key))))
			return ks_json_str(e, "name");
	}
	return NULL;
}

static void ev_keys(struct diag_finding *f, struct world *w, struct wobj o,
		    const struct diag_ref *ref)
{
	const cJSON *j = world_json(w, o);
	char keys[512] = "";
	size_t off = 0;
	static const char *const maps[] = {"data", "binaryData"};
	for (size_t m = 0; m < KS_ARRAY_LEN(maps); m++) {
		const cJSON *k;
		cJSON_ArrayForEach(k, ks_json_get(j, maps[m]))
		{
			int n = snprintf(keys + off, sizeof keys - off, "%s%s", off ? ", " : "",
					 k->string);
			if (n < 0 || (size_t)n >= sizeof keys - off)
				break;
			off += (size_t)n;
		}
	}
	diag_ev_object(f, ref, "has keys: %s", off ? keys : "(none)");
}

static void report_ref_problem(struct pod_problem *pp, const char *msg, bool secret,
			       const char *name, const char *key)
{
	struct world *w = pp->w;
	const char *kind = secret ? "Secret" : "ConfigMap";
	const char *cause = key ? (secret ? "SecretKeyMissing" : "ConfigMapKeyMissing")
				: (secret ? "SecretNotFound" : "ConfigMapNotFound");
	struct wobj o = world_get(w, secret ? WK_SECRET : WK_CONFIGMAP, pp->ns, name);
	struct diag_ref ref = wobj_ok(o) ? diag_ref_of(w, o)
					 : diag_ref_make(kind, pp->ns, name, "");
	char group[256];
	snprintf(group, sizeof group, "%s:%s/%s", secret ? "secret" : "configmap", pp->ns, name);
	struct diag_finding *f = new_finding(pp, cause, DIAG_HIGH, &ref, group);
	f->confidence = 0.95;
	const char *env = env_reading(pp->cspec, secret, name, key);
	symptom_waiting(f, pp, "CreateContainerConfigError");
	if (key)
		diag_set_root_cause(f,
				    "%s %s/%s reads key %s of %s %s/%s%s%s%s, and the %s has no such key: "
				    "the kubelet cannot build the container's environment.",
				    pp->top_ref.kind, pp->ns, pp->top_ref.name, key, kind, pp->ns, name,
				    env ? " (env " : "", env ? env : "", env ? ")" : "", kind);
	else
		diag_set_root_cause(f,
				    "%s %s/%s reads %s %s/%s, which does not exist: the kubelet cannot "
				    "create the container.",
				    pp->top_ref.kind, pp->ns, pp->top_ref.name, kind, pp->ns, name);
	diag_ev_field(f, &pp->pod_ref, "", "%s.state.waiting.message = %s", pp->spath, msg);
	ev_latest(f, pp, "Failed", "Error: ");
	if (env)
		diag_ev_field(f, &pp->top_ref, "", "%s.env[%s] <- %s %s/%s", pp->tpath, env,
			      secret ? "secretKeyRef" : "configMapKeyRef", name, key ? key : "");
	if (wobj_ok(o) && !secret)
		ev_keys(f, w, o, &ref);
	else if (wobj_ok(o))
		diag_ev_object(f, &ref, "exists, without key %s", key ? key : "");
	else
		diag_ev_object(f, &ref, "does not exist in namespace %s", pp->ns);
	diag_related(f, &ref, "root-cause");
	ev_owner(f, pp);
	if (key) {
		diag_fix_human(f, "add key %s to %s %s/%s", key, kind, pp->ns, name);
		diag_fix_check(f, "the value %s should hold (kswarm cannot know it)", key);
		diag_fix_check(f, "or, if the application can run without it, mark the reference "
			       "optional (valueFrom.%s.optional: true) in %s %s",
			       secret ? "secretKeyRef" : "configMapKeyRef", pp->top_ref.kind,
			       pp->top_ref.name);
	} else {
		diag_fix_human(f, "create %s %s/%s (or fix the name %s %s refers to)", kind,
			       pp->ns, name, pp->top_ref.kind, pp->top_ref.name);
		diag_fix_check(f, "or, if the application can run without it, mark the reference "
			       "optional: true");
	}
}

static void analyze_config_error(struct pod_problem *pp, const char *reason)
{
	const char *msg = ks_json_str_or(pp->cs, "state.waiting.message", "");
	char key[128], kind[32], ns[64], name[254];
	bool secret;
	if (parse_missing_key(msg, key, sizeof key, kind, sizeof kind, ns, sizeof ns, name,
			      sizeof name)) {
		report_ref_problem(pp, msg, !strcasecmp(kind, "Secret"), name, key);
		return;
	}
	if (parse_not_found(msg, &secret, name, sizeof name)) {
		report_ref_problem(pp, msg, secret, name, NULL);
		return;
	}
	char group[160];
	snprintf(group, sizeof group, "%s:%s/%s", reason, pp->top_ref.uid, pp->cname);
	struct diag_finding *f = new_finding(pp, reason, DIAG_HIGH, NULL, group);
	symptom_waiting(f, pp, reason);
	diag_set_root_cause(f, "The kubelet cannot %s container %s of %s %s/%s: %s",
			    !strcmp(reason, "RunContainerError") ? "start" : "create", pp->cname,
			    pp->top_ref.kind, pp->ns, pp->top_ref.name, msg[0] ? msg : reason);
	diag_ev_field(f, &pp->pod_ref, "", "%s.state.waiting = %s: %s", pp->spath, reason, msg);
	ev_latest(f, pp, "Failed", NULL);
	ev_owner(f, pp);
	diag_fix_human(f, "fix container %s of %s %s/%s: %s", pp->cname, pp->top_ref.kind,
		       pp->ns, pp->top_ref.name, msg[0] ? msg : reason);
	diag_fix_check(f, "kubectl -n %s describe pod %s", pp->ns, pp->podname);
}

/* ---- ContainerCreating stuck ---- */

static void analyze_creating(struct pod_problem *pp)
{
	if (age_of(pp->w, ks_json_str(pp->pj, "metadata.creationTimestamp")) <
	    POD_CREATING_GRACE_S)
		return;
	struct wobj mount = rc_latest_event(pp->w, pp->pod, "FailedMount", NULL);
	struct wobj sandbox = rc_latest_event(pp->w, pp->pod, "FailedCreatePodSandBox", NULL);
	struct wobj ev = wobj_ok(mount) ? mount : sandbox;
	if (!wobj_ok(ev))
		return;
	char msg[1024] = "", name[254];
	wobj_str(ev, "message", msg, sizeof msg);
	bool secret;
	if (wobj_ok(mount) && parse_not_found(msg, &secret, name, sizeof name)) {
		report_ref_problem(pp, msg, secret, name, NULL);
		return;
	}
	const char *cause = wobj_ok(mount) ? "VolumeMountFailed" : "PodSandboxFailed";
	char group[160];
	snprintf(group, sizeof group, "%s:%s", cause, pp->top_ref.uid);
	struct diag_finding *f = new_finding(pp, cause, DIAG_HIGH, NULL, group);
	f->confidence = 0.8;
	symptom_waiting(f, pp, "ContainerCreating");
	diag_set_root_cause(f, "Pod %s/%s cannot start: %s", pp->ns, pp->podname, msg);
	diag_ev_event(f, pp->w, ev);
	ev_owner(f, pp);
	diag_fix_human(f, "%s", wobj_ok(mount) ? "make the pod's volumes mountable"
					       : "fix the node's container runtime / CNI");
	diag_fix_check(f, "kubectl -n %s describe pod %s", pp->ns, pp->podname);
}

/* ---- running but not ready ---- */

static void analyze_not_ready(struct pod_problem *pp)
{
	struct wobj ev = rc_latest_event(pp->w, pp->pod, "Unhealthy", "Readiness probe failed");
	if (!wobj_ok(ev))
		return; /* starting, or no probe events: nothing to say yet */
	char msg[512] = "";
	wobj_str(ev, "message", msg, sizeof msg);
	const struct world_log *l = world_log(pp->w, pp->ns, pp->podname, pp->cname, false);
	struct rc_log_match m;
	bool matched = l && l->text && rc_log_scan(l->text, &m);
	struct rc_rollout r;
	if (new_revision_broke(pp, &r)) {
		char what[600];
		snprintf(what, sizeof what, "are not ready (%s)", msg);
		report_regression(pp, &r, what, matched ? &m : NULL, false);
		return;
	}
	char group[160];
	snprintf(group, sizeof group, "readiness:%s/%s", pp->top_ref.uid, pp->cname);
	struct diag_finding *f = new_finding(pp, "ReadinessProbeFailing", DIAG_MEDIUM, NULL, group);
	f->confidence = matched ? 0.7 : 0.6;
	diag_set_symptom(f, "container %s of pod %s/%s runs but is not ready", pp->cname, pp->ns,
			 pp->podname);
	diag_set_root_cause(f, "Container %s of %s %s/%s fails its readiness probe (%s)%s%s.",
			    pp->cname, pp->top_ref.kind, pp->ns, pp->top_ref.name, msg,
			    matched ? "; its log says: " : "", matched ? m.line : "");
	diag_ev_event(f, pp->w, ev);
	if (matched)
		diag_ev_log(f, &pp->pod_ref, pp->cname, false, m.line);
	ev_owner(f, pp);
	diag_fix_human(f, "find why container %s does not answer its readiness probe", pp->cname);
	diag_fix_check(f, "the probe's path and port against what the application serves");
	diag_fix_check(f, "kubectl -n %s logs %s -c %s", pp->ns, pp->podname, pp->cname);
}

/* ---- terminated, evicted, pending ---- */

static void analyze_terminated(struct pod_problem *pp, const cJSON *t)
{
	char group[160];
	snprintf(group, sizeof group, "exit:%s/%s", pp->top_ref.uid, pp->cname);
	struct diag_finding *f =
		new_finding(pp, "ContainerExitedNonZero", DIAG_MEDIUM, NULL, group);
	long long code = (long long)ks_json_int_or(t, "exitCode", -1);
	const char *reason = ks_json_str_or(t, "reason", "Error");
	diag_set_symptom(f, "%scontainer %s of pod %s/%s terminated with exit code %lld",
			 pp->init ? "init " : "", pp->cname, pp->ns, pp->podname, code);
	bool previous = false;
	const struct world_log *l = crash_log(pp, &previous);
	struct rc_log_match m;
	bool matched = l && rc_log_scan(l->text, &m);
	diag_set_root_cause(f, "Container %s of %s %s/%s exited with code %lld (%s)%s%s.",
			    pp->cname, pp->top_ref.kind, pp->ns, pp->top_ref.name, code, reason,
			    matched ? "; its log says: " : "", matched ? m.line : "");
	diag_ev_field(f, &pp->pod_ref, "", "%s.state.terminated: reason %s, exit code %lld",
		      pp->spath, reason, code);
	if (matched)
		diag_ev_log(f, &pp->pod_ref, pp->cname, previous, m.line);
	ev_owner(f, pp);
	diag_fix_human(f, "find why container %s exits with %lld", pp->cname, code);
	diag_fix_check(f, "kubectl -n %s logs %s -c %s", pp->ns, pp->podname, pp->cname);
}

static void analyze_evicted(struct pod_problem *pp)
{
	char group[160];
	snprintf(group, sizeof group, "evicted:%s", pp->owned ? pp->top_ref.uid : pp->pod_ref.uid);
	struct diag_finding *f = new_finding(pp, "PodEvicted", DIAG_LOW, &pp->pod_ref, group);
	f->confidence = 0.9;
	const char *msg = ks_json_str_or(pp->pj, "status.message", "");
	diag_set_symptom(f, "pod %s/%s was evicted", pp->ns, pp->podname);
	diag_set_root_cause(f, "The kubelet of node %s evicted pod %s/%s: %s",
			    ks_json_str_or(pp->pj, "spec.nodeName", "?"), pp->ns, pp->podname, msg);
	diag_ev_field(f, &pp->pod_ref, ".status.message", "%s", msg);
	ev_owner(f, pp);
	diag_fix_human(f, "look at the node's pressure and the pod's resource use");
	diag_fix_check(f, "the node's conditions (MemoryPressure, DiskPressure) when it evicted");
	diag_fix_check(f, "the pod's requests against its use; delete the evicted pod objects "
		       "when done");
}

/* The status condition of that type, or NULL. */
static const cJSON *condition(const cJSON *obj, const char *type)
{
	return infra_json_condition(ks_json_get(obj, "status.conditions"), type);
}

/* Returns true when the pod is not scheduled (nothing more to look at). */
static bool analyze_scheduling(struct pod_problem *pp)
{
	const cJSON *c = condition(pp->pj, "PodScheduled");
	const char *status = ks_json_str(c, "status");
	if (!c || !status || strcmp(status, "False") != 0)
		return false;
	const char *reason = ks_json_str_or(c, "reason", "");
	const char *msg = ks_json_str_or(c, "message", "");
	if (!strcmp(reason, "SchedulingGated")) {
		char group[160];
		snprintf(group, sizeof group, "gated:%s", pp->owned ? pp->top_ref.uid
								    : pp->pod_ref.uid);
		struct diag_finding *f =
			new_finding(pp, "SchedulingGated", DIAG_LOW, &pp->pod_ref, group);
		f->confidence = 0.9;
		diag_set_symptom(f, "pod %s/%s is Pending: scheduling gated", pp->ns, pp->podname);
		diag_set_root_cause(f, "Pod %s/%s carries scheduling gates, so the scheduler does "
				    "not consider it until a controller removes them: %s",
				    pp->ns, pp->podname, msg);
		diag_ev_field(f, &pp->pod_ref, ".status.conditions[PodScheduled]", "%s: %s", reason,
			      msg);
		const cJSON *g;
		cJSON_ArrayForEach(g, ks_json_get(pp->spec, "schedulingGates"))
			diag_ev_field(f, &pp->pod_ref, ".spec.schedulingGates", "%s",
				      ks_json_str_or(g, "name", "?"));
		diag_fix_human(f, "find the controller that owns the scheduling gates");
		diag_fix_check(f, "whether the controller that should remove the gates runs");
		return true;
	}
	if (!strcmp(reason, "Unschedulable")) {
		char group[160];
		snprintf(group, sizeof group, "schedule:%s",
			 pp->owned ? pp->top_ref.uid : pp->pod_ref.uid);
		struct diag_finding *f = new_finding(pp, "Unschedulable", DIAG_HIGH,
						     pp->owned ? NULL : &pp->pod_ref, group);
		diag_set_follows(f, "%s", group);
		f->confidence = 0.6;
		diag_set_symptom(f, "pod %s/%s is Pending: %s", pp->ns, pp->podname, msg);
		diag_set_root_cause(f, "The scheduler finds no node for pod %s/%s: %s", pp->ns,
				    pp->podname, msg);
		diag_ev_field(f, &pp->pod_ref, ".status.conditions[PodScheduled]", "%s: %s", reason,
			      msg);
		ev_latest(f, pp, "FailedScheduling", NULL);
		ev_owner(f, pp);
		diag_fix_human(f, "make a node fit the pod or the pod fit a node");
		diag_fix_check(f, "the pod's requests, nodeSelector, affinity and tolerations "
			       "against the nodes");
		return true;
	}
	return false;
}

/* ---- per container ---- */

static void analyze_container(struct pod_problem *pp)
{
	const char *phase = ks_json_str_or(pp->pj, "status.phase", "");
	const char *waiting = ks_json_str(pp->cs, "state.waiting.reason");
	const cJSON *term = ks_json_get(pp->cs, "state.terminated");
	if (waiting) {
		if (!strcmp(waiting, "CrashLoopBackOff"))
			analyze_crashloop(pp);
		else if (!strcmp(waiting, "ImagePullBackOff") || !strcmp(waiting, "ErrImagePull"))
			analyze_image(pp, waiting);
		else if (!strcmp(waiting, "ContainerCreating"))
			analyze_creating(pp);
		else if (!strcmp(waiting, "CreateContainerConfigError"))
			analyze_config_error(pp, waiting);
		else if (!strcmp(waiting, "CreateContainerError") ||
			 !strcmp(waiting, "RunContainerError") ||
			 !strcmp(waiting, "InvalidImageName") ||
			 !strcmp(waiting, "PreStartHookError") ||
			 !strcmp(waiting, "PreCreateHookError") ||
			 !strcmp(waiting, "PostStartHookError") ||
			 !strcmp(waiting, "ErrImageNeverPull") ||
			 !strcmp(waiting, "ImageInspectError"))
			analyze_config_error(pp, waiting);
		return;
	}
	if (term) {
		int64_t code = ks_json_int_or(term, "exitCode", 0);
		const char *policy = ks_json_str_or(pp->spec, "restartPolicy", "Always");
		if (code != 0 && (!strcmp(phase, "Failed") || strcmp(policy, "Always") != 0))
			analyze_terminated(pp, term);
		return;
	}
	if (ks_json_get(pp->cs, "state.running") && crashed_recently(pp)) {
		analyze_crashloop(pp);
		return;
	}
	if (ks_json_get(pp->cs, "state.running") && !ks_json_bool_or(pp->cs, "ready", true) &&
	    !pp->init)
		analyze_not_ready(pp);
}

static void analyze_statuses(struct pod_problem *pp, const char *list, bool init)
{
	const cJSON *cs;
	cJSON_ArrayForEach(cs, ks_json_get(pp->pj, list))
	{
		const char *name = ks_json_str(cs, "name");
		if (!name)
			continue;
		pp->cs = cs;
		pp->cname = name;
		pp->init = init;
		pp->cspec = rc_container(pp->spec, name);
		const char *lname = init ? "initContainers" : "containers";
		snprintf(pp->spath, sizeof pp->spath, ".status.%s[%s]",
			 init ? "initContainerStatuses" : "containerStatuses", name);
		if (pp->owned)
			snprintf(pp->tpath, sizeof pp->tpath, ".spec.%s%s[%s]",
				 !strcmp(pp->top_ref.kind, "CronJob")
					 ? "jobTemplate.spec.template.spec."
					 : "template.spec.",
				 lname, name);
		else
			snprintf(pp->tpath, sizeof pp->tpath, ".spec.%s[%s]", lname, name);
		analyze_container(pp);
	}
}

static void analyze_pod(struct diag_ctx *cx, struct wobj p)
{
	struct world *w = cx->w;
	struct pod_problem pp = {.cx = cx, .w = w, .pod = p};
	pp.pj = world_json(w, p);
	pp.spec = ks_json_get(pp.pj, "spec");
	pp.ns = wobj_ns(w, p);
	pp.podname = wobj_name(w, p);
	pp.pod_ref = diag_ref_of(w, p);
	pp.top = rc_top_owner(w, p);
	pp.owned = pp.top.id != p.id || pp.top.kind != p.kind;
	pp.top_ref = diag_ref_of(w, pp.top);

	const char *reason = ks_json_str(pp.pj, "status.reason");
	if (reason && !strcmp(reason, "Evicted")) {
		analyze_evicted(&pp);
		return;
	}
	if (analyze_scheduling(&pp))
		return;
	analyze_statuses(&pp, "status.initContainerStatuses", true);
	analyze_statuses(&pp, "status.containerStatuses", false);
}

static int pod_visit(void *arg, struct wobj p)
{
	struct diag_ctx *cx = arg;
	if (pod_looks_unhealthy(p))
		analyze_pod(cx, p);
	return 0;
}

void diag_an_pods(struct diag_ctx *cx)
{
	diag_each(cx, WK_POD, pod_visit, cx);
}
