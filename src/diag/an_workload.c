/* an_workload.c — the workload analyzers: Deployment, ReplicaSet, StatefulSet, DaemonSet,
 * Job and CronJob.
 *
 * A workload whose replicas are not ready is a symptom: those findings are derived
 * (diag_set_follows "workload:<uid>") and join whatever the Pod analyzer found about its
 * pods (it aliases "workload:<uid>" to the cause's key); alone, they still report. Problems
 * of the workload's own spec (a missing governing Service or StorageClass, an invalid cron
 * schedule, a failed Job) are root causes. Cause codes: docs/findings/pods.md. */
#include "base/common.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "diag/cron.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"
#include "diag/rootcause.h"

/* The status condition of that type, or NULL. */
static const cJSON *condition(const cJSON *obj, const char *type)
{
	return infra_json_condition(ks_json_get(obj, "status.conditions"), type);
}

static bool cond_is(const cJSON *c, const char *status)
{
	const char *s = ks_json_str(c, "status");
	return s && !strcmp(s, status);
}

/* A derived "not ready" finding of a workload. */
static struct diag_finding *derived(struct diag_ctx *cx, const char *analyzer, const char *cause,
				    enum diag_severity sev, struct wobj o)
{
	struct diag_finding *f = diag_new(cx, analyzer, cause, sev, o);
	const char *uid = wobj_uid(cx->w, o);
	diag_set_group(f, "workload:%s", uid);
	diag_set_follows(f, "workload:%s", uid);
	return f;
}

/* ---- Deployment ---- */

static int deployment_visit(void *arg, struct wobj d)
{
	struct diag_ctx *cx = arg;
	struct world *w = cx->w;
	int64_t desired = wobj_int(d, "spec.replicas", 1);
	int64_t ready = wobj_int(d, "status.readyReplicas", 0);
	if (wobj_bool(d, "spec.paused", false))
		return 0;
	const cJSON *j = NULL;
	bool stuck = false;
	/* conditions are an array: decode only when not everything is ready */
	if (ready >= desired && wobj_int(d, "status.unavailableReplicas", 0) == 0)
		return 0;
	j = world_json(w, d);
	const cJSON *prog = condition(j, "Progressing");
	stuck = cond_is(prog, "False") &&
		!strcmp(ks_json_str_or(prog, "reason", ""), "ProgressDeadlineExceeded");
	struct diag_ref ref = diag_ref_of(w, d);
	struct diag_finding *f;
	if (stuck) {
		f = derived(cx, "Deployment", "ProgressDeadlineExceeded", DIAG_HIGH, d);
		f->confidence = 0.9;
		diag_set_symptom(f, "the rollout of Deployment %s/%s is stuck: %s", ref.ns, ref.name,
				 ks_json_str_or(prog, "message", ""));
		diag_set_root_cause(f, "Deployment %s/%s made no progress within its deadline "
				    "(%lld s); %lld of %lld replicas are ready.",
				    ref.ns, ref.name,
				    (long long)ks_json_int_or(j, "spec.progressDeadlineSeconds", 600),
				    (long long)ready, (long long)desired);
		diag_ev_field(f, &ref, ".status.conditions[Progressing]", "False %s: %s",
			      "ProgressDeadlineExceeded", ks_json_str_or(prog, "message", ""));
	} else {
		/* mid-rollout or scaling: only the observed generation's settled state counts */
		if (ks_json_int_or(j, "status.observedGeneration", 0) <
		    ks_json_int_or(j, "metadata.generation", 0))
			return 0;
		f = derived(cx, "Deployment", "DeploymentNotReady", DIAG_MEDIUM, d);
		f->confidence = 0.6;
		diag_set_symptom(f, "Deployment %s/%s has %lld of %lld replicas ready", ref.ns,
				 ref.name, (long long)ready, (long long)desired);
		diag_set_root_cause(f, "Deployment %s/%s has %lld of %lld replicas ready; its pods "
				    "show why.", ref.ns, ref.name, (long long)ready,
				    (long long)desired);
	}
	diag_ev_field(f, &ref, ".status.readyReplicas", "%lld (spec.replicas %lld)",
		      (long long)ready, (long long)desired);
	struct rc_rollout r;
	if (rc_rollout_find(w, d, &r) && wobj_ok(r.prev))
		rc_ev_rollout_diff(f, &ref, &r);
	diag_fix_human(f, "look at the pods of Deployment %s/%s", ref.ns, ref.name);
	diag_fix_check(f, "kubectl -n %s rollout status deployment/%s", ref.ns, ref.name);
	return 0;
}

