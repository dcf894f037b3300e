/* verify.c — after a step: is the change healthy? Checks (a step's verify.checks):
 *   rollout     Deployment: the controller saw the new generation (observedGeneration),
 *               every replica is updated and available, none old left; a Progressing
 *               condition with reason ProgressDeadlineExceeded fails at once (unless
 *               it was last updated before the step: the problem being fixed).
 *               StatefulSet: updated and ready replicas, currentRevision = updateRevision.
 *               DaemonSet: updated and available on every scheduled node. Other kinds
 *               have no rollout: passes.
 *   pods-ready  the workload's pods (spec.selector.matchLabels) are all Ready, at least
 *               spec.replicas of them; a container waiting in CrashLoopBackOff,
 *               ImagePullBackOff or ErrImagePull fails at once, unless the pod is older
 *               than the step (a pod of the rollout being replaced).
 *   no-findings asked of the caller (reconcile_findings_fn): none of verify.findings open
 *               on the target; with no callback configured the check cannot pass. It
 *               runs only once the other checks pass (it analyses the whole cluster).
 * All checks are polled every poll_ms until all pass or the deadline (verify.timeout_s,
 * else default_timeout_s) — then the step regressed. No checks: passes at once. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/apply.h"
#include "reconcile/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum outcome { PENDING, PASSED, FAILED };

static int64_t num(const cJSON *o, const char *path)
{
	return ks_json_int_or(o, path, 0);
}

/* Whether the RFC 3339 time at path of o is before since_s (Unix seconds). */
static bool time_before(const cJSON *o, const char *path, int64_t since_s)
{
	const char *ts = ks_json_str(o, path);
	int64_t ns;
	return ts && !ks_time_parse_rfc3339(ts, strlen(ts), &ns, NULL) &&
	       ns / 1000000000 < since_s;
}

static enum outcome rollout(const cJSON *obj, int64_t since_s, char *why, size_t n)
{
	const char *kind = ks_json_str_or(obj, "kind", "");
	int64_t gen = num(obj, "metadata.generation"), seen = num(obj, "status.observedGeneration");
	if (strcmp(kind, "Deployment") && strcmp(kind, "StatefulSet") && strcmp(kind, "DaemonSet"))
		return PASSED;
	if (seen < gen) {
		snprintf(why, n, "the controller has not seen generation %lld yet", (long long)gen);
		return PENDING;
	}
	if (strcmp(kind, "DaemonSet") == 0) {
		int64_t want = num(obj, "status.desiredNumberScheduled");
		int64_t upd = num(obj, "status.updatedNumberScheduled");
		int64_t av = num(obj, "status.numberAvailable");
		snprintf(why, n, "%lld of %lld pods updated, %lld available", (long long)upd,
			 (long long)want, (long long)av);
		return upd >= want && av >= want ? PASSED : PENDING;
	}
	int64_t want = ks_json_int_or(obj, "spec.replicas", 1);
	int64_t upd = num(obj, "status.updatedReplicas"), total = num(obj, "status.replicas");
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(obj, "status.conditions")) {
		/* A deadline exceeded before the step (the very problem it fixes) is stale
		 * until the controller updates the condition for the new rollout. */
		if (strcmp(ks_json_str_or(c, "type", ""), "Progressing") == 0 &&
		    strcmp(ks_json_str_or(c, "reason", ""), "ProgressDeadlineExceeded") == 0 &&
		    !time_before(c, "lastUpdateTime", since_s)) {
			snprintf(why, n, "the rollout exceeded its progress deadline: %s",
				 ks_json_str_or(c, "message", ""));
			return FAILED;
		}
	}
	if (strcmp(kind, "StatefulSet") == 0) {
		int64_t ready = num(obj, "status.readyReplicas");
		const char *cur = ks_json_str_or(obj, "status.currentRevision", "");
		const char *upr = ks_json_str_or(obj, "status.updateRevision", "");
		snprintf(why, n, "%lld of %lld replicas updated, %lld ready", (long long)upd,
			 (long long)want, (long long)ready);
		return upd >= want && ready >= want && strcmp(cur, upr) == 0 ? PASSED : PENDING;
	}
	int64_t av = num(obj, "status.availableReplicas");
	snprintf(why, n, "%lld of %lld replicas updated, %lld available, %lld in all",
		 (long long)upd, (long long)want, (long long)av, (long long)total);
	return upd >= want && av >= want && total <= want ? PASSED : PENDING;
}

/* Whether pod p was created in the second since_s (Unix seconds) or before: maybe a pod of
 * the rollout being replaced, whose crash loop says nothing about the change. */
static bool pod_predates(const cJSON *p, int64_t since_s)
{
	return time_before(p, "metadata.creationTimestamp", since_s + 1);
}

