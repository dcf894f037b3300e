/* agent_reliability.c — guards the uptime goal (goals.uptime_target).
 * Reads every proposal (stateless):
 *   nodepool-mix -> VETO "no-spot-for-production" when the mix puts a production namespace
 *                   (named prod* or labelled env=production) on spot;
 *                   VETO naming the policy when the mix leaves one availability zone
 *                   (one node, or a single-zone requirement) and a require-multi-az
 *                   policy matches the pool (policy_evaluate answers which);
 *                   VETO "min-2-nodes" when fewer than 2 nodes would hold a pool with a
 *                   replicated workload or PodDisruptionBudgets (one node: no spreading, a
 *                   drain is an outage);
 *                   CRITIQUE (medium) "spot interruptions" for other spot mixes;
 *                   else a vote of 0.
 *   repair / secret-from-source -> VETO "min-2-replicas-in-production" when a step scales a
 *                   production workload (or its HPA's minReplicas) from 2 or more down to 1
 *                   (a drain or a crash of that one pod is an outage); CRITIQUE (medium)
 *                   for the same outside production;
 *                   CRITIQUE (low) when the workload has one replica (the
 *                   rollout restarts it), and a vote of 0.5 when it repairs an outage
 *                   (severity high or critical: it restores availability), else 0.
 *   other        -> a vote of 0.
 * Ownership: none kept. */
#include "base/common.h"
#include "base/json.h"
#include "swarm/policy.h"
#include "swarm/swarm_internal.h"
#include "world/world.h"

#include <stdio.h>
#include <string.h>

static void say(struct swarm *s, const struct swarm_msg *m, enum swarm_msg_type type,
		const char *rule_or_severity, const char *why)
{
	cJSON *b = cJSON_CreateObject();
	if (type == SWARM_MSG_VETO) {
		cJSON_AddStringToObject(b, "reason", why);
		cJSON_AddStringToObject(b, "rule", rule_or_severity);
		swarm__publish(s, type, "reliability", m->id, &m->subject, b, NULL,
			       "Reliability vetoes %s (%s): %s.", m->id, rule_or_severity, why);
	} else {
		cJSON_AddStringToObject(b, "concern", why);
		cJSON_AddStringToObject(b, "severity", rule_or_severity);
		swarm__publish(s, type, "reliability", m->id, &m->subject, b, NULL,
			       "Reliability on %s: %s.", m->id, why);
	}
}

/* The policy requiring several zones that a single-zone NodePool breaks, or false. */
static bool multi_az_required(struct swarm *s, const char *pool, char *rule, size_t rn,
			      char *why, size_t wn)
{
	struct policy_change c = {.cluster = s->cluster, .nodepool = pool,
				  .kind = POLICY_KIND_INSTANCE_TYPES, .nodes_after = -1,
				  .zones_after = 1, .cost_before_hr = -1, .cost_after_hr = -1};
	struct policy_result res;
	policy_evaluate(s->o.policy, &c, s->now, &res);
	bool found = false;
	for (size_t i = 0; i < res.nverdicts && !found; i++) {
		const struct policy_verdict *v = &res.verdicts[i];
		if (v->outcome == POLICY_DENY && !strcmp(v->rule, "require-multi-az")) {
			snprintf(rule, rn, "%s", v->policy);
			snprintf(why, wn, "%s", v->why);
			found = true;
		}
	}
	policy_result_release(&res);
	return found;
}

static void judge_mix(struct swarm *s, const struct swarm_msg *m)
{
	struct swarm_pool pool;
	swarm__pool_scan(s, ks_json_str_or(m->body, "nodepool", m->subject.name), &pool);
	bool spot = cJSON_IsTrue(cJSON_GetObjectItem(m->body, "spot"));
	double nodes = cJSON_GetNumberValue(cJSON_GetObjectItem(m->body, "nodes_after"));
	double zones = cJSON_GetNumberValue(cJSON_GetObjectItem(m->body, "zones_after"));
	char why[512], rule[64];
	if (spot && pool.production) {
		snprintf(why, sizeof why, "production workloads of NodePool %s would run on spot",
			 m->subject.name);
		say(s, m, SWARM_MSG_VETO, "no-spot-for-production", why);
	} else if (zones == 1 && multi_az_required(s, m->subject.name, rule, sizeof rule, why,
						   sizeof why)) {
		say(s, m, SWARM_MSG_VETO, rule, why);
	} else if (nodes < 2 && (pool.replicated || pool.pdbs > 0)) {
		snprintf(why, sizeof why, "%.0f node%s would hold replicated workloads%s: a drain "
			 "or a node failure takes them all down", nodes, nodes == 1 ? "" : "s",
			 pool.pdbs ? " and PodDisruptionBudgets" : "");
		say(s, m, SWARM_MSG_VETO, "min-2-nodes", why);
	} else if (spot) {
		say(s, m, SWARM_MSG_CRITIQUE, "medium",
		    "spot capacity can be interrupted with 2 minutes' notice");
	} else {
		swarm__vote(s, "reliability", m, 0, "the pool keeps its spread");
	}
	cJSON_Delete(pool.namespaces);
}

