/* swarm.c — the struct swarm, its public calls and the helpers the agents share.
 *
 * Lifecycle: swarm_new parses the secret sources and lets every agent subscribe to the bus
 * (agent_*_init, orchestrator_init); swarm_free unsubscribes them. Every public call runs
 * between swarm__enter and swarm__leave (the recursive mutex and the busy count).
 *
 * Who runs the agents: bus delivery happens in whichever thread is delivering (bus.h, 4),
 * so the swarm's own question may be delivered by the daemon's reconciler thread while the
 * swarm's thread waits, inside bus_publish, for it to be delivered. Agents therefore act on
 * a message when a swarm call is under way (busy) and one of the swarm's authors wrote it
 * (swarm__active), in whatever thread; the swarm's thread is blocked in bus_publish
 * meanwhile, so agents' state still has one user at a time (the bus mutex orders the
 * hand-over). Messages from others (the reconciler) never run an agent.
 *
 * Plan queue (statuses in swarm.h, rows in store/plans.c):
 *   orchestrator_round -> pending | approved | dry-run | denied
 *   swarm_approve: pending -> approved          swarm_reject: pending -> rejected
 *   swarm_next_approved: approved -> executing (and the change counts for rate limits; a
 *   new swarm reads the last hour's back into the policy context, policy_restore_applied)
 *   swarm_plan_finished: executing -> succeeded | failed | rolled_back
 * What a finished plan achieved is measured in later rounds (measure.c).
 * Ownership: see swarm.h. */
#include "base/common.h"
#include "base/json.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "store/plans.h"
#include "store/store.h"
#include "swarm/policy.h"
#include "swarm/swarm_internal.h"
#include "world/world.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The authors the swarm publishes as (people through swarm_approve / swarm_reject). */
static bool own_author(const char *from)
{
	static const char *const agents[] = {"orchestrator", "diagnostics", "cost", "efficiency",
					     "performance", "reliability", "forecasting",
					     "learning", "policy", "auto"};
	for (size_t i = 0; i < sizeof agents / sizeof *agents; i++)
		if (!strcmp(from, agents[i]))
			return true;
	return !strncmp(from, "human:", 6);
}

bool swarm__active(const struct swarm *s, const struct swarm_msg *m)
{
	return atomic_load(&s->busy) > 0 && own_author(m->from);
}

void swarm__enter(struct swarm *s)
{
	pthread_mutex_lock(&s->mu);
	atomic_fetch_add(&s->busy, 1);
}

void swarm__leave(struct swarm *s)
{
	atomic_fetch_sub(&s->busy, 1);
	pthread_mutex_unlock(&s->mu);
}

void swarm__subscribe(struct swarm *s, uint32_t types, bus_cb cb)
{
	struct bus_filter f = {.types = types};
	if (s->nsubs < SWARM_MAX_SUBS)
		s->subs[s->nsubs++] = bus_subscribe(s->o.bus, &f, cb, s);
}

bool swarm__round_question(const struct swarm *s, const struct swarm_msg *m)
{
	return swarm__active(s, m) && s->in && m->type == SWARM_MSG_QUESTION &&
	       !strcmp(m->from, "orchestrator");
}

bool swarm__repairs_outage(const struct swarm_msg *m)
{
	const char *action = ks_json_str_or(m->body, "action", "");
	const char *sev = ks_json_str_or(m->body, "severity", "");
	return (!strcmp(action, "repair") || !strcmp(action, "secret-from-source")) &&
	       (!strcmp(sev, "high") || !strcmp(sev, "critical"));
}

void swarm__vote(struct swarm *s, const char *from, const struct swarm_msg *m, double score,
		 const char *why)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "proposal", m->id);
	cJSON_AddNumberToObject(b, "score", score);
	cJSON_AddStringToObject(b, "why", why);
	char who[SWARM_MSG_AGENT_MAX];
	snprintf(who, sizeof who, "%s", from);
	who[0] = (char)(who[0] >= 'a' && who[0] <= 'z' ? who[0] - 'a' + 'A' : who[0]);
	swarm__publish(s, SWARM_MSG_VOTE, from, m->id, &m->subject, b, NULL,
		       "%s votes %+.1f on %s: %s", who, score, m->id, why);
}