/* ---- ReplicaSet ---- */

static int replicaset_visit(void *arg, struct wobj rs)
{
	struct diag_ctx *cx = arg;
	struct world *w = cx->w;
	if (wobj_get(rs, "status.conditions") == KUBE_OBJ_NONE)
		return 0;
	const cJSON *j = world_json(w, rs);
	const cJSON *c = condition(j, "ReplicaFailure");
	if (!cond_is(c, "True"))
		return 0;
	struct diag_ref ref = diag_ref_of(w, rs);
	struct wobj top = rc_top_owner(w, rs);
	struct diag_ref top_ref = diag_ref_of(w, top);
	const char *msg = ks_json_str_or(c, "message", "");
	struct diag_finding *f = diag_new(cx, "ReplicaSet", "PodCreationFailed", DIAG_HIGH, rs);
	diag_set_group(f, "replicafailure:%s", ref.uid);
	char wk[80];
	snprintf(wk, sizeof wk, "workload:%s", top_ref.uid);
	char key[80];
	snprintf(key, sizeof key, "replicafailure:%s", ref.uid);
	diag_alias(cx, wk, key);
	f->confidence = 0.9;
	diag_set_symptom(f, "ReplicaSet %s/%s cannot create pods", ref.ns, ref.name);
	diag_set_root_cause(f, "The API server refuses the pods of ReplicaSet %s/%s (%s): %s",
			    ref.ns, ref.name, ks_json_str_or(c, "reason", "FailedCreate"), msg);
	diag_ev_field(f, &ref, ".status.conditions[ReplicaFailure]", "%s: %s",
		      ks_json_str_or(c, "reason", ""), msg);
	struct wobj ev = rc_latest_event(w, rs, "FailedCreate", NULL);
	if (wobj_ok(ev))
		diag_ev_event(f, w, ev);
	if (top.id != rs.id)
		diag_related(f, &top_ref, "owner");
	diag_fix_human(f, "remove what refuses the pods: %s", msg);
	diag_fix_check(f, "ResourceQuota, LimitRange, admission webhooks and Pod Security of "
		       "namespace %s", ref.ns);
	return 0;
}

/* ---- StatefulSet ---- */

