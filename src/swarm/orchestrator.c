/* orchestrator.c — the agent that runs a round and decides.
 *
 * State machine of one round (orchestrator_round):
 *   IDLE -> (inputs' digest changed) ASK: publish the round's question with the goals ->
 *   COLLECT: the other agents answer during that publish (bus delivery is breadth first, so
 *   when it returns every proposal, critique, veto and vote has been delivered to collect())
 *   -> DECIDE: per subject, score the proposals, drop the vetoed, publish a decision with the
 *   alternatives and why the winner won -> PLAN: write the plan (steps from the proposal),
 *   evaluate the policies, store it with its status -> APPROVAL: a veto from "policy"
 *   (denied), nothing more (dry-run), an approval_request (a person), or an approval from
 *   "auto" -> IDLE.
 * An unchanged digest skips the round: nothing is published (rounds are cheap when nothing
 * changed).
 *
 * Score of a proposal (higher is better; <= 0 is not worth a change):
 *   benefit = min(1, savings_per_month / 500) for savings, else the severity weight of what
 *             it repairs (critical 1, high 0.8, medium 0.5, low 0.3, info 0.1)
 *   score   = confidence * (0.5 + 0.5 * benefit) - risk penalty (low 0, medium 0.1, high
 *             0.25) - sum of critique penalties (low 0.05, medium 0.1, high 0.2)
 *             + 0.1 * sum of vote scores
 * where confidence is the learning agent's adjusted one when it voted (agent_learning.c),
 * else the proposer's. A vetoed proposal is never chosen.
 *
 * Stabilization window: when a plan succeeded on the subject less than SWARM_STABILIZE_S
 * ago, the winner is held (the decision is "hold", no plan) unless it repairs an outage
 * (severity high or critical): the first change settles and is measured before the next.
 * Without it two agents undo each other: the optimizer's proven-cheapest NodePool mix, then
 * Layer 2's size heuristic widening it while Karpenter is still replacing the nodes. The
 * digest counts the plans that left the window, so a round runs again when a hold ends.
 *
 * Ownership: the round's records (s->round) live until the next round. */
#include "base/common.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "cost/optimize.h"
#include "diag/diag.h"
#include "forecast/events.h"
#include "store/plans.h"
#include "swarm/policy.h"
#include "swarm/swarm_internal.h"
#include "world/world.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static cJSON *find_record(struct swarm *s, const char *proposal_id)
{
	cJSON *rec;
	cJSON_ArrayForEach(rec, s->round)
	{
		if (!strcmp(ks_json_str_or(rec, "msg.id", ""), proposal_id))
			return rec;
	}
	return NULL;
}

static void collect(const struct swarm_msg *m, void *ctx)
{
	struct swarm *s = ctx;
	if (!swarm__active(s, m) || !s->in || !s->round)
		return;
	cJSON *j = swarm_msg_to_json(m);
	if (m->type == SWARM_MSG_PROPOSAL) {
		cJSON *rec = cJSON_CreateObject();
		cJSON_AddItemToObject(rec, "msg", j);
		cJSON_AddArrayToObject(rec, "critiques");
		cJSON_AddArrayToObject(rec, "vetoes");
		cJSON_AddArrayToObject(rec, "votes");
		cJSON_AddItemToArray(s->round, rec);
		cJSON_AddItemToArray(s->latest, cJSON_Duplicate(j, 1));
		s->st.proposals++;
		return;
	}
	const char *list = m->type == SWARM_MSG_CRITIQUE ? "critiques"
			   : m->type == SWARM_MSG_VETO	 ? "vetoes"
							 : "votes";
	cJSON *rec = m->nre ? find_record(s, m->re[0]) : NULL;
	if (!rec) {
		cJSON_Delete(j);
		return;
	}
	cJSON_AddItemToArray(cJSON_GetObjectItem(rec, list), j);
	if (m->type == SWARM_MSG_VETO)
		s->st.vetoes++;
}