struct swarm_subject swarm__subject(const char *kind, const char *ns, const char *name)
{
	struct swarm_subject subj = {0};
	snprintf(subj.kind, sizeof subj.kind, "%s", kind ? kind : "");
	snprintf(subj.namespace, sizeof subj.namespace, "%s", ns ? ns : "");
	snprintf(subj.name, sizeof subj.name, "%s", name ? name : "");
	return subj;
}

int swarm__publish(struct swarm *s, enum swarm_msg_type type, const char *from,
		   const char *re, const struct swarm_subject *subj, cJSON *body, char *id_out,
		   const char *fmt, ...)
{
	struct swarm_msg m = {.type = type, .body = body ? body : cJSON_CreateObject()};
	snprintf(m.from, sizeof m.from, "%s", from);
	snprintf(m.cluster, sizeof m.cluster, "%s", s->cluster);
	if (subj)
		m.subject = *subj;
	if (re && re[0])
		swarm_msg_add_re(&m, re, NULL);
	va_list ap;
	va_start(ap, fmt);
	char *text = ks_vasprintf(fmt, ap);
	va_end(ap);
	swarm_msg_fit_text(text);
	m.text = text;
	struct ks_err err = {0};
	int rc = bus_publish(s->o.bus, &m, &err);
	if (rc)
		KS_WARN("swarm", "%s could not publish a %s: %s", from, swarm_msg_type_name(type),
			    err.msg);
	else if (id_out)
		snprintf(id_out, SWARM_MSG_ID_MAX, "%s", m.id);
	swarm_msg_release(&m);
	return rc;
}

struct swarm_subject swarm__plan_subject(const struct plan_row *r)
{
	cJSON *j = r->subject ? ks_json_parse(r->subject, strlen(r->subject), 4096, NULL) : NULL;
	struct swarm_subject subj = swarm__subject(ks_json_str(j, "kind"),
						   ks_json_str(j, "namespace"),
						   ks_json_str(j, "name"));
	cJSON_Delete(j);
	return subj;
}

cJSON *swarm__proposal(const char *action, const char *risk, double confidence,
		       const char *key, const char *fingerprint)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "action", action);
	cJSON_AddStringToObject(b, "risk", risk);
	cJSON_AddNumberToObject(b, "confidence", confidence);
	cJSON_AddStringToObject(b, "key", key);
	cJSON_AddStringToObject(b, "fingerprint", fingerprint);
	return b;
}

void swarm__fingerprint(const cJSON *j, char out[24])
{
	char *txt = ks_json_print(j);
	snprintf(out, 24, "%016" PRIx64, ks_hash(txt, strlen(txt)));
	free(txt);
}

bool swarm__handled(struct swarm *s, const char *key, const char *fingerprint)
{
	struct plan_row r;
	if (plans_latest_for_key(s->o.store, key, &r, NULL))
		return false;
	bool open = !strcmp(r.status, "pending") || !strcmp(r.status, "approved") ||
		    !strcmp(r.status, "executing");
	bool finished = !strcmp(r.status, "succeeded") || !strcmp(r.status, "failed") ||
			!strcmp(r.status, "rolled_back");
	bool same = !strcmp(r.fingerprint, fingerprint);
	/* A finished plan's problem that is still there after SWARM_RECENT_S is new again; a
	 * rejected, denied or dry-run plan stands until the problem changes. */
	bool handled = open || (same && (!finished || s->now - r.updated < SWARM_RECENT_S));
	plan_row_release(&r);
	return handled;
}

static const struct {
	const char *kind, *api_version;
	enum world_kind wk;
} kinds[] = {
	{"Deployment", "apps/v1", WK_DEPLOYMENT},   {"StatefulSet", "apps/v1", WK_STATEFULSET},
	{"DaemonSet", "apps/v1", WK_DAEMONSET},     {"Service", "v1", WK_SERVICE},
	{"Secret", "v1", WK_SECRET},                {"ConfigMap", "v1", WK_CONFIGMAP},
	{"NodePool", "karpenter.sh/v1", WK_NODEPOOL}, {"Pod", "v1", WK_POD},
	{"Namespace", "v1", WK_NAMESPACE},
};

const char *swarm__api_version(const char *kind)
{
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (!strcmp(kinds[i].kind, kind))
			return kinds[i].api_version;
	return "v1";
}