static enum outcome pods_ready(struct reconciler *r, const cJSON *obj, int64_t since_s,
			       char *why, size_t n, struct ks_err *err, int *rc)
{
	const cJSON *ml = ks_json_get(obj, "spec.selector.matchLabels"), *l;
	if (!cJSON_IsObject(ml))
		return PASSED; /* not a workload */
	struct ks_buf sel;
	ks_buf_init(&sel, KS_BUF_UNLIMITED);
	cJSON_ArrayForEach(l, ml)
		ks_buf_appendf(&sel, "%s%s=%s", sel.len ? "," : "", l->string,
			       cJSON_IsString(l) ? l->valuestring : "");
	struct kube_list_opts lo = {.label_selector = sel.data};
	cJSON *pods = NULL;
	*rc = kube_list(r->o.kube, &KUBE_RES_PODS, ks_json_str(obj, "metadata.namespace"), &lo,
			&pods, err);
	ks_buf_release(&sel);
	if (*rc)
		return FAILED;
	int64_t want = ks_json_get(obj, "spec.replicas") ? num(obj, "spec.replicas") : 1;
	int ready = 0, total = 0;
	enum outcome res = PENDING;
	const cJSON *p, *cs, *c;
	cJSON_ArrayForEach(p, ks_json_child(pods, "items")) {
		if (ks_json_get(p, "metadata.deletionTimestamp"))
			continue;
		total++;
		cJSON_ArrayForEach(c, ks_json_get(p, "status.conditions"))
			if (strcmp(ks_json_str_or(c, "type", ""), "Ready") == 0 &&
			    strcmp(ks_json_str_or(c, "status", ""), "True") == 0)
				ready++;
		cJSON_ArrayForEach(cs, ks_json_get(p, "status.containerStatuses")) {
			const char *w = ks_json_str_or(cs, "state.waiting.reason", "");
			if ((!strcmp(w, "CrashLoopBackOff") || !strcmp(w, "ImagePullBackOff") ||
			     !strcmp(w, "ErrImagePull")) &&
			    !pod_predates(p, since_s)) {
				snprintf(why, n, "pod %s: container %s is in %s",
					 ks_json_str_or(p, "metadata.name", "?"),
					 ks_json_str_or(cs, "name", "?"), w);
				res = FAILED;
			}
		}
	}
	cJSON_Delete(pods);
	if (res == FAILED)
		return FAILED;
	snprintf(why, n, "%d of %d pods ready (%lld wanted)", ready, total, (long long)want);
	return ready == total && ready >= want ? PASSED : PENDING;
}

static enum outcome findings(struct reconciler *r, const struct rc_step *st, char *why,
			     size_t n, struct ks_err *err, int *rc)
{
	if (!r->o.findings) {
		snprintf(why, n, "no findings source is configured, so no-findings cannot be "
			 "confirmed");
		return FAILED;
	}
	bool present = false;
	const cJSON *causes = ks_json_child(st->verify, "findings");
	cJSON *none = causes ? NULL : cJSON_CreateArray();
	*rc = r->o.findings(r->o.ctx, st->target, causes ? causes : none, &present, err);
	cJSON_Delete(none);
	if (*rc)
		return FAILED;
	snprintf(why, n, present ? "a finding is still open on the target" : "no open findings");
	return present ? PENDING : PASSED;
}

int rc_verify_step(struct reconciler *r, const struct rc_step *st, bool *ok, char *why,
		   size_t why_len, struct ks_err *err)
{
	*ok = false;
	const cJSON *checks = ks_json_child(st->verify, "checks"), *c;
	if (ks_json_len(checks) == 0) {
		*ok = true;
		snprintf(why, why_len, "no checks were asked for");
		return 0;
	}
	const struct kube_resource *res = rc_resource(r, st, err);
	if (!res)
		return err->code ? err->code : KS_EINVAL;
	int timeout = st->timeout_s ? st->timeout_s : r->o.default_timeout_s;
	int64_t deadline = ks_mono_ms() + (int64_t)timeout * 1000;
	/* Pods created in this second or before (creation times have whole seconds;
	 * verification starts right after the step's write) may be the ones its rollout
	 * replaces: their failures do not fail the step at once (a failing pod of the step
	 * itself created in this very second is caught by the later pods or the deadline). */
	int64_t since_s = ks_time_now_ms() / 1000;
	char part[512] = "";
	for (;;) {
		cJSON *obj = NULL;
		int rc = kube_get(r->o.kube, res, st->ns, st->name, &obj, err);
		if (rc)
			return rc;
		enum outcome all = PASSED;
		struct ks_buf msg;
		ks_buf_init(&msg, KS_BUF_UNLIMITED);
		cJSON_ArrayForEach(c, checks) {
			const char *name = c->valuestring;
			enum outcome o;
			rc = 0;
			part[0] = '\0';
			if (strcmp(name, "rollout") == 0)
				o = rollout(obj, since_s, part, sizeof part);
			else if (strcmp(name, "pods-ready") == 0)
				o = pods_ready(r, obj, since_s, part, sizeof part, err, &rc);
			else if (all == PASSED)
				o = findings(r, st, part, sizeof part, err, &rc);
			else { /* the costly check waits for the others */
				o = PENDING;
				snprintf(part, sizeof part, "checked once the others pass");
			}
			if (rc) {
				cJSON_Delete(obj);
				ks_buf_release(&msg);
				return rc;
			}
			ks_buf_appendf(&msg, "%s%s: %s", msg.len ? "; " : "", name, part);
			if (o == FAILED || (o == PENDING && all == PASSED))
				all = o;
		}
		cJSON_Delete(obj);
		snprintf(why, why_len, "%s", msg.data ? msg.data : "");
		ks_buf_release(&msg);
		if (all == PASSED) {
			*ok = true;
			return 0;
		}
		if (all == FAILED)
			return 0;
		int64_t left = deadline - ks_mono_ms();
		if (left <= 0) {
			char tmp[KS_ERR_MSG_MAX];
			snprintf(tmp, sizeof tmp, "not healthy within %d s (%s)", timeout, why);
			snprintf(why, why_len, "%s", tmp);
			return 0;
		}
		int64_t ms = left < r->o.poll_ms ? left : r->o.poll_ms;
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
}