void orchestrator_init(struct swarm *s)
{
	swarm__subscribe(s,
			 BUS_TYPE_BIT(SWARM_MSG_PROPOSAL) | BUS_TYPE_BIT(SWARM_MSG_CRITIQUE) |
				 BUS_TYPE_BIT(SWARM_MSG_VETO) | BUS_TYPE_BIT(SWARM_MSG_VOTE),
			 collect);
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	return h * 1099511628211ULL ^ ks_hash(p, n);
}

static uint64_t mix_json(uint64_t h, const cJSON *j)
{
	if (!j)
		return mix(h, "-", 1);
	char *t = ks_json_print(j);
	h = mix(h, t, strlen(t));
	free(t);
	return h;
}

static int digest_pool(void *ctx, struct wobj o)
{
	struct {
		struct swarm *s;
		uint64_t h;
	} *d = ctx;
	const cJSON *obj = world_json(d->s->in->world, o);
	d->h = mix_json(d->h, ks_json_get(obj, "spec.limits"));
	d->h = mix_json(d->h, ks_json_get(obj, "status.resources"));
	return 0;
}

uint64_t orchestrator_digest(struct swarm *s)
{
	const struct swarm_inputs *in = s->in;
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < in->findings->n; i++) {
		const struct diag_finding *f = in->findings->findings[i];
		h = mix(h, f->id, strlen(f->id));
		h = mix_json(h, f->remediation);
	}
	if (in->optimize) {
		for (size_t i = 0; i < in->optimize->n_pools; i++) {
			const struct opt_pool *p = &in->optimize->pools[i];
			h = mix(h, p->name, strlen(p->name));
			h = mix(h, &p->monthly_savings_usd, sizeof p->monthly_savings_usd);
			h = mix_json(h, p->patch);
		}
		for (size_t i = 0; i < in->optimize->n_workloads; i++) {
			const struct opt_workload *w = &in->optimize->workloads[i];
			h = mix(h, w->name, strlen(w->name));
			h = mix(h, &w->monthly_savings_usd, sizeof w->monthly_savings_usd);
		}
		h = mix(h, &in->optimize->current_hourly_usd, sizeof(double));
	}
	if (in->events)
		h = mix(h, in->events->items, in->events->n * sizeof *in->events->items);
	struct {
		struct swarm *s;
		uint64_t h;
	} d = {s, h};
	world_each(in->world, WK_NODEPOOL, digest_pool, &d);
	/* A finished plan's problem comes back after SWARM_RECENT_S: look again each period. */
	int64_t period = in->now / SWARM_RECENT_S;
	d.h = mix(d.h, &period, sizeof period);
	/* A hold ends when its plan leaves the stabilization window: count those that left. */
	int64_t left = 0;
	plans_count_succeeded_before(s->o.store, in->now - SWARM_STABILIZE_S, &left, NULL);
	return mix(d.h, &left, sizeof left);
}

static double level(const char *s, double low, double medium, double high)
{
	return !s ? 0 : !strcmp(s, "high") ? high : !strcmp(s, "medium") ? medium
					 : !strcmp(s, "low")  ? low
							      : 0;
}

static double severity_weight(const char *sev)
{
	static const struct {
		const char *name;
		double w;
	} t[] = {{"critical", 1}, {"high", 0.8}, {"medium", 0.5}, {"low", 0.3}, {"info", 0.1}};
	for (size_t i = 0; sev && i < sizeof t / sizeof *t; i++)
		if (!strcmp(sev, t[i].name))
			return t[i].w;
	return 0.3;
}

/* The confidence to weigh: the learning agent's adjusted one when it voted. */
static double confidence_of(const cJSON *rec)
{
	double conf = cJSON_GetNumberValue(ks_json_get(rec, "msg.body.confidence"));
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(rec, "votes"))
	{
		const cJSON *c = ks_json_get(v, "body.confidence");
		if (!strcmp(ks_json_str_or(v, "from", ""), "learning") && cJSON_IsNumber(c))
			conf = c->valuedouble;
	}
	return conf;
}