static int statefulset_visit(void *arg, struct wobj s)
{
	struct diag_ctx *cx = arg;
	struct world *w = cx->w;
	struct diag_ref ref = diag_ref_of(w, s);
	char svc[254];
	if (wobj_str(s, "spec.serviceName", svc, sizeof svc) && svc[0] &&
	    !wobj_ok(world_get(w, WK_SERVICE, ref.ns, svc))) {
		struct diag_finding *f =
			diag_new(cx, "StatefulSet", "StatefulSetServiceMissing", DIAG_MEDIUM, s);
		f->confidence = 0.9;
		diag_set_symptom(f, "StatefulSet %s/%s names governing Service %s, which does not "
				 "exist", ref.ns, ref.name, svc);
		diag_set_root_cause(f, "StatefulSet %s/%s uses Service %s/%s for its pods' network "
				    "identity, and that Service does not exist.",
				    ref.ns, ref.name, ref.ns, svc);
		diag_ev_field(f, &ref, ".spec.serviceName", "%s", svc);
		diag_fix_human(f, "create headless Service %s/%s selecting the StatefulSet's pods",
			       ref.ns, svc);
	}
	if (wobj_get(s, "spec.volumeClaimTemplates") != KUBE_OBJ_NONE) {
		const cJSON *j = world_json(w, s);
		const cJSON *t;
		cJSON_ArrayForEach(t, ks_json_get(j, "spec.volumeClaimTemplates"))
		{
			const char *sc = ks_json_str(t, "spec.storageClassName");
			if (!sc || !*sc || wobj_ok(world_get(w, WK_STORAGECLASS, NULL, sc)))
				continue;
			struct diag_ref scref = diag_ref_make("StorageClass", "", sc, "");
			struct diag_finding *f =
				diag_new(cx, "StatefulSet", "StorageClassNotFound", DIAG_HIGH, s);
			f->confidence = 0.9;
			diag_set_group(f, "storageclass:%s", sc);
			diag_set_symptom(f, "StatefulSet %s/%s claims volumes of StorageClass %s",
					 ref.ns, ref.name, sc);
			diag_set_root_cause(f, "Volume claim template %s of StatefulSet %s/%s names "
					    "StorageClass %s, which does not exist: its claims stay "
					    "Pending.", ks_json_str_or(t, "metadata.name", "?"),
					    ref.ns, ref.name, sc);
			diag_ev_field(f, &ref, ".spec.volumeClaimTemplates[].spec.storageClassName",
				      "%s", sc);
			diag_related(f, &scref, "missing");
			diag_fix_human(f, "create StorageClass %s or name an existing one", sc);
		}
	}
	int64_t desired = wobj_int(s, "spec.replicas", 1);
	int64_t ready = wobj_int(s, "status.readyReplicas", 0);
	if (ready >= desired)
		return 0;
	/* the first replica that does not run */
	for (int64_t i = 0; i < desired && i < 1000; i++) {
		char pn[300];
		snprintf(pn, sizeof pn, "%s-%lld", ref.name, (long long)i);
		struct wobj p = world_get(w, WK_POD, ref.ns, pn);
		if (wobj_ok(p) && wobj_str_eq(p, "status.phase", "Running"))
			continue;
		struct diag_finding *f =
			derived(cx, "StatefulSet", "StatefulSetReplicaNotRunning", DIAG_MEDIUM, s);
		f->confidence = 0.6;
		char phase[32] = "missing";
		if (wobj_ok(p))
			wobj_str(p, "status.phase", phase, sizeof phase);
		diag_set_symptom(f, "StatefulSet %s/%s has %lld of %lld replicas ready", ref.ns,
				 ref.name, (long long)ready, (long long)desired);
		diag_set_root_cause(f, "Replica %s of StatefulSet %s/%s is not running (%s); "
				    "later replicas wait for it.", pn, ref.ns, ref.name, phase);
		diag_ev_field(f, &ref, ".status.readyReplicas", "%lld (spec.replicas %lld)",
			      (long long)ready, (long long)desired);
		if (wobj_ok(p)) {
			struct diag_ref pr = diag_ref_of(w, p);
			diag_related(f, &pr, "symptom");
		} else {
			struct wobj ev = rc_latest_event(w, s, "FailedCreate", NULL);
			if (wobj_ok(ev))
				diag_ev_event(f, w, ev);
		}
		diag_fix_human(f, "look at pod %s/%s", ref.ns, pn);
		break;
	}
	return 0;
}

/* ---- DaemonSet ---- */

static int daemonset_visit(void *arg, struct wobj d)
{
	struct diag_ctx *cx = arg;
	struct world *w = cx->w;
	int64_t desired = wobj_int(d, "status.desiredNumberScheduled", 0);
	int64_t scheduled = wobj_int(d, "status.currentNumberScheduled", 0);
	int64_t ready = wobj_int(d, "status.numberReady", 0);
	int64_t mis = wobj_int(d, "status.numberMisscheduled", 0);
	if (ready >= desired && scheduled >= desired && mis == 0)
		return 0;
	struct diag_ref ref = diag_ref_of(w, d);
	struct diag_finding *f;
	if (scheduled < desired) {
		f = derived(cx, "DaemonSet", "DaemonSetNotScheduled", DIAG_MEDIUM, d);
		diag_set_symptom(f, "DaemonSet %s/%s runs on %lld of %lld nodes", ref.ns, ref.name,
				 (long long)scheduled, (long long)desired);
	} else if (ready < desired) {
		f = derived(cx, "DaemonSet", "DaemonSetNotReady", DIAG_MEDIUM, d);
		diag_set_symptom(f, "DaemonSet %s/%s has %lld ready pods of %lld scheduled",
				 ref.ns, ref.name, (long long)ready, (long long)desired);
	} else {
		f = diag_new(cx, "DaemonSet", "DaemonSetMisscheduled", DIAG_LOW, d);
		diag_set_symptom(f, "DaemonSet %s/%s runs %lld pods on nodes it should not",
				 ref.ns, ref.name, (long long)mis);
	}
	f->confidence = 0.6;
	diag_set_root_cause(f, "DaemonSet %s/%s: %lld desired, %lld scheduled, %lld ready, %lld "
			    "misscheduled; its pods show why.", ref.ns, ref.name,
			    (long long)desired, (long long)scheduled, (long long)ready,
			    (long long)mis);
	diag_ev_field(f, &ref, ".status", "desiredNumberScheduled %lld, currentNumberScheduled "
		      "%lld, numberReady %lld, numberMisscheduled %lld", (long long)desired,
		      (long long)scheduled, (long long)ready, (long long)mis);
	diag_fix_human(f, "look at the DaemonSet's pods and the nodes' taints");
	return 0;
}