struct wobj swarm__find(struct swarm *s, const char *kind, const char *ns, const char *name)
{
	struct wobj none = {.id = KUBE_OBJ_NONE};
	if (!s->in || !s->in->world)
		return none;
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (!strcmp(kinds[i].kind, kind))
			return world_get(s->in->world, kinds[i].wk, ns && ns[0] ? ns : NULL, name);
	return none;
}

cJSON *swarm__target(struct swarm *s, const char *kind, const char *ns, const char *name)
{
	cJSON *t = cJSON_CreateObject();
	struct wobj o = swarm__find(s, kind, ns, name);
	const cJSON *obj = wobj_ok(o) ? world_json(s->in->world, o) : NULL;
	cJSON_AddStringToObject(t, "apiVersion",
				ks_json_str_or(obj, "apiVersion", swarm__api_version(kind)));
	cJSON_AddStringToObject(t, "kind", kind);
	if (ns && ns[0]) /* docs/PLANS.md: absent for cluster-scoped kinds */
		cJSON_AddStringToObject(t, "namespace", ns);
	cJSON_AddStringToObject(t, "name", name);
	const char *uid = ks_json_str(obj, "metadata.uid");
	if (uid && uid[0]) /* absent when the object is not in the world */
		cJSON_AddStringToObject(t, "uid", uid);
	return t;
}

cJSON *swarm__preconditions(struct swarm *s, const char *kind, const char *ns,
			    const char *name)
{
	cJSON *p = cJSON_CreateObject();
	struct wobj o = swarm__find(s, kind, ns, name);
	const cJSON *obj = wobj_ok(o) ? world_json(s->in->world, o) : NULL;
	const char *uid = ks_json_str(obj, "metadata.uid");
	const char *rv = ks_json_str(obj, "metadata.resourceVersion");
	if (uid && uid[0])
		cJSON_AddStringToObject(p, "uid", uid);
	/* What the plan was made from: the spec's generation when the kind has one (status
	 * writes by controllers and kubelets move resourceVersion every few seconds, and a plan
	 * awaiting a person must not fail for those), else the resourceVersion (a Secret or a
	 * ConfigMap changes it only when its content changes). */
	const cJSON *gen = obj ? ks_json_get(obj, "metadata.generation") : NULL;
	if (cJSON_IsNumber(gen)) {
		cJSON *f = cJSON_AddArrayToObject(p, "fields");
		cJSON *eq = cJSON_CreateObject();
		cJSON_AddStringToObject(eq, "path", "metadata.generation");
		cJSON_AddNumberToObject(eq, "equals", gen->valuedouble);
		cJSON_AddItemToArray(f, eq);
	} else if (rv && rv[0]) {
		cJSON_AddStringToObject(p, "resourceVersion", rv);
	}
	return p;
}

cJSON *swarm__step(struct swarm *s, int n, const char *action, cJSON *target,
		   const cJSON *verify_findings, const char *summary)
{
	cJSON *st = cJSON_CreateObject();
	char id[16];
	snprintf(id, sizeof id, "s%d", n);
	cJSON_AddStringToObject(st, "id", id);
	cJSON_AddStringToObject(st, "action", action);
	cJSON_AddItemToObject(st, "preconditions",
			      swarm__preconditions(s, ks_json_str_or(target, "kind", ""),
						   ks_json_str_or(target, "namespace", ""),
						   ks_json_str_or(target, "name", "")));
	cJSON_AddItemToObject(st, "target", target);
	cJSON *verify = cJSON_AddObjectToObject(st, "verify");
	cJSON *checks = cJSON_AddArrayToObject(verify, "checks");
	const char *kind = ks_json_str_or(target, "kind", "");
	bool workload = !strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") ||
			!strcmp(kind, "DaemonSet");
	if (!strcmp(kind, "NodePool"))
		cJSON_AddItemToArray(checks, cJSON_CreateString("pods-ready"));
	if (workload) {
		cJSON_AddItemToArray(checks, cJSON_CreateString("rollout"));
		cJSON_AddItemToArray(checks, cJSON_CreateString("pods-ready"));
	}
	if (verify_findings && ks_json_len(verify_findings) > 0)
		cJSON_AddItemToArray(checks, cJSON_CreateString("no-findings"));
	cJSON_AddItemToObject(verify, "findings",
			      verify_findings ? cJSON_Duplicate(verify_findings, 1)
					      : cJSON_CreateArray());
	cJSON_AddNumberToObject(verify, "timeout_s", 300);
	cJSON_AddStringToObject(st, "summary", summary);
	return st;
}