static double score_of(const cJSON *rec)
{
	const cJSON *body = ks_json_get(rec, "msg.body");
	double savings = cJSON_GetNumberValue(ks_json_get(body, "savings_per_month"));
	double benefit = !isnan(savings) && savings > 0
				 ? fmin(1, savings / 500)
				 : severity_weight(ks_json_str(body, "severity"));
	double score = confidence_of(rec) * (0.5 + 0.5 * benefit) -
		       level(ks_json_str(body, "risk"), 0, 0.1, 0.25);
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(rec, "critiques"))
		score -= level(ks_json_str(c, "body.severity"), 0.05, 0.1, 0.2);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(rec, "votes"))
		score += 0.1 * cJSON_GetNumberValue(ks_json_get(c, "body.score"));
	return round(score * 1000) / 1000;
}

static void subject_key(const cJSON *rec, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s", ks_json_str_or(rec, "msg.subject.kind", ""),
		 ks_json_str_or(rec, "msg.subject.namespace", ""),
		 ks_json_str_or(rec, "msg.subject.name", ""));
}

/* Labels of the namespace then of the object (the object's win), as key/value pairs the
 * caller frees (the strings are borrowed from the world). */
static const char **change_labels(struct swarm *s, const char *kind, const char *ns,
				  const char *name, size_t *npairs)
{
	const cJSON *objs[2] = {NULL, NULL};
	struct wobj o = ns && ns[0] ? swarm__find(s, "Namespace", "", ns)
				    : (struct wobj){.id = KUBE_OBJ_NONE};
	if (wobj_ok(o))
		objs[0] = world_json(s->in->world, o);
	o = swarm__find(s, kind, ns, name);
	if (wobj_ok(o))
		objs[1] = world_json(s->in->world, o);
	size_t n = 0;
	const char **kv = NULL;
	size_t cap = 0;
	for (int i = 0; i < 2; i++) {
		const cJSON *l;
		cJSON_ArrayForEach(l, ks_json_get(objs[i], "metadata.labels"))
		{
			if (!cJSON_IsString(l) || n >= POLICY_MAX_ITEMS)
				continue;
			kv = ks_grow(kv, sizeof *kv, 2 * (n + 1), &cap);
			kv[2 * n] = l->string;
			kv[2 * n + 1] = l->valuestring;
			n++;
		}
	}
	*npairs = n;
	return kv;
}


/* Evaluate the change once per affected namespace (and once for the subject itself): denied
 * when any evaluation denies; the approval is the strictest. *res is filled. */
static void evaluate(struct swarm *s, const cJSON *prop, const cJSON *pc, struct policy_result *res)
{
	const cJSON *subj = ks_json_get(prop, "subject");
	const char *kind = ks_json_str_or(subj, "kind", "");
	const char *name = ks_json_str_or(subj, "name", "");
	enum policy_change_kind ck = POLICY_KIND_NODEPOOL;
	policy_kind_parse(ks_json_str_or(pc, "kind", ""), &ck);
	enum policy_risk risk = POLICY_RISK_LOW;
	const char *r = ks_json_str_or(prop, "body.risk", "low");
	risk = !strcmp(r, "high") ? POLICY_RISK_HIGH : !strcmp(r, "medium") ? POLICY_RISK_MEDIUM
									 : POLICY_RISK_LOW;
	cJSON *namespaces = cJSON_CreateArray();
	cJSON_AddItemToArray(namespaces, cJSON_CreateString(ks_json_str_or(subj, "namespace", "")));
	const cJSON *ns;
	cJSON_ArrayForEach(ns, ks_json_get(pc, "namespaces"))
		if (cJSON_IsString(ns))
			cJSON_AddItemToArray(namespaces, cJSON_CreateString(ns->valuestring));
	bool first = true;
	cJSON_ArrayForEach(ns, namespaces)
	{
		size_t npairs = 0;
		const char **labels = change_labels(s, first ? kind : "", ns->valuestring,
						    first ? name : "", &npairs);
		struct policy_change c = {
			.cluster = s->cluster,
			.namespace = ns->valuestring,
			.labels = labels,
			.nlabels = npairs,
			.nodepool = ks_json_str(pc, "nodepool"),
			.kind = ck,
			.risk = risk,
			.uses_spot = cJSON_IsTrue(ks_json_get(pc, "uses_spot")),
			.nodes_after = (int)ks_json_num_or(pc, "nodes_after", -1),
			.zones_after = (int)ks_json_num_or(pc, "zones_after", -1),
			.cost_before_hr = ks_json_num_or(pc, "cost_before_hr", -1),
			.cost_after_hr = ks_json_num_or(pc, "cost_after_hr", -1),
			.savings_pct = ks_json_num_or(pc, "savings_pct", 0),
		};
		struct policy_result one;
		policy_evaluate(s->o.policy, &c, s->now, &one);
		free(labels);
		if (first || (!one.allowed && res->allowed) ||
		    (one.allowed == res->allowed && one.approval < res->approval)) {
			if (!first)
				policy_result_release(res);
			*res = one;
		} else {
			policy_result_release(&one);
		}
		first = false;
	}
	cJSON_Delete(namespaces);
}

