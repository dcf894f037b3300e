/* agent_learning.c — learns from outcomes and rejections, per action.
 * State machine per action (counts in the store's learning table, store/plans.c):
 *   RECORD: swarm_plan_finished -> agent_learning_outcome (result, predicted saving); the
 *           measured saving follows when later rounds have measured it (measure.c,
 *           learn_set_measured); a rejection message -> the reason, counted.
 *   ADJUST: on each proposal of an action with history, a vote carrying the adjusted
 *           confidence, which the orchestrator weighs instead of the proposer's:
 *             c' = c * (S + 1) / (S + F + R + 1) * m,   clamped to [0.05, 1]
 *           S succeeded, F failed or rolled back, R rejected; m = measured / predicted
 *           savings over the outcomes that measured one, clamped to [0.5, 1.2] (1 when
 *           none). The vote's score is (S - F - R) / (S + F + R).
 *   SUGGEST: at the 3rd rejection of an action, once (s->suggested): an observation with
 *           the reasons and the policy YAML lines that would stop it being proposed for a
 *           person to reject again.
 * Ownership: s->suggested keys are actions, values malloc'd markers. */
#include "base/common.h"
#include "base/json.h"
#include "store/plans.h"
#include "swarm/swarm_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SUGGEST_AFTER 3

static double adjusted(double c, const struct learn_stats *st, double *ratio)
{
	int fails = st->failed + st->rolled_back;
	double r = 1;
	if (st->measured_n > 0 && st->predicted_sum > 0)
		r = fmin(1.2, fmax(0.5, st->measured_sum / st->predicted_sum));
	*ratio = r;
	int total = st->succeeded + fails + st->rejections;
	double v = c * (st->succeeded + 1) / (double)(total + 1) * r;
	return round(fmin(1, fmax(0.05, v)) * 1000) / 1000;
}

static void on_proposal(struct swarm *s, const struct swarm_msg *m)
{
	const char *action = ks_json_str_or(m->body, "action", "");
	struct learn_stats st;
	if (learn_stats_get(s->o.store, action, &st, NULL))
		return;
	int fails = st.failed + st.rolled_back, total = st.succeeded + fails + st.rejections;
	if (total == 0)
		return;
	double c = cJSON_GetNumberValue(cJSON_GetObjectItem(m->body, "confidence")), ratio;
	double c2 = adjusted(c, &st, &ratio);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "proposal", m->id);
	cJSON_AddNumberToObject(b, "score", (double)(st.succeeded - fails - st.rejections) / total);
	cJSON_AddNumberToObject(b, "confidence_before", c);
	cJSON_AddNumberToObject(b, "confidence", c2);
	cJSON *h = cJSON_AddObjectToObject(b, "history");
	cJSON_AddNumberToObject(h, "succeeded", st.succeeded);
	cJSON_AddNumberToObject(h, "failed", st.failed);
	cJSON_AddNumberToObject(h, "rolled_back", st.rolled_back);
	cJSON_AddNumberToObject(h, "rejected", st.rejections);
	cJSON_AddNumberToObject(h, "measured_over_predicted", ratio);
	cJSON_AddStringToObject(b, "formula", "c * (S+1)/(S+F+R+1) * clamp(measured/predicted, "
					      "0.5, 1.2)");
	swarm__publish(s, SWARM_MSG_VOTE, "learning", m->id, &m->subject, b, NULL,
		       "Past %s changes: %d succeeded, %d failed or rolled back, %d rejected; "
		       "confidence %.2f -> %.2f.", action, st.succeeded, fails, st.rejections, c,
		       c2);
}

static void suggest(struct swarm *s, const char *action, const struct swarm_msg *m,
		    const struct plan_row *r)
{
	cJSON *reasons = NULL;
	if (ks_map_get(&s->suggested, action) ||
	    learn_rejection_reasons(s->o.store, action, &reasons, NULL))
		return;
	int n = 0;
	const cJSON *x;
	cJSON_ArrayForEach(x, reasons)
		n += (int)cJSON_GetNumberValue(cJSON_GetObjectItem(x, "count"));
	if (n < SUGGEST_AFTER) {
		cJSON_Delete(reasons);
		return;
	}
	ks_map_put(&s->suggested, action, ks_strdup("1"));
	cJSON *plan = r->plan ? ks_json_parse(r->plan, strlen(r->plan), SWARM_MSG_JSON_MAX, NULL)
			      : NULL;
	const char *kind = ks_json_str_or(plan, "policy_change.kind", "");
	const char *ns = ks_json_str_or(plan, "policy_change.namespace", "");
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "  - name: no-%s%s%s\n"
		 "    description: people rejected %d %s changes (%s)\n"
		 "    match: {kinds: [%s]%s%s%s}\n"
		 "    rule: {deny: true}\n",
		 action, ns[0] ? "-in-" : "", ns, n, action,
		 ks_json_str_or(cJSON_GetArrayItem(reasons, 0), "reason", ""),
		 kind[0] ? kind : "nodepool", ns[0] ? ", namespaces: [" : "", ns, ns[0] ? "]" : "");
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "action", action);
	cJSON_AddNumberToObject(b, "rejections", n);
	cJSON_AddItemToObject(b, "reasons", reasons);
	cJSON_AddStringToObject(b, "policy_yaml", yaml);
	swarm__publish(s, SWARM_MSG_OBSERVATION, "learning", m->id, &m->subject, b, NULL,
		       "People rejected %d %s changes; to stop proposing them, add to the "
		       "policies:\n%s", n, action, yaml);
	cJSON_Delete(plan);
}

static void on_rejection(struct swarm *s, const struct swarm_msg *m)
{
	const char *plan_id = ks_json_str_or(m->body, "plan_id", "");
	struct plan_row r;
	if (plans_get(s->o.store, plan_id, &r, NULL))
		return;
	struct learn_record rec = {
		.at = s->now, .plan_id = plan_id, .action = r.action, .event = "rejection",
		.result = "rejected", .reason = ks_json_str_or(m->body, "reason", ""),
		.predicted = r.savings, .measured = NAN,
	};
	if (!learn_insert(s->o.store, &rec, NULL))
		suggest(s, r.action, m, &r);
	plan_row_release(&r);
}

static void on_message(const struct swarm_msg *m, void *ctx)
{
	struct swarm *s = ctx;
	if (!swarm__active(s, m))
		return;
	if (m->type == SWARM_MSG_PROPOSAL && s->in)
		on_proposal(s, m);
	else if (m->type == SWARM_MSG_REJECTION)
		on_rejection(s, m);
}

int agent_learning_outcome(struct swarm *s, const char *plan_id, const char *result,
			   const cJSON *measured, struct ks_err *err)
{
	struct plan_row r;
	int rc = plans_get(s->o.store, plan_id, &r, err);
	if (rc)
		return rc;
	const cJSON *ms = cJSON_GetObjectItem(measured, "savings_per_month");
	struct learn_record rec = {
		.at = s->now, .plan_id = plan_id, .action = r.action, .event = "outcome",
		.result = result, .reason = ks_json_str_or(measured, "why", ""),
		.predicted = r.savings, .measured = cJSON_IsNumber(ms) ? ms->valuedouble : NAN,
	};
	rc = learn_insert(s->o.store, &rec, err);
	plan_row_release(&r);
	return rc;
}

void agent_learning_init(struct swarm *s)
{
	swarm__subscribe(s, BUS_TYPE_BIT(SWARM_MSG_PROPOSAL) | BUS_TYPE_BIT(SWARM_MSG_REJECTION),
			 on_message);
}