/* A step that scales a workload (spec.replicas) or an HPA (spec.minReplicas) from 2 or more
 * down to below 2: its namespace, else NULL. */
static const char *scales_to_one(struct swarm *s, const cJSON *step, char *what, size_t n)
{
	const char *kind = ks_json_str_or(step, "target.kind", "");
	const char *field = !strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet")
				    ? "spec.replicas"
			    : !strcmp(kind, "HorizontalPodAutoscaler") ? "spec.minReplicas"
								       : NULL;
	const cJSON *after = field ? ks_json_get(ks_json_child(step, "patch"), field) : NULL;
	if (!cJSON_IsNumber(after) || after->valuedouble >= 2)
		return NULL;
	const char *ns = ks_json_str_or(step, "target.namespace", "");
	const char *name = ks_json_str_or(step, "target.name", "");
	struct wobj o = swarm__find(s, kind, ns, name);
	const cJSON *obj = wobj_ok(o) ? world_json(s->in->world, o) : NULL;
	int64_t before = ks_json_int_or(obj, field, 1);
	if (before < 2)
		return NULL;
	snprintf(what, n, "%s %s/%s from %lld to %.0f %s", kind, ns, name, (long long)before,
		 after->valuedouble, strcmp(field, "spec.replicas") ? "minimum replicas"
								     : "replicas");
	return ns;
}

static void judge_repair(struct swarm *s, const struct swarm_msg *m)
{
	const cJSON *step;
	cJSON_ArrayForEach(step, ks_json_get(m->body, "steps"))
	{
		char what[600], why[800];
		const char *ns = scales_to_one(s, step, what, sizeof what);
		if (!ns)
			continue;
		bool prod = swarm__namespace_production(s, ns);
		snprintf(why, sizeof why,
			 "scaling %s leaves one pod%s: a drain or a crash of it is an outage, "
			 "against the uptime goal of %.4g%%",
			 what, prod ? " in production" : "", s->o.goals.uptime_target * 100);
		if (prod) {
			say(s, m, SWARM_MSG_VETO, "min-2-replicas-in-production", why);
			return;
		}
		say(s, m, SWARM_MSG_CRITIQUE, "medium", why);
	}
	const cJSON *steps = ks_json_get(m->body, "steps");
	const cJSON *last = cJSON_GetArrayItem(steps, ks_json_len(steps) - 1);
	const char *kind = ks_json_str_or(last, "target.kind", "");
	struct wobj o = swarm__find(s, kind, ks_json_str_or(last, "target.namespace", ""),
				    ks_json_str_or(last, "target.name", ""));
	const cJSON *obj = wobj_ok(o) ? world_json(s->in->world, o) : NULL;
	bool scaled = !strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet");
	if (obj && scaled && ks_json_int_or(obj, "spec.replicas", 1) == 1)
		say(s, m, SWARM_MSG_CRITIQUE, "low",
		    "one replica: the rollout restarts it with a short outage");
	if (swarm__repairs_outage(m))
		swarm__vote(s, "reliability", m, 0.5,
			    "restores availability toward the uptime target");
	else
		swarm__vote(s, "reliability", m, 0, "no effect on availability expected");
}

static void on_proposal(const struct swarm_msg *m, void *ctx)
{
	struct swarm *s = ctx;
	if (!swarm__active(s, m) || !s->in)
		return;
	const char *action = ks_json_str_or(m->body, "action", "");
	if (!strcmp(action, "nodepool-mix"))
		judge_mix(s, m);
	else if (!strcmp(action, "repair") || !strcmp(action, "secret-from-source"))
		judge_repair(s, m);
	else
		swarm__vote(s, "reliability", m, 0, "no effect on availability expected");
}

void agent_reliability_init(struct swarm *s)
{
	swarm__subscribe(s, BUS_TYPE_BIT(SWARM_MSG_PROPOSAL), on_proposal);
}