static const char *status_of(enum policy_approval a)
{
	switch (a) {
	case POLICY_APPROVAL_DENIED:
		return "denied";
	case POLICY_APPROVAL_DRY_RUN:
		return "dry-run";
	case POLICY_APPROVAL_AUTO:
		return "approved";
	default:
		return "pending";
	}
}

/* Write the plan of the chosen proposal, evaluate the policies, store and announce it. */
static int make_plan(struct swarm *s, const cJSON *rec, const char *decision_id,
		     const cJSON *alternatives, struct ks_err *err)
{
	const cJSON *prop = cJSON_GetObjectItem(rec, "msg");
	const cJSON *body = cJSON_GetObjectItem(prop, "body");
	const cJSON *subj = cJSON_GetObjectItem(prop, "subject");
	struct swarm_subject subject = swarm__subject(ks_json_str(subj, "kind"),
						      ks_json_str(subj, "namespace"),
						      ks_json_str(subj, "name"));
	struct plan_row row = {0};
	int rc = plans_next_id(s->o.store, row.plan_id, err);
	if (rc)
		return rc;
	const char *title = ks_json_str_or(body, "title", ks_json_str_or(prop, "text", ""));
	double savings = ks_json_num_or(body, "savings_per_month", 0);
	cJSON *plan = cJSON_CreateObject();
	cJSON_AddStringToObject(plan, "plan_id", row.plan_id);
	cJSON_AddStringToObject(plan, "title", title);
	cJSON_AddStringToObject(plan, "risk", ks_json_str_or(body, "risk", "medium"));
	cJSON_AddStringToObject(plan, "action", ks_json_str_or(body, "action", ""));
	cJSON_AddItemToObject(plan, "subject", cJSON_Duplicate(subj, 1));
	cJSON_AddItemToObject(plan, "steps",
			      cJSON_Duplicate(cJSON_GetObjectItem(body, "steps"), 1));
	cJSON_AddNumberToObject(plan, "savings_per_month", savings);
	cJSON_AddStringToObject(plan, "benefit", ks_json_str_or(body, "benefit", title));
	cJSON_AddNumberToObject(plan, "confidence", confidence_of(rec));
	cJSON *alts = cJSON_Duplicate(alternatives, 1);
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(body, "alternatives"))
		cJSON_AddItemToArray(alts, cJSON_Duplicate(a, 1));
	cJSON_AddItemToObject(plan, "alternatives", alts);
	cJSON_AddStringToObject(plan, "rollback",
				ks_json_str_or(body, "rollback",
					       "each step is undone by the reconciler from the "
					       "object it recorded before the change"));
	cJSON_AddStringToObject(plan, "proposal", ks_json_str_or(prop, "id", ""));
	cJSON_AddStringToObject(plan, "decision", decision_id);
	const cJSON *pc = cJSON_GetObjectItem(body, "policy");
	cJSON *pc_copy = pc ? cJSON_Duplicate(pc, 1) : cJSON_CreateObject();
	if (!cJSON_GetObjectItem(pc_copy, "namespace"))
		cJSON_AddStringToObject(pc_copy, "namespace", subject.namespace);
	cJSON_AddItemToObject(plan, "policy_change", pc_copy);
	struct policy_result res;
	evaluate(s, prop, pc_copy, &res);
	cJSON_AddItemToObject(plan, "policy", policy_result_to_json(&res));

	snprintf(row.status, sizeof row.status, "%s", status_of(res.approval));
	snprintf(row.risk, sizeof row.risk, "%s", ks_json_str_or(body, "risk", "medium"));
	snprintf(row.action, sizeof row.action, "%s", ks_json_str_or(body, "action", ""));
	snprintf(row.key, sizeof row.key, "%s", ks_json_str_or(body, "key", ""));
	snprintf(row.fingerprint, sizeof row.fingerprint, "%s",
		 ks_json_str_or(body, "fingerprint", ""));
	snprintf(row.proposal_id, sizeof row.proposal_id, "%s", ks_json_str_or(prop, "id", ""));
	snprintf(row.decision_id, sizeof row.decision_id, "%s", decision_id);
	row.created = row.updated = s->now;
	row.savings = savings;
	row.title = (char *)title;
	char *subj_txt = ks_json_print(subj), *plan_txt = ks_json_print(plan);
	row.subject = subj_txt;
	row.plan = plan_txt;
	rc = plans_insert(s->o.store, &row, err);
	free(subj_txt);
	free(plan_txt);
	char plan_msg[SWARM_MSG_ID_MAX] = "";
	if (!rc)
		rc = swarm__publish(s, SWARM_MSG_PLAN, "orchestrator", decision_id, &subject, plan,
				    plan_msg, "Plan %s: %s (risk %s, %s).", row.plan_id, title,
				    row.risk, row.status);
	else
		cJSON_Delete(plan);
	if (rc)
		goto out;
	plan = NULL;
	s->st.plans++;
	plans_set_text(s->o.store, row.plan_id, "plan_msg_id", plan_msg, NULL);
	if (res.approval == POLICY_APPROVAL_DENIED) {
		const struct policy_verdict *v = NULL;
		for (size_t i = 0; i < res.nverdicts && !v; i++)
			if (res.verdicts[i].outcome == POLICY_DENY)
				v = &res.verdicts[i];
		cJSON *veto = cJSON_CreateObject();
		cJSON_AddStringToObject(veto, "plan_id", row.plan_id);
		cJSON_AddStringToObject(veto, "reason", v ? v->why : "denied by policy");
		cJSON_AddStringToObject(veto, "rule", v ? v->policy : "policy");
		swarm__publish(s, SWARM_MSG_VETO, "policy", plan_msg, &subject, veto, NULL,
			       "Policy %s denies plan %s: %s", v ? v->policy : "?", row.plan_id,
			       v ? v->why : "denied");
		s->st.denied++;
		goto out;
	}
	cJSON *diff = NULL;
	if (s->o.dry_run && res.approval != POLICY_APPROVAL_AUTO) {
		struct ks_err derr = {0};
		cJSON *whole = NULL;
		cJSON *p = NULL;
		struct plan_row stored;
		if (!plans_get(s->o.store, row.plan_id, &stored, NULL)) {
			p = ks_json_parse(stored.plan, strlen(stored.plan), SWARM_MSG_JSON_MAX,
					  NULL);
			plan_row_release(&stored);
		}
		if (p && s->o.dry_run(s->o.dry_run_ctx, p, &whole, &derr) == 0 && whole) {
			diff = whole;
			char *t = ks_json_print(diff);
			plans_set_text(s->o.store, row.plan_id, "diff", t, NULL);
			free(t);
		} else if (p) {
			diff = cJSON_CreateObject();
			cJSON_AddStringToObject(diff, "error", derr.msg);
		}
		cJSON_Delete(p);
	}
	if (res.approval == POLICY_APPROVAL_DRY_RUN) {
		cJSON_Delete(diff);
		s->st.dry_run++;
		goto out;
	}
	if (res.approval == POLICY_APPROVAL_AUTO) {
		cJSON *ap = cJSON_CreateObject();
		cJSON_AddStringToObject(ap, "plan_id", row.plan_id);
		cJSON_AddStringToObject(ap, "approver", "auto");
		cJSON_AddStringToObject(ap, "comment", res.approval_why);
		swarm__publish(s, SWARM_MSG_APPROVAL, "auto", plan_msg, &subject, ap, NULL,
			       "Plan %s is approved automatically: %s", row.plan_id,
			       res.approval_why);
		s->st.approved_auto++;
		goto out;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "plan_id", row.plan_id);
	cJSON_AddStringToObject(req, "title", title);
	cJSON_AddStringToObject(req, "risk", row.risk);
	cJSON_AddNumberToObject(req, "savings_per_month", savings);
	cJSON_AddStringToObject(req, "benefit", ks_json_str_or(body, "benefit", title));
	cJSON_AddStringToObject(req, "rollback", ks_json_str_or(body, "rollback", ""));
	cJSON_AddStringToObject(req, "why", res.approval_why);
	cJSON_AddStringToObject(req, "approval", policy_approval_name(res.approval));
	cJSON_AddItemToObject(req, "diff", diff ? diff : cJSON_CreateNull());
	char req_id[SWARM_MSG_ID_MAX] = "";
	swarm__publish(s, SWARM_MSG_APPROVAL_REQUEST, "orchestrator", plan_msg, &subject, req,
		       req_id, "Plan %s needs approval: %s (risk %s). %s", row.plan_id, title,
		       row.risk, res.approval_why);
	plans_set_text(s->o.store, row.plan_id, "request_msg_id", req_id, NULL);
	s->st.pending_human++;