void swarm__patch_plan(struct swarm *s, cJSON *b, const char *kind, const char *ns,
		       const char *name, const char *patch_type, cJSON *patch,
		       const cJSON *verify_findings, const char *summary, const char *rollback)
{
	cJSON *st = swarm__step(s, 1, "patch", swarm__target(s, kind, ns, name), verify_findings,
				summary);
	cJSON_AddStringToObject(st, "patch_type", patch_type);
	cJSON_AddItemToObject(st, "patch", patch);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "steps"), st);
	cJSON_AddStringToObject(b, "rollback", rollback);
}

/* Plans handed out (the newest 1000 plans' worth), for the rate limits after a restart;
 * policy_restore_applied keeps the last hour of them. Their times are on the rounds' clock
 * (a simulation's), so the hour is counted from the newest, not from the wall clock. */
struct applied_ctx {
	struct policy_applied *list;
	size_t n, cap;
	cJSON *plans; /* keeps the strings the list points into */
};

static int applied_row(const struct plan_row *r, void *ctx)
{
	struct applied_ctx *a = ctx;
	bool handed_out = !strcmp(r->status, "executing") || !strcmp(r->status, "succeeded") ||
			  !strcmp(r->status, "failed") || !strcmp(r->status, "rolled_back");
	if (!handed_out)
		return 0;
	cJSON *plan = ks_json_parse(r->plan, strlen(r->plan), SWARM_MSG_JSON_MAX, NULL);
	if (!plan)
		return 0;
	cJSON_AddItemToArray(a->plans, plan);
	a->list = ks_grow(a->list, sizeof *a->list, a->n + 1, &a->cap);
	a->list[a->n++] = (struct policy_applied){
		.at = r->updated,
		.namespace = ks_json_str(plan, "policy_change.namespace"),
		.nodepool = ks_json_str(plan, "policy_change.nodepool"),
	};
	return 0;
}

/* The changes applied lately, read back into the policy context's rate limits. */
static int restore_applied(struct swarm *s, struct ks_err *err)
{
	struct applied_ctx a = {.plans = cJSON_CreateArray()};
	int rc = plans_list(s->o.store, NULL, 1000, applied_row, &a, err);
	for (size_t i = 0; i < a.n; i++)
		a.list[i].cluster = s->cluster;
	if (!rc && a.n)
		rc = policy_restore_applied(s->o.policy, a.list, a.n, err);
	free(a.list);
	cJSON_Delete(a.plans);
	return rc;
}

