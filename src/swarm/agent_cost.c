/* agent_cost.c — proposes the cost optimizer's NodePool mixes.
 * State machine: on each round's question (only with goals.cut_cost and an opt_report), for
 * every pool whose recommendation saves at least goals.min_savings_usd a month and carries a
 * patch: PROPOSE (action "nodepool-mix": the merge patch on the NodePool, the saving, the
 * optimizer's alternatives with why they lost, its risks, and what the critics and the
 * policies need: spot afterwards, nodes after, the namespaces of its pods) -> WAIT while the
 * pool's key has an open or recent plan with the same patch (swarm__handled).
 * Ownership: none kept. */
#include "base/common.h"
#include "base/json.h"
#include "cost/optimize.h"
#include "swarm/swarm_internal.h"

#include <stdio.h>
#include <string.h>

static bool mix_uses_spot(const struct opt_mix *x)
{
	for (size_t i = 0; i < x->n_items; i++)
		if (x->items[i].capacity && !strcmp(x->items[i].capacity, "spot"))
			return true;
	return false;
}

/* Availability zones after the change: one node is one zone; a zone requirement (In) of the
 * patched NodePool counts its values; otherwise unknown (-1: Karpenter spreads). */
static int zones_after(const struct opt_pool *p)
{
	if (p->recommended.nodes == 1)
		return 1;
	const cJSON *r;
	cJSON_ArrayForEach(r, ks_json_get(p->patched, "spec.template.spec.requirements"))
	{
		if (!strcmp(ks_json_str_or(r, "key", ""), "topology.kubernetes.io/zone") &&
		    !strcmp(ks_json_str_or(r, "operator", ""), "In"))
			return ks_json_len(cJSON_GetObjectItem(r, "values"));
	}
	return -1;
}

static void propose_pool(struct swarm *s, const struct opt_pool *p, const char *re)
{
	char key[320], fp[24];
	snprintf(key, sizeof key, "nodepool-mix:%s", p->name);
	swarm__fingerprint(p->patch, fp);
	if (swarm__handled(s, key, fp))
		return;
	bool spot = mix_uses_spot(&p->recommended), was_spot = mix_uses_spot(&p->current);
	char now_txt[256], rec_txt[256];
	opt_mix_text(now_txt, sizeof now_txt, &p->current);
	opt_mix_text(rec_txt, sizeof rec_txt, &p->recommended);
	cJSON *b = swarm__proposal("nodepool-mix", spot && !was_spot ? "high" : "medium",
				   p->n_risks ? 0.7 : 0.8, key, fp);
	char title[800];
	snprintf(title, sizeof title, "NodePool %s: %s instead of %s", p->name, rec_txt, now_txt);
	cJSON_AddStringToObject(b, "title", title);
	cJSON_AddNumberToObject(b, "savings_per_month", p->monthly_savings_usd);
	char benefit[128];
	snprintf(benefit, sizeof benefit, "saves $%.2f/month at the same capacity",
		 p->monthly_savings_usd);
	cJSON_AddStringToObject(b, "benefit", benefit);
	cJSON_AddStringToObject(b, "nodepool", p->name);
	cJSON_AddBoolToObject(b, "spot", spot);
	cJSON_AddNumberToObject(b, "nodes_after", (double)p->recommended.nodes);
	cJSON_AddNumberToObject(b, "zones_after", zones_after(p));
	char summary[600];
	snprintf(summary, sizeof summary, "merge-patch NodePool %s so Karpenter lands on %s",
		 p->name, rec_txt);
	swarm__patch_plan(s, b, "NodePool", "", p->name, "merge", cJSON_Duplicate(p->patch, 1),
			  NULL, summary,
			  "the NodePool's previous spec is restored; Karpenter then drifts the "
			  "nodes back");
	cJSON *alts = cJSON_AddArrayToObject(b, "alternatives");
	for (size_t i = 0; i < p->n_cands; i++) {
		if ((int)i == p->chosen)
			continue;
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "name", p->cands[i].name);
		cJSON_AddStringToObject(a, "why_lost", p->cands[i].why_not ? p->cands[i].why_not
									  : "not chosen");
		cJSON_AddItemToArray(alts, a);
	}
	cJSON *risks = cJSON_AddArrayToObject(b, "risks");
	for (size_t i = 0; i < p->n_risks; i++)
		cJSON_AddItemToArray(risks, cJSON_CreateString(p->risks[i]));
	struct swarm_pool pool;
	swarm__pool_scan(s, p->name, &pool);
	cJSON *pc = cJSON_AddObjectToObject(b, "policy");
	cJSON_AddStringToObject(pc, "kind", spot != was_spot ? "capacity-type" : "instance-types");
	cJSON_AddStringToObject(pc, "nodepool", p->name);
	cJSON_AddBoolToObject(pc, "uses_spot", spot);
	cJSON_AddNumberToObject(pc, "nodes_after", (double)p->recommended.nodes);
	cJSON_AddNumberToObject(pc, "zones_after", zones_after(p));
	cJSON_AddNumberToObject(pc, "cost_before_hr", p->current.hourly_usd);
	cJSON_AddNumberToObject(pc, "cost_after_hr", p->recommended.hourly_usd);
	double before = p->current.hourly_usd, after = p->recommended.hourly_usd;
	cJSON_AddNumberToObject(pc, "savings_pct",
				before > 0 ? 100 * (before - after) / before : 0);
	cJSON_AddItemToObject(pc, "namespaces", pool.namespaces);
	struct swarm_subject subj = swarm__subject("NodePool", "", p->name);
	swarm__publish(s, SWARM_MSG_PROPOSAL, "cost", re, &subj, b, NULL,
		       "Run NodePool %s on %s instead of %s: saves $%.2f/month.", p->name, rec_txt,
		       now_txt, p->monthly_savings_usd);
}

static void on_question(const struct swarm_msg *m, void *ctx)
{
	struct swarm *s = ctx;
	if (!swarm__round_question(s, m) || !s->o.goals.cut_cost || !s->in->optimize)
		return;
	const struct opt_report *r = s->in->optimize;
	for (size_t i = 0; i < r->n_pools; i++)
		if (r->pools[i].patch && r->pools[i].chosen >= 0 &&
		    r->pools[i].monthly_savings_usd >= s->o.goals.min_savings_usd)
			propose_pool(s, &r->pools[i], m->id);
}

void agent_cost_init(struct swarm *s)
{
	swarm__subscribe(s, BUS_TYPE_BIT(SWARM_MSG_QUESTION), on_question);
}