out:
	policy_result_release(&res);
	return rc;
}

/* Decide among the proposals about one subject (records listed in group). */
/* Whether the winner waits for the stabilization window (see the top of the file); why
 * in why. */
static bool held(struct swarm *s, const cJSON *rec, char *why, size_t n)
{
	const char *sev = ks_json_str_or(rec, "msg.body.severity", "");
	if (!strcmp(sev, "high") || !strcmp(sev, "critical"))
		return false;
	const char *kind = ks_json_str_or(rec, "msg.subject.kind", "");
	const char *ns = ks_json_str_or(rec, "msg.subject.namespace", "");
	const char *name = ks_json_str_or(rec, "msg.subject.name", "");
	struct plan_row r;
	if (plans_succeeded_on(s->o.store, kind, ns, name, s->now - SWARM_STABILIZE_S, &r, NULL))
		return false;
	char until[32];
	ks_time_format_rfc3339(r.updated + SWARM_STABILIZE_S, until, sizeof until);
	snprintf(why, n,
		 "hold: plan %s changed %s %s%s%s %lld s ago; %s (%s) waits until %s (a %d-minute "
		 "stabilization window) so that the first change settles and is measured",
		 r.plan_id, kind, ns, *ns ? "/" : "", name, (long long)(s->now - r.updated),
		 ks_json_str_or(rec, "msg.id", ""), ks_json_str_or(rec, "msg.body.action", ""),
		 until, SWARM_STABILIZE_S / 60);
	plan_row_release(&r);
	return true;
}