int swarm_new(const struct swarm_opts *o, struct swarm **out, struct ks_err *err)
{
	*out = NULL;
	if (!o->bus || !o->store || !o->policy)
		return ks_err_set(err, KS_EINVAL, "swarm: bus, store and policy are required");
	cJSON *sources = NULL;
	if (o->secret_sources) {
		sources = ks_json_parse(o->secret_sources, strlen(o->secret_sources), 1 << 20, err);
		if (!sources)
			return ks_err_wrap(err, "swarm: secret sources");
		if (!cJSON_IsArray(sources)) {
			cJSON_Delete(sources);
			return ks_err_set(err, KS_EINVAL,
					  "swarm: secret sources: not a JSON array");
		}
	}
	struct swarm *s = ks_calloc(1, sizeof *s);
	s->o = *o;
	snprintf(s->cluster, sizeof s->cluster, "%s", o->cluster ? o->cluster : "local");
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	s->secret_sources = sources;
	s->latest = cJSON_CreateArray();
	s->costs_wanted = true; /* plans approved before a restart */
	ks_map_init(&s->diagnosed);
	ks_map_init(&s->suggested);
	orchestrator_init(s);
	agent_diagnostics_init(s);
	agent_cost_init(s);
	agent_efficiency_init(s);
	agent_forecasting_init(s);
	agent_performance_init(s);
	agent_reliability_init(s);
	agent_learning_init(s);
	int rc = restore_applied(s, err);
	if (!rc)
		rc = measure__restore(s, err);
	if (rc) {
		swarm_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void free_values(struct ks_map *m)
{
	size_t i = 0;
	const char *k;
	void *v;
	while (ks_map_next(m, &i, &k, &v))
		free(v);
	ks_map_release(m);
}

void swarm_free(struct swarm *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nsubs; i++)
		bus_unsubscribe(s->o.bus, s->subs[i]);
	cJSON_Delete(s->secret_sources);
	cJSON_Delete(s->round);
	cJSON_Delete(s->latest);
	free_values(&s->diagnosed);
	free_values(&s->suggested);
	measure__release(s);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int64_t swarm__clock(const struct swarm *s)
{
	int64_t wall = ks_time_now_ms() / 1000;
	return s->round_wall ? s->round_now + (wall - s->round_wall) : wall;
}

int swarm_round(struct swarm *s, const struct swarm_inputs *in, struct swarm_round_stats *st,
		struct ks_err *err)
{
	if (!in || !in->world || !in->findings)
		return ks_err_set(err, KS_EINVAL, "swarm round: world and findings are required");
	swarm__enter(s);
	s->in = in;
	s->now = in->now;
	s->round_now = in->now;
	s->round_wall = ks_time_now_ms() / 1000;
	s->st = (struct swarm_round_stats){0};
	agent_forecasting_record(s);
	measure__round(s); /* before the digest check: unchanged rounds measure too */
	int rc = orchestrator_round(s, err);
	if (s->st.approved_auto)
		s->costs_wanted = true;
	measure__round_end(s);
	if (st)
		*st = s->st;
	struct swarm_round_stats *t = &s->totals;
	t->proposals += s->st.proposals;
	t->vetoes += s->st.vetoes;
	t->decisions += s->st.decisions;
	t->plans += s->st.plans;
	t->approved_auto += s->st.approved_auto;
	t->pending_human += s->st.pending_human;
	t->denied += s->st.denied;
	t->dry_run += s->st.dry_run;
	s->in = NULL;
	swarm__leave(s);
	return rc;
}

/* The policy change a plan recorded (strings borrowed from the plan). */
static void plan_policy_change(const cJSON *plan, const char *cluster, struct policy_change *c)
{
	const cJSON *pc = ks_json_get(plan, "policy_change");
	*c = (struct policy_change){
		.cluster = cluster,
		.namespace = ks_json_str(pc, "namespace"),
		.nodepool = ks_json_str(pc, "nodepool"),
		.nodes_after = -1,
		.zones_after = -1,
		.cost_before_hr = -1,
		.cost_after_hr = -1,
	};
	enum policy_change_kind kind;
	if (policy_kind_parse(ks_json_str_or(pc, "kind", ""), &kind))
		c->kind = kind;
}

/* store_msg_cb: the approver of the plan ctx->plan_id (the last approval about it). */
struct approver_find {
	const char *plan_id;
	char approver[SWARM_MSG_AGENT_MAX];
};

static int find_approver(const struct swarm_msg *m, void *ctx)
{
	struct approver_find *f = ctx;
	if (m->type == SWARM_MSG_APPROVAL && !strcmp(ks_json_str_or(m->body, "plan_id", ""),
						     f->plan_id))
		snprintf(f->approver, sizeof f->approver, "%s",
			 ks_json_str_or(m->body, "approver", m->from));
	return 0;
}

/* The plan as the reconciler gets it: with "approved_by", for its audit. */
static void add_approver(struct swarm *s, const struct plan_row *r, cJSON *plan)
{
	struct approver_find f = {.plan_id = r->plan_id};
	struct swarm_subject subj = swarm__plan_subject(r);
	struct ks_err err = {0};
	if (store_msgs_about(s->o.store, &subj, 0, find_approver, &f, &err) || !f.approver[0])
		snprintf(f.approver, sizeof f.approver, "unknown");
	cJSON_DeleteItemFromObjectCaseSensitive(plan, "approved_by");
	cJSON_AddStringToObject(plan, "approved_by", f.approver);
}

int swarm_next_approved(struct swarm *s, cJSON **plan, struct ks_err *err)
{
	*plan = NULL;
	swarm__enter(s);
	struct plan_row r;
	int rc = plans_oldest(s->o.store, "approved", &r, err);
	if (rc == KS_ENOTFOUND) {
		ks_err_clear(err);
		s->costs_wanted = false; /* until the next approval */
		swarm__leave(s);
		return 0;
	}
	if (rc) {
		swarm__leave(s);
		return rc;
	}
	int64_t now = swarm__clock(s);
	rc = plans_set_status(s->o.store, r.plan_id, "approved", "executing", now, err);
	if (!rc) {
		*plan = ks_json_parse(r.plan, strlen(r.plan), SWARM_MSG_JSON_MAX, err);
		if (!*plan)
			rc = KS_EIO;
		else
			add_approver(s, &r, *plan);
	}
	if (!rc) {
		struct policy_change c;
		plan_policy_change(*plan, s->cluster, &c);
		policy_note_applied(s->o.policy, &c, now);
		measure__plan_started(s, &r);
	}
	plan_row_release(&r);
	swarm__leave(s);
	return rc;
}

int swarm_plan_finished(struct swarm *s, const char *plan_id, const char *result,
			const cJSON *outcome, struct ks_err *err)
{
	if (strcmp(result, "succeeded") && strcmp(result, "failed") &&
	    strcmp(result, "rolled_back"))
		return ks_err_set(err, KS_EINVAL, "plan %s: unknown result %s", plan_id, result);
	swarm__enter(s);
	s->now = swarm__clock(s);
	struct plan_row r; /* as it was while executing: `updated` is when it started */
	int rc = plans_get(s->o.store, plan_id, &r, err);
	if (rc)
		goto out;
	rc = plans_set_status(s->o.store, plan_id, "executing", result, s->now, err);
	cJSON *measured = rc ? NULL : measure__plan_finished(s, &r, result, outcome);
	if (!rc)
		rc = plans_set_text(s->o.store, plan_id, "result", result, err);
	if (!rc) {
		char *txt = ks_json_print(measured);
		rc = plans_set_text(s->o.store, plan_id, "measured", txt, err);
		free(txt);
	}
	if (!rc)
		rc = agent_learning_outcome(s, plan_id, result, measured, err);
	cJSON_Delete(measured);
	plan_row_release(&r);
out:
	swarm__leave(s);
	return rc;
}

/* The plan's measured outcome as JSON (null when there is none yet). */
static cJSON *measured_json(const struct plan_row *r)
{
	cJSON *m = r->measured ? ks_json_parse(r->measured, strlen(r->measured),
					       SWARM_MSG_JSON_MAX, NULL)
			       : NULL;
	return m ? m : cJSON_CreateNull();
}

/* Move a pending plan and say so on the bus. */
static int verdict(struct swarm *s, const char *plan_id, bool approve, const char *who,
		   const char *text, struct ks_err *err)
{
	if (!who || !who[0])
		return ks_err_set(err, KS_EINVAL, "plan %s: who decides is required", plan_id);
	swarm__enter(s);
	s->now = swarm__clock(s);
	struct plan_row r;
	int rc = plans_get(s->o.store, plan_id, &r, err);
	if (rc)
		goto out;
	rc = plans_set_status(s->o.store, plan_id, "pending", approve ? "approved" : "rejected",
			      s->now, err);
	if (!rc && approve)
		s->costs_wanted = true;
	if (rc) {
		plan_row_release(&r);
		goto out;
	}
	char from[SWARM_MSG_AGENT_MAX];
	snprintf(from, sizeof from, "human:%s", who);
	for (char *p = from; *p; p++)
		if (*p <= ' ' || *p > '~')
			*p = '_';
	struct swarm_subject subj = swarm__plan_subject(&r);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "plan_id", plan_id);
	const char *re = r.request_msg_id[0] ? r.request_msg_id : r.plan_msg_id;
	if (approve) {
		cJSON_AddStringToObject(body, "approver", who);
		if (text && text[0])
			cJSON_AddStringToObject(body, "comment", text);
		rc = swarm__publish(s, SWARM_MSG_APPROVAL, from, re, &subj, body, NULL,
				    "%s approved plan %s (%s).", who, plan_id, r.title);
	} else {
		cJSON_AddStringToObject(body, "by", who);
		cJSON_AddStringToObject(body, "reason", text && text[0] ? text : "no reason given");
		cJSON_AddStringToObject(body, "action", r.action);
		rc = swarm__publish(s, SWARM_MSG_REJECTION, from, re, &subj, body, NULL,
				    "%s rejected plan %s (%s): %s", who, plan_id, r.title,
				    text && text[0] ? text : "no reason given");
	}
	if (rc)
		ks_err_set(err, rc, "plan %s: publishing the verdict failed", plan_id);
	plan_row_release(&r);
out:
	swarm__leave(s);
	return rc;
}

int swarm_approve(struct swarm *s, const char *plan_id, const char *who, const char *comment,
		  struct ks_err *err)
{
	return verdict(s, plan_id, true, who, comment, err);
}

int swarm_reject(struct swarm *s, const char *plan_id, const char *who, const char *reason,
		 struct ks_err *err)
{
	return verdict(s, plan_id, false, who, reason, err);
}

static int list_row(const struct plan_row *r, void *ctx)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "plan_id", r->plan_id);
	cJSON_AddStringToObject(o, "status", r->status);
	cJSON_AddStringToObject(o, "risk", r->risk);
	cJSON_AddStringToObject(o, "title", r->title ? r->title : "");
	char ts[40];
	ks_time_format_rfc3339(r->created, ts, sizeof ts);
	cJSON_AddStringToObject(o, "created", ts);
	ks_time_format_rfc3339(r->updated, ts, sizeof ts);
	cJSON_AddStringToObject(o, "updated", ts);
	cJSON_AddNumberToObject(o, "savings_per_month", r->savings);
	cJSON *subj = r->subject ? ks_json_parse(r->subject, strlen(r->subject), 4096, NULL) : NULL;
	cJSON_AddItemToObject(o, "subject", subj ? subj : cJSON_CreateObject());
	cJSON_AddItemToObject(o, "measured", measured_json(r));
	cJSON_AddItemToArray(ctx, o);
	return 0;
}

