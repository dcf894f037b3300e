/* agent_efficiency.c — proposes right-sizing (the optimizer's per-workload recommendations).
 * State machine: on each round's question (goals.cut_cost and an opt_report with usage
 * history), for each workload saving at least goals.min_savings_usd a month: PROPOSE
 * (action "rightsize": a strategic patch of the containers' requests to the targets, with
 * the targets and the current requests for the performance agent to check against the
 * observed peaks) -> WAIT while its key has an open or recent plan (swarm__handled).
 * Ownership: none kept. */
#include "base/common.h"
#include "base/json.h"
#include "cost/optimize.h"
#include "swarm/swarm_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void propose_workload(struct swarm *s, const struct opt_workload *w, const char *re)
{
	cJSON *containers = cJSON_CreateArray(), *patch_list = cJSON_CreateArray();
	for (size_t i = 0; i < w->n_containers; i++) {
		const struct opt_container_rec *c = &w->containers[i];
		if (!(c->cpu_target > 0) && !(c->mem_target > 0))
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->container);
		cJSON_AddNumberToObject(o, "cpu_request", c->cpu_request);
		cJSON_AddNumberToObject(o, "cpu_target", c->cpu_target);
		cJSON_AddNumberToObject(o, "mem_request", c->mem_request);
		cJSON_AddNumberToObject(o, "mem_target", c->mem_target);
		cJSON_AddItemToArray(containers, o);
		cJSON *pc = cJSON_CreateObject();
		cJSON_AddStringToObject(pc, "name", c->container);
		cJSON *req = cJSON_AddObjectToObject(cJSON_AddObjectToObject(pc, "resources"),
						     "requests");
		char q[32];
		if (c->cpu_target > 0) {
			snprintf(q, sizeof q, "%lldm", (long long)ceil(c->cpu_target * 1000));
			cJSON_AddStringToObject(req, "cpu", q);
		}
		if (c->mem_target > 0) {
			snprintf(q, sizeof q, "%lldMi", (long long)ceil(c->mem_target / 1048576));
			cJSON_AddStringToObject(req, "memory", q);
		}
		cJSON_AddItemToArray(patch_list, pc);
	}
	if (ks_json_len(containers) == 0) {
		cJSON_Delete(containers);
		cJSON_Delete(patch_list);
		return;
	}
	cJSON *patch = cJSON_CreateObject();
	cJSON *tmpl = cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"), "template");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(tmpl, "spec"), "containers", patch_list);
	char key[400], fp[24];
	snprintf(key, sizeof key, "rightsize:%s/%s/%s", w->kind, w->ns, w->name);
	swarm__fingerprint(patch, fp);
	if (swarm__handled(s, key, fp)) {
		cJSON_Delete(patch);
		cJSON_Delete(containers);
		return;
	}
	cJSON *b = swarm__proposal("rightsize", "medium", 0.7, key, fp);
	char title[600];
	snprintf(title, sizeof title, "Right-size %s %s/%s to its observed usage", w->kind, w->ns,
		 w->name);
	cJSON_AddStringToObject(b, "title", title);
	cJSON_AddNumberToObject(b, "savings_per_month", w->monthly_savings_usd);
	cJSON_AddStringToObject(b, "benefit", "requests match the observed usage");
	cJSON_AddItemToObject(b, "containers", containers);
	swarm__patch_plan(s, b, w->kind, w->ns, w->name, "strategic", patch, NULL, title,
			  "the previous requests are restored (a rollout)");
	cJSON *pc = cJSON_AddObjectToObject(b, "policy");
	cJSON_AddStringToObject(pc, "kind", "requests");
	if (w->nodepool)
		cJSON_AddStringToObject(pc, "nodepool", w->nodepool);
	struct swarm_subject subj = swarm__subject(w->kind, w->ns, w->name);
	swarm__publish(s, SWARM_MSG_PROPOSAL, "efficiency", re, &subj, b, NULL,
		       "%s: saves $%.2f/month.", title, w->monthly_savings_usd);
}

static void on_question(const struct swarm_msg *m, void *ctx)
{
	struct swarm *s = ctx;
	if (!swarm__round_question(s, m) || !s->o.goals.cut_cost || !s->in->optimize)
		return;
	const struct opt_report *r = s->in->optimize;
	for (size_t i = 0; i < r->n_workloads; i++)
		if (r->workloads[i].monthly_savings_usd >= s->o.goals.min_savings_usd)
			propose_workload(s, &r->workloads[i], m->id);
}

void agent_efficiency_init(struct swarm *s)
{
	swarm__subscribe(s, BUS_TYPE_BIT(SWARM_MSG_QUESTION), on_question);
}