static int decide(struct swarm *s, cJSON *group, struct ks_err *err)
{
	cJSON *considered = cJSON_CreateArray(), *scores = cJSON_CreateObject();
	cJSON *vetoes = cJSON_CreateArray(), *alternatives = cJSON_CreateArray();
	const cJSON *best = NULL, *rec;
	double best_score = 0;
	cJSON_ArrayForEach(rec, group)
	{
		const char *id = ks_json_str_or(rec, "msg.id", "");
		double sc = score_of(rec);
		cJSON_AddItemToArray(considered, cJSON_CreateString(id));
		cJSON_AddNumberToObject(scores, id, sc);
		const cJSON *v;
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(rec, "vetoes"))
		{
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "proposal", id);
			cJSON_AddStringToObject(o, "by", ks_json_str_or(v, "from", ""));
			cJSON_AddStringToObject(o, "veto", ks_json_str_or(v, "id", ""));
			cJSON_AddStringToObject(o, "rule", ks_json_str_or(v, "body.rule", ""));
			cJSON_AddStringToObject(o, "reason", ks_json_str_or(v, "body.reason", ""));
			cJSON_AddItemToArray(vetoes, o);
		}
		if (ks_json_len(cJSON_GetObjectItem(rec, "vetoes")) == 0 && sc > best_score) {
			best = rec;
			best_score = sc;
		}
	}
	char hold[768] = "";
	const cJSON *held_rec = best && held(s, best, hold, sizeof hold) ? best : NULL;
	if (held_rec)
		best = NULL;
	const char *chosen = best ? ks_json_str_or(best, "msg.id", "") : "";
	cJSON_ArrayForEach(rec, group)
	{
		if (rec == best)
			continue;
		const char *id = ks_json_str_or(rec, "msg.id", "");
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "proposal", id);
		cJSON_AddStringToObject(o, "action", ks_json_str_or(rec, "msg.body.action", ""));
		cJSON_AddStringToObject(o, "title", ks_json_str_or(rec, "msg.body.title", ""));
		cJSON_AddNumberToObject(o, "score", score_of(rec));
		const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "vetoes"), 0);
		char why[1024];
		if (v)
			snprintf(why, sizeof why, "vetoed by %s (%s): %s",
				 ks_json_str_or(v, "from", ""), ks_json_str_or(v, "body.rule", ""),
				 ks_json_str_or(v, "body.reason", ""));
		else if (rec == held_rec)
			snprintf(why, sizeof why, "scored %.3f, held: %s", score_of(rec), hold);
		else if (best)
			snprintf(why, sizeof why, "scored %.3f, below %s's %.3f", score_of(rec),
				 chosen, best_score);
		else
			snprintf(why, sizeof why, "scored %.3f: not worth a change", score_of(rec));
		cJSON_AddStringToObject(o, "why_lost", why);
		cJSON_AddItemToArray(alternatives, o);
	}
	char reason[1024];
	if (best) {
		int crit = ks_json_len(cJSON_GetObjectItem(best, "critiques"));
		snprintf(reason, sizeof reason,
			 "%s (%s) scored %.3f: confidence %.2f, risk %s, %d critique%s%s%s.",
			 chosen,
			 ks_json_str_or(best, "msg.body.action", ""), best_score,
			 confidence_of(best), ks_json_str_or(best, "msg.body.risk", ""), crit,
			 crit == 1 ? "" : "s", ks_json_len(alternatives) ? "; " : "",
			 ks_json_len(alternatives) ? "the alternatives lost (see alternatives)"
						   : "");
	} else if (held_rec) {
		snprintf(reason, sizeof reason, "%s", hold);
	} else if (ks_json_len(vetoes)) {
		const cJSON *v = cJSON_GetArrayItem(vetoes, 0);
		snprintf(reason, sizeof reason, "do nothing: %s was vetoed by %s (%s): %s",
			 ks_json_str_or(v, "proposal", ""), ks_json_str_or(v, "by", ""),
			 ks_json_str_or(v, "rule", ""), ks_json_str_or(v, "reason", ""));
	} else {
		snprintf(reason, sizeof reason, "do nothing: no proposal scored above 0");
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "chosen", chosen);
	cJSON_AddItemToObject(body, "considered", considered);
	cJSON_AddStringToObject(body, "reason", reason);
	cJSON_AddItemToObject(body, "scores", scores);
	cJSON_AddItemToObject(body, "vetoes", vetoes);
	cJSON_AddItemToObject(body, "alternatives", cJSON_Duplicate(alternatives, 1));
	if (best)
		cJSON_AddNumberToObject(body, "confidence", confidence_of(best));
	const cJSON *first = cJSON_GetArrayItem(group, 0);
	struct swarm_subject subject = swarm__subject(ks_json_str(first, "msg.subject.kind"),
						      ks_json_str(first, "msg.subject.namespace"),
						      ks_json_str(first, "msg.subject.name"));
	struct swarm_msg m = {.type = SWARM_MSG_DECISION, .subject = subject, .body = body};
	snprintf(m.from, sizeof m.from, "orchestrator");
	snprintf(m.cluster, sizeof m.cluster, "%s", s->cluster);
	cJSON_ArrayForEach(rec, group)
		swarm_msg_add_re(&m, ks_json_str_or(rec, "msg.id", ""), NULL);
	const char *slash = subject.namespace[0] ? "/" : "";
	m.text = best ? ks_asprintf("Decision on %s %s%s%s: %s %s. %s", subject.kind,
				    subject.namespace, slash, subject.name,
				    ks_json_str_or(best, "msg.body.action", ""),
				    ks_json_str_or(best, "msg.body.title", ""), reason)
		      : ks_asprintf("Decision on %s %s%s%s: %s", subject.kind, subject.namespace,
				    slash, subject.name, reason);
	int rc = bus_publish(s->o.bus, &m, err);
	char decision_id[SWARM_MSG_ID_MAX];
	snprintf(decision_id, sizeof decision_id, "%s", m.id);
	swarm_msg_release(&m);
	if (!rc)
		s->st.decisions++;
	if (!rc && best)
		rc = make_plan(s, best, decision_id, alternatives, err);
	cJSON_Delete(alternatives);
	return rc;
}