int swarm_plans_list(struct swarm *s, const char *status, int limit, cJSON **out,
		     struct ks_err *err)
{
	cJSON *arr = cJSON_CreateArray();
	swarm__enter(s);
	int rc = plans_list(s->o.store, status, limit, list_row, arr, err);
	swarm__leave(s);
	if (rc) {
		cJSON_Delete(arr);
		arr = NULL;
	}
	*out = arr;
	return rc;
}

/* The JSON of a recorded message, or NULL. */
static cJSON *msg_json(struct swarm *s, const char *id)
{
	if (!id || !swarm_msg_id_valid(id))
		return NULL;
	struct swarm_msg m;
	if (store_msg_get(s->o.store, id, &m, NULL))
		return NULL;
	cJSON *j = swarm_msg_to_json(&m);
	swarm_msg_release(&m);
	return j;
}

struct history_ctx {
	const struct plan_row *r;
	cJSON *arr;
};

static int history_msg(const struct swarm_msg *m, void *ctx)
{
	struct history_ctx *h = ctx;
	const char *pid = ks_json_str(m->body, "plan_id");
	bool about = (pid && !strcmp(pid, h->r->plan_id)) || !strcmp(m->id, h->r->proposal_id) ||
		     !strcmp(m->id, h->r->decision_id);
	for (size_t i = 0; !about && i < m->nre; i++)
		about = !strcmp(m->re[i], h->r->proposal_id) ||
			!strcmp(m->re[i], h->r->plan_msg_id);
	if (about)
		cJSON_AddItemToArray(h->arr, swarm_msg_to_json(m));
	return 0;
}