/* ---- Job ---- */

static int job_visit(void *arg, struct wobj jb)
{
	struct diag_ctx *cx = arg;
	struct world *w = cx->w;
	bool suspended = wobj_bool(jb, "spec.suspend", false);
	if (!suspended && wobj_get(jb, "status.conditions") == KUBE_OBJ_NONE)
		return 0;
	struct diag_ref ref = diag_ref_of(w, jb);
	if (suspended) {
		struct diag_finding *f = diag_new(cx, "Job", "JobSuspended", DIAG_INFO, jb);
		f->confidence = 1;
		diag_set_symptom(f, "Job %s/%s is suspended", ref.ns, ref.name);
		diag_set_root_cause(f, "Job %s/%s has spec.suspend true: it starts no pods.",
				    ref.ns, ref.name);
		diag_ev_field(f, &ref, ".spec.suspend", "true");
		diag_fix_patch(f, &ref, "merge", cJSON_Parse("{\"spec\":{\"suspend\":false}}"),
			       "medium", "resume Job %s (if it was not suspended on purpose)",
			       ref.name);
		return 0;
	}
	const cJSON *j = world_json(w, jb);
	const cJSON *c = condition(j, "Failed");
	if (!cond_is(c, "True"))
		return 0;
	struct wobj top = rc_top_owner(w, jb);
	struct diag_finding *f = diag_new(cx, "Job", "JobFailed", DIAG_MEDIUM, jb);
	f->confidence = 0.9;
	diag_set_group(f, "job:%s", ref.uid);
	diag_set_follows(f, "workload:%s", ref.uid);
	const char *reason = ks_json_str_or(c, "reason", "");
	diag_set_symptom(f, "Job %s/%s failed (%s)", ref.ns, ref.name, reason);
	diag_set_root_cause(f, "Job %s/%s failed: %s (%s); %lld pods failed.", ref.ns, ref.name,
			    ks_json_str_or(c, "message", ""), reason,
			    (long long)ks_json_int_or(j, "status.failed", 0));
	diag_ev_field(f, &ref, ".status.conditions[Failed]", "%s: %s", reason,
		      ks_json_str_or(c, "message", ""));
	if (top.id != jb.id) {
		struct diag_ref tr = diag_ref_of(w, top);
		diag_related(f, &tr, "owner");
	}
	diag_fix_human(f, "look at the failed pods of Job %s/%s", ref.ns, ref.name);
	diag_fix_check(f, "kubectl -n %s logs job/%s", ref.ns, ref.name);
	return 0;
}

/* ---- CronJob ---- */

/* A CronJob whose last run is older than this many periods (with a floor) is late. */
#define CRON_LATE_PERIODS 2
#define CRON_LATE_FLOOR_S 300