int orchestrator_round(struct swarm *s, struct ks_err *err)
{
	uint64_t digest = orchestrator_digest(s);
	if (digest == s->last_digest && s->round_no > 0)
		return 0;
	s->last_digest = digest;
	s->round_no++;
	cJSON_Delete(s->round);
	s->round = cJSON_CreateArray();
	cJSON_Delete(s->latest);
	s->latest = cJSON_CreateArray();
	cJSON *body = cJSON_CreateObject();
	cJSON_AddNumberToObject(body, "round", (double)s->round_no);
	cJSON *goals = cJSON_AddObjectToObject(body, "goals");
	cJSON_AddNumberToObject(goals, "uptime_target", s->o.goals.uptime_target);
	cJSON_AddNumberToObject(goals, "min_savings_usd", s->o.goals.min_savings_usd);
	cJSON_AddBoolToObject(goals, "cut_cost", s->o.goals.cut_cost);
	cJSON_AddNumberToObject(body, "findings", (double)s->in->findings->n);
	cJSON_AddBoolToObject(body, "optimize", s->in->optimize != NULL);
	char uptime[48] = "";
	if (s->o.goals.uptime_target > 0)
		snprintf(uptime, sizeof uptime, "uptime %.4g%%, ", s->o.goals.uptime_target * 100);
	int rc = swarm__publish(s, SWARM_MSG_QUESTION, "orchestrator", NULL, NULL, body, NULL,
				"Round %lld: what needs doing? Goals: %schanges worth at least "
				"$%.2f/month%s.",
				(long long)s->round_no, uptime, s->o.goals.min_savings_usd,
				s->o.goals.cut_cost ? ", cut cost" : "");
	if (rc)
		return ks_err_set(err, rc, "swarm round %lld: the question could not be published",
				  (long long)s->round_no);
	/* Group the proposals by subject, in the order they came. */
	struct ks_map groups;
	ks_map_init(&groups);
	cJSON *order = cJSON_CreateArray();
	cJSON *rec;
	cJSON_ArrayForEach(rec, s->round)
	{
		char key[512];
		subject_key(rec, key, sizeof key);
		cJSON *g = ks_map_get(&groups, key);
		if (!g) {
			g = cJSON_CreateArray();
			cJSON_AddItemToArray(order, g);
			ks_map_put(&groups, key, g);
		}
		cJSON_AddItemReferenceToArray(g, rec);
	}
	ks_map_release(&groups);
	cJSON *g;
	cJSON_ArrayForEach(g, order)
	{
		if ((rc = decide(s, g, err)))
			break;
	}
	cJSON_Delete(order);
	return rc;
}