int swarm_plan_get(struct swarm *s, const char *plan_id, cJSON **out, struct ks_err *err)
{
	*out = NULL;
	swarm__enter(s);
	struct plan_row r;
	int rc = plans_get(s->o.store, plan_id, &r, err);
	if (rc) {
		swarm__leave(s);
		return rc;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "plan_id", r.plan_id);
	cJSON_AddStringToObject(o, "status", r.status);
	cJSON *plan = ks_json_parse(r.plan, strlen(r.plan), SWARM_MSG_JSON_MAX, NULL);
	cJSON_AddItemToObject(o, "plan", plan ? plan : cJSON_CreateObject());
	cJSON *dec = msg_json(s, r.decision_id), *req = msg_json(s, r.request_msg_id);
	cJSON_AddItemToObject(o, "decision", dec ? dec : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "approval_request", req ? req : cJSON_CreateNull());
	cJSON *diff = r.diff ? ks_json_parse(r.diff, strlen(r.diff), SWARM_MSG_JSON_MAX, NULL)
			     : NULL;
	cJSON_AddItemToObject(o, "diff", diff ? diff : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "measured", measured_json(&r));
	struct history_ctx h = {.r = &r, .arr = cJSON_AddArrayToObject(o, "history")};
	int64_t since = 0;
	const char *first = r.proposal_id[0] ? r.proposal_id : r.decision_id;
	if (first[0] == 'm')
		ks_parse_int64(first + 1, &since);
	rc = store_msgs_since(s->o.store, since > 0 ? since - 1 : 0, 0, history_msg, &h, err);
	plan_row_release(&r);
	swarm__leave(s);
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	*out = o;
	return 0;
}