static int cronjob_visit(void *arg, struct wobj cj)
{
	struct diag_ctx *cx = arg;
	struct world *w = cx->w;
	struct diag_ref ref = diag_ref_of(w, cj);
	char sched[CRON_MAX_LEN + 1];
	bool suspended = wobj_bool(cj, "spec.suspend", false);
	int64_t deadline = wobj_int(cj, "spec.startingDeadlineSeconds", 0);
	struct cron_schedule cs;
	struct ks_err err = {0};
	bool valid = false;
	if (!wobj_str(cj, "spec.schedule", sched, sizeof sched)) {
		snprintf(err.msg, sizeof err.msg, "missing or longer than %d bytes", CRON_MAX_LEN);
		sched[0] = '\0';
	} else {
		valid = cron_parse(sched, strlen(sched), &cs, &err) == 0;
	}
	if (!valid) {
		struct diag_finding *f =
			diag_new(cx, "CronJob", "CronScheduleInvalid", DIAG_HIGH, cj);
		f->confidence = 0.95;
		diag_set_symptom(f, "CronJob %s/%s has an invalid schedule \"%s\"", ref.ns, ref.name,
				 sched);
		diag_set_root_cause(f, "The schedule \"%s\" of CronJob %s/%s does not parse (%s): "
				    "it never runs.", sched, ref.ns, ref.name, err.msg);
		diag_ev_field(f, &ref, ".spec.schedule", "%s", sched);
		diag_fix_human(f, "write a valid 5-field schedule for CronJob %s/%s", ref.ns,
			       ref.name);
		diag_fix_check(f, "minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\"");
	}
	if (suspended) {
		struct diag_finding *f = diag_new(cx, "CronJob", "CronJobSuspended", DIAG_INFO, cj);
		f->confidence = 1;
		diag_set_symptom(f, "CronJob %s/%s is suspended", ref.ns, ref.name);
		diag_set_root_cause(f, "CronJob %s/%s has spec.suspend true: no Job is started.",
				    ref.ns, ref.name);
		diag_ev_field(f, &ref, ".spec.suspend", "true");
		diag_fix_patch(f, &ref, "merge", cJSON_Parse("{\"spec\":{\"suspend\":false}}"),
			       "medium", "resume CronJob %s (if it was not suspended on purpose)",
			       ref.name);
	}
	if (deadline < 0) {
		struct diag_finding *f =
			diag_new(cx, "CronJob", "CronStartingDeadlineNegative", DIAG_MEDIUM, cj);
		f->confidence = 1;
		diag_set_symptom(f, "CronJob %s/%s has startingDeadlineSeconds %lld", ref.ns,
				 ref.name, (long long)deadline);
		diag_set_root_cause(f, "CronJob %s/%s has a negative startingDeadlineSeconds "
				    "(%lld): every run counts as missed.", ref.ns, ref.name,
				    (long long)deadline);
		diag_ev_field(f, &ref, ".spec.startingDeadlineSeconds", "%lld", (long long)deadline);
		diag_fix_patch(f, &ref, "merge",
			       cJSON_Parse("{\"spec\":{\"startingDeadlineSeconds\":null}}"), "low",
			       "remove the negative startingDeadlineSeconds of CronJob %s",
			       ref.name);
	}
	if (!valid || suspended || deadline < 0 || cs.tz[0])
		return 0;
	/* Late: the run after the last one was due long ago. */
	char last[40];
	int64_t ns;
	if (!wobj_str(cj, "status.lastScheduleTime", last, sizeof last) ||
	    ks_time_parse_rfc3339(last, strlen(last), &ns, NULL))
		return 0;
	int64_t last_s = ns / 1000000000, now = world_now(w);
	int64_t next = cron_next(&cs, last_s);
	if (next < 0)
		return 0;
	int64_t period = next - last_s;
	int64_t late = period * CRON_LATE_PERIODS;
	if (late < CRON_LATE_FLOOR_S)
		late = CRON_LATE_FLOOR_S;
	if (now - next <= late)
		return 0;
	struct diag_finding *f = diag_new(cx, "CronJob", "CronJobMissedSchedule", DIAG_MEDIUM, cj);
	f->confidence = 0.7;
	char age[32];
	ks_time_format_age(now - last_s, age, sizeof age);
	diag_set_symptom(f, "CronJob %s/%s last ran %s ago (schedule \"%s\")", ref.ns, ref.name,
			 age, sched);
	diag_set_root_cause(f, "CronJob %s/%s should have run since its last run %s ago (schedule "
			    "\"%s\"), and has not: the CronJob controller is not starting it.",
			    ref.ns, ref.name, age, sched);
	diag_ev_field(f, &ref, ".status.lastScheduleTime", "%s", last);
	struct wobj ev = rc_latest_event(w, cj, NULL, NULL);
	if (wobj_ok(ev) && wobj_str_eq(ev, "type", "Warning"))
		diag_ev_event(f, w, ev);
	diag_fix_human(f, "find why CronJob %s/%s does not start", ref.ns, ref.name);
	diag_fix_check(f, "the CronJob's events (MissSchedule, TooManyMissedTimes) and the "
		       "controller manager");
	return 0;
}

void diag_an_deployments(struct diag_ctx *cx)
{
	diag_each(cx, WK_DEPLOYMENT, deployment_visit, cx);
}

void diag_an_replicasets(struct diag_ctx *cx)
{
	diag_each(cx, WK_REPLICASET, replicaset_visit, cx);
}

void diag_an_statefulsets(struct diag_ctx *cx)
{
	diag_each(cx, WK_STATEFULSET, statefulset_visit, cx);
}

void diag_an_daemonsets(struct diag_ctx *cx)
{
	diag_each(cx, WK_DAEMONSET, daemonset_visit, cx);
}

void diag_an_jobs(struct diag_ctx *cx)
{
	diag_each(cx, WK_JOB, job_visit, cx);
}

void diag_an_cronjobs(struct diag_ctx *cx)
{
	diag_each(cx, WK_CRONJOB, cronjob_visit, cx);
}
