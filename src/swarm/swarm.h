/* swarm.h — Layer 3: the agents and the orchestrator deliberating on the bus.
 *
 * One struct swarm holds the agents of one kswarm process: orchestrator, diagnostics, cost,
 * efficiency, performance, reliability, forecasting, learning (one file each, agent_*.c).
 * Agents never call each other: they publish and subscribe on the bus (swarm/bus.h).
 *
 * A round (swarm_round) starts from what the daemon observed (the world, Layer 2's findings,
 * the cost optimizer's report, usage history, the outside event feed):
 *   observation/diagnosis (diagnostics, forecasting) -> proposal (cost, efficiency,
 *   performance, forecasting, diagnostics' remediations) -> critique / veto / vote
 *   (performance, reliability, learning, policy) -> decision (orchestrator: alternatives,
 *   scores, vetoes and why the winner won) -> plan (steps per docs/PLANS.md) ->
 *   approval_request (with the reconciler's server-side dry-run diff, predicted cost and
 *   benefit, risk, rollback) or automatic approval as policy allows.
 * A problem already handled (same finding id / same proposal key with an open or recent plan)
 * is not proposed again until it changes or resolves.
 *
 * Plans live in the store (table plans) with a status:
 *   pending (awaiting a person) | approved (to execute) | rejected | dry-run (shown only) |
 *   denied (by policy) | executing | succeeded | failed | rolled_back | superseded
 * The daemon takes approved plans with swarm_next_approved, runs them through the
 * reconciler and reports with swarm_plan_finished; later rounds measure what a succeeded plan
 * achieved (its finding cleared, the cost after it: measure.c); the learning agent records the
 * outcome (predicted vs measured) and adjusts the confidence of later proposals of the same action;
 * it suggests a policy when people keep rejecting one kind of change.
 *
 * Questions ("why?", "what else?", "what's the risk?", "how sure?") about a decision, a plan
 * or an object are answered from the recorded decisions (swarm_ask), with no LLM.
 *
 * Threads: the swarm's calls are serialized by its mutex; bus callbacks run in the publishing
 * thread (see bus.h). Ownership: everything in swarm_opts is borrowed and must outlive the
 * swarm; cJSON trees handed out are the caller's. */
#ifndef KS_SWARM_SWARM_H
#define KS_SWARM_SWARM_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct ks_err;
struct bus;
struct store;
struct policy_ctx;
struct world;
struct diag_report;
struct opt_report;
struct prom_client;
struct fc_events;
struct swarm;

/* Dry-run diff of a plan, asked of Layer 1 (the daemon passes reconcile_dry_run). */
typedef int (*swarm_dry_run_fn)(void *ctx, const cJSON *plan, cJSON **diff, struct ks_err *err);

struct swarm_goals {
	double uptime_target;      /* "keep 99.99% uptime": 0.9999 */
	double min_savings_usd;    /* proposals saving less per month are not worth a change; 5 */
	bool cut_cost;             /* the cost and efficiency agents propose at all */
};

struct swarm_opts {
	struct bus *bus;           /* required */
	struct store *store;       /* required: plans, outcomes, learning */
	struct policy_ctx *policy; /* required */
	const char *cluster;       /* "local" */
	struct swarm_goals goals;
	const char *secret_sources; /* JSON array text: [{"secret":"payments/db-secret",
	                             * "key":"password","vault":{"mount":"secret",
	                             * "path":"payments/db","field":"password"}}], or NULL */
	swarm_dry_run_fn dry_run;  /* NULL: approval requests carry no diff */
	void *dry_run_ctx;
};

int swarm_new(const struct swarm_opts *o, struct swarm **out, struct ks_err *err);
void swarm_free(struct swarm *s);

/* What one round sees. Everything is borrowed for the call. */
struct swarm_inputs {
	struct world *world;              /* required */
	const struct diag_report *findings; /* required (may be empty) */
	const struct opt_report *optimize;  /* NULL: no cost proposals this round */
	struct prom_client *prom;           /* NULL: no metrics (SLO guard uses the world only) */
	const struct fc_events *events;     /* outside forecast feed, or NULL */
	int64_t now;                        /* Unix seconds (cluster time for simulations) */
};

struct swarm_round_stats {
	int proposals, vetoes, decisions, plans, approved_auto, pending_human, denied, dry_run;
};

/* One deliberation round; publishes everything on the bus. */
int swarm_round(struct swarm *s, const struct swarm_inputs *in, struct swarm_round_stats *st,
		struct ks_err *err);

/* The oldest approved plan not yet executing: *plan is its JSON (caller frees), NULL when
 * none. Marks it executing. */
int swarm_next_approved(struct swarm *s, cJSON **plan, struct ks_err *err);
/* The reconciler's outcome for a plan ("succeeded"|"failed"|"rolled_back"). outcome (may be
 * NULL) is what the caller knows of it: {"why": the reconciler's reason, "message_id": the id
 * of its outcome message}. Records the plan's measured outcome (the plans' `measured`:
 * result, why, seconds_to_outcome, execution_seconds; a succeeded plan's finding or cost is
 * then watched in later rounds, docs/SWARM.md) and the learning agent's outcome record.
 * Publishes nothing now (the reconciler's outcome message is on the bus already); "learning"
 * publishes an observation when the measurement completes. */
int swarm_plan_finished(struct swarm *s, const char *plan_id, const char *result,
			const cJSON *outcome, struct ks_err *err);

/* A person's verdict. approve: status pending -> approved (publishes approval); reject:
 * -> rejected (publishes rejection with the reason). KS_ENOTFOUND for an unknown plan,
 * KS_ECONFLICT when the plan is not pending. */
int swarm_approve(struct swarm *s, const char *plan_id, const char *who, const char *comment,
		  struct ks_err *err);
int swarm_reject(struct swarm *s, const char *plan_id, const char *who, const char *reason,
		 struct ks_err *err);

/* Plans, newest first ([{"plan_id","status","risk","title","created","updated",
 * "savings_per_month","subject","measured"}]; measured is an object or null); status NULL for
 * all. */
int swarm_plans_list(struct swarm *s, const char *status, int limit, cJSON **out,
		     struct ks_err *err);
/* One plan: {"plan_id","status","plan":{…},"decision":{…},"approval_request":{…},
 * "diff":{…},"measured":{…} or null,"history":[messages about it]}. KS_ENOTFOUND when
 * unknown. */
int swarm_plan_get(struct swarm *s, const char *plan_id, cJSON **out, struct ks_err *err);
/* Open proposals of the latest round ([{proposal message JSON}]). */
int swarm_proposals(struct swarm *s, cJSON **out, struct ks_err *err);

/* Answer a free-form question from the recorded decisions: *answer is a plain text (caller
 * frees) and *refs the message ids it rests on (caller frees). The daemon may hand both to
 * an LLM to reword. */
int swarm_ask(struct swarm *s, const char *question, char **answer, cJSON **refs,
	      struct ks_err *err);

/* Counters for /metrics: proposals, decisions, plans by status, savings realised. */
int swarm_metrics(struct swarm *s, cJSON **out, struct ks_err *err);

#endif