int swarm_proposals(struct swarm *s, cJSON **out, struct ks_err *err)
{
	(void)err;
	swarm__enter(s);
	*out = cJSON_Duplicate(s->latest, 1);
	swarm__leave(s);
	return 0;
}

int swarm_metrics(struct swarm *s, cJSON **out, struct ks_err *err)
{
	*out = NULL;
	swarm__enter(s);
	cJSON *by_status = NULL;
	struct plans_savings sv = {0};
	int rc = plans_counts(s->o.store, &by_status, &sv, err);
	if (!rc) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "rounds", (double)s->round_no);
		cJSON_AddNumberToObject(o, "proposals_open", ks_json_len(s->latest));
		cJSON_AddNumberToObject(o, "proposals_total", s->totals.proposals);
		cJSON_AddNumberToObject(o, "vetoes_total", s->totals.vetoes);
		cJSON_AddNumberToObject(o, "decisions_total", s->totals.decisions);
		cJSON_AddNumberToObject(o, "plans_total", s->totals.plans);
		cJSON_AddNumberToObject(o, "approved_auto_total", s->totals.approved_auto);
		cJSON_AddItemToObject(o, "plans", by_status);
		cJSON_AddNumberToObject(o, "savings_realised_per_month", sv.realised);
		cJSON_AddNumberToObject(o, "savings_predicted_per_month", sv.predicted);
		cJSON_AddNumberToObject(o, "savings_measured_plans", sv.measured);
		*out = o;
	}
	swarm__leave(s);
	return rc;
}

struct pool_scan {
	struct swarm *s;
	struct swarm_pool *out;
	struct ks_map owners; /* owner uid -> pod count (as a pointer-sized integer) */
};

bool swarm__namespace_production(struct swarm *s, const char *ns)
{
	struct wobj nso = swarm__find(s, "Namespace", "", ns);
	const cJSON *nsj = wobj_ok(nso) ? world_json(s->in->world, nso) : NULL;
	const char *env = ks_json_str_or(ks_json_get(nsj, "metadata.labels"), "env", "");
	return !strncmp(ns, "prod", 4) || !strcmp(env, "production") || !strcmp(env, "prod");
}

static int scan_pod(void *ctx, struct wobj pod)
{
	struct pool_scan *ps = ctx;
	const cJSON *p = world_json(ps->s->in->world, pod);
	const char *ns = ks_json_str_or(p, "metadata.namespace", "");
	bool seen = false;
	const cJSON *n;
	cJSON_ArrayForEach(n, ps->out->namespaces)
		seen = seen || !strcmp(n->valuestring, ns);
	if (!seen) {
		cJSON_AddItemToArray(ps->out->namespaces, cJSON_CreateString(ns));
		if (swarm__namespace_production(ps->s, ns))
			ps->out->production = true;
		ps->out->pdbs += (int)world_in_namespace(ps->s->in->world, WK_PDB, ns, NULL, NULL);
	}
	const cJSON *owner = cJSON_GetArrayItem(ks_json_get(p, "metadata.ownerReferences"), 0);
	const char *uid = ks_json_str(owner, "uid");
	if (uid && strcmp(ks_json_str_or(owner, "kind", ""), "DaemonSet")) {
		uintptr_t c = (uintptr_t)ks_map_get(&ps->owners, uid) + 1;
		ks_map_put(&ps->owners, uid, (void *)c);
		if (c >= 2)
			ps->out->replicated = true;
	}
	ps->out->pods++;
	return 0;
}

static int scan_node(void *ctx, struct wobj node)
{
	struct pool_scan *ps = ctx;
	world_pods_on_node(ps->s->in->world, wobj_name(ps->s->in->world, node), scan_pod, ps);
	return 0;
}

void swarm__pool_scan(struct swarm *s, const char *pool, struct swarm_pool *out)
{
	*out = (struct swarm_pool){.namespaces = cJSON_CreateArray()};
	struct pool_scan ps = {.s = s, .out = out};
	ks_map_init(&ps.owners);
	char kv[320];
	snprintf(kv, sizeof kv, "karpenter.sh/nodepool=%s", pool);
	world_with_label(s->in->world, WK_NODE, kv, scan_node, &ps);
	ks_map_release(&ps.owners);
}
