/* swarm_internal.h — what the swarm's files share (not for other callers).
 *
 * The agents (agent_*.c) are bus subscribers; each file's *_init subscribes its callbacks.
 * A callback acts only on the swarm's own messages while a swarm call is under way
 * (swarm__active; see swarm.c for why that is safe in whichever thread the bus delivers).
 *
 * Proposal bodies carry, besides action/risk/confidence (docs/MESSAGES.md), what the
 * orchestrator and the critics need: key and fingerprint (dedup), title, benefit,
 * savings_per_month, severity (repairs), steps (the plan's steps, docs/PLANS.md), rollback,
 * alternatives, policy (the struct policy_change fields) and the agent-specific target
 * (nodepool / workload / containers).
 *
 * Ownership: cJSON bodies passed to swarm__publish are taken over. */
#ifndef KS_SWARM_INTERNAL_H
#define KS_SWARM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/hashmap.h"
#include "swarm/bus.h"
#include "swarm/msg.h"
#include "swarm/swarm.h"

struct plan_row;

#define SWARM_MAX_SUBS 16
/* A finished plan keeps its problem from being proposed again for this long. */
#define SWARM_RECENT_S 3600
/* After a plan succeeded on a subject, other changes to it wait this long (orchestrator.c),
 * repairs of an outage excepted. */
#define SWARM_STABILIZE_S 1800
/* Samples a series needs before the forecasting agent predicts from it. */
#define SWARM_FC_MIN_SAMPLES 6

/* measure.c: how long a finished plan is watched, and how many rounds a cost must stay the
 * same (within $0.01) to count as settled. */
#define SWARM_MEASURE_WINDOW_S 3600
#define SWARM_MEASURE_SETTLE_ROUNDS 3

/* One round's monthly cost of a NodePool or a workload, by the hash of the plan key that
 * would change it ("nodepool-mix:general", "rightsize:Deployment/shop/web"). */
struct swarm_cost {
	uint64_t key;
	double usd_month;
};

/* A succeeded plan whose effect is being measured (measure.c). */
struct swarm_measuring {
	char plan_id[32];
	char key[256];          /* the plan's key: "finding:<id>" or a cost key */
	bool finding;           /* else a cost */
	bool finding_decided;   /* the first round after the end has looked */
	int64_t ended;          /* Unix s */
	double before;          /* cost before the plan (USD/month) */
	double last;            /* cost seen in the last round that had one */
	bool seen;              /* a cost was seen after the end */
	int same_rounds;        /* consecutive rounds with that cost (0: none seen yet) */
};

struct swarm {
	struct swarm_opts o;
	char cluster[SWARM_MSG_AGENT_MAX];
	pthread_mutex_t mu;    /* recursive: bus callbacks re-enter from swarm calls */
	atomic_int busy;       /* swarm calls under way (nested calls count each) */
	const struct swarm_inputs *in; /* during swarm_round */
	cJSON *secret_sources; /* parsed swarm_opts.secret_sources, or NULL */
	int subs[SWARM_MAX_SUBS];
	int nsubs;
	uint64_t last_digest;  /* of the previous round's inputs */
	int64_t round_no;
	int64_t now;           /* the current call's time (Unix s) */
	int64_t round_now, round_wall; /* the last round's time and the wall clock then */
	cJSON *round;          /* orchestrator: [{"msg","critiques","vetoes","votes"}] */
	cJSON *latest;         /* the proposal messages of the latest round */
	struct swarm_round_stats st;     /* the current round's */
	struct swarm_round_stats totals; /* since swarm_new, for swarm_metrics */
	struct ks_map diagnosed; /* diagnostics: finding id -> fingerprint already said */
	int64_t last_sample;     /* forecasting: when the series were last recorded */
	int64_t anomaly_said;    /* forecasting: start of the cost anomaly said last */
	struct ks_map suggested; /* learning: actions a policy was suggested for */
	struct swarm_cost *costs; /* measure: the last round's costs (none without a report) */
	size_t ncosts, costs_cap;
	bool costs_wanted;        /* measure: an approved plan may start after this round */
	struct swarm_measuring *measuring; /* measure: plans being measured */
	size_t nmeasuring, measuring_cap;
};

/* swarm.c */
bool swarm__active(const struct swarm *s, const struct swarm_msg *m);
/* The time outside rounds: the last round's (cluster) time plus the wall time since, so plan
 * times stay on the clock rounds use (a simulation's); the wall clock before any round. */
int64_t swarm__clock(const struct swarm *s);
void swarm__enter(struct swarm *s);
void swarm__leave(struct swarm *s);
void swarm__subscribe(struct swarm *s, uint32_t types, bus_cb cb);
/* Whether m is the question that opens a round of this swarm (what agents answer). */
bool swarm__round_question(const struct swarm *s, const struct swarm_msg *m);
/* Whether proposal m repairs something that is down or failing (severity high or critical). */
bool swarm__repairs_outage(const struct swarm_msg *m);
/* A vote from `from` on proposal m. */
void swarm__vote(struct swarm *s, const char *from, const struct swarm_msg *m, double score,
		 const char *why);
/* Publish a message from `from`; re may be NULL or a message id; subj may be NULL; body is
 * taken (NULL: {}); id_out (may be NULL) receives the new id. */
int swarm__publish(struct swarm *s, enum swarm_msg_type type, const char *from,
		   const char *re, const struct swarm_subject *subj, cJSON *body, char *id_out,
		   const char *fmt, ...) __attribute__((format(printf, 8, 9)));
struct swarm_subject swarm__subject(const char *kind, const char *ns, const char *name);
/* The subject of a plan row (its JSON `subject`; empty fields when it does not parse). */
struct swarm_subject swarm__plan_subject(const struct plan_row *r);
/* A proposal body with its common fields (action, risk, confidence, key, fingerprint). */
cJSON *swarm__proposal(const char *action, const char *risk, double confidence,
		       const char *key, const char *fingerprint);
/* 16 hex digits of a hash of the JSON of j. */
void swarm__fingerprint(const cJSON *j, char out[24]);
/* Whether key already has a plan that handles it (open, or the same fingerprint and not
 * finished long ago). */
bool swarm__handled(struct swarm *s, const char *key, const char *fingerprint);
/* The apiVersion of a kind the swarm changes ("apps/v1" for Deployment). */
const char *swarm__api_version(const char *kind);
/* The object of a subject in the world (zero wobj when absent). */
struct wobj swarm__find(struct swarm *s, const char *kind, const char *ns, const char *name);
/* A plan step's target {apiVersion,kind,namespace,name,uid} from the world. */
cJSON *swarm__target(struct swarm *s, const char *kind, const char *ns, const char *name);
/* Step preconditions {uid, resourceVersion} of the object (empty when unknown). */
cJSON *swarm__preconditions(struct swarm *s, const char *kind, const char *ns,
			    const char *name);
/* A step {"id","action","target",...,"verify","summary"} (target taken). */
cJSON *swarm__step(struct swarm *s, int n, const char *action, cJSON *target,
		   const cJSON *verify_findings, const char *summary);

/* What runs on a NodePool's nodes (the critics and the cost agent read it). */
struct swarm_pool {
	cJSON *namespaces; /* owned array of the namespaces of its pods */
	int pods;
	bool production;   /* a namespace named prod* or labelled env=production */
	bool replicated;   /* a workload with 2 or more pods on it */
	int pdbs;          /* PodDisruptionBudgets in those namespaces */
};
void swarm__pool_scan(struct swarm *s, const char *pool, struct swarm_pool *out);
/* Whether namespace ns is production: named prod* or labelled env=production (or prod). */
bool swarm__namespace_production(struct swarm *s, const char *ns);

/* Give proposal body b one step patching kind ns/name (patch taken) and its rollback. */
void swarm__patch_plan(struct swarm *s, cJSON *b, const char *kind, const char *ns,
		       const char *name, const char *patch_type, cJSON *patch,
		       const cJSON *verify_findings, const char *summary, const char *rollback);

/* Agents. */
void agent_diagnostics_init(struct swarm *s);
void agent_cost_init(struct swarm *s);
void agent_efficiency_init(struct swarm *s);
void agent_performance_init(struct swarm *s);
void agent_reliability_init(struct swarm *s);
void agent_forecasting_init(struct swarm *s);
void agent_learning_init(struct swarm *s);
/* The forecasting agent's samples of this round's inputs (every round, changed or not). */
void agent_forecasting_record(struct swarm *s);
/* The learning agent's record of a finished plan (swarm_plan_finished). */
int agent_learning_outcome(struct swarm *s, const char *plan_id, const char *result,
			   const cJSON *measured, struct ks_err *err);

/* measure.c — the measured outcome of finished plans (the plans' `measured` column). */
/* Each round, changed or not, before deliberating: measure the plans under way. */
void measure__round(struct swarm *s);
/* Each round, after deliberating: keep the round's costs while an approved plan waits
 * (s->costs_wanted: set by approvals, cleared when swarm_next_approved finds none). */
void measure__round_end(struct swarm *s);
/* swarm_next_approved: record the cost before the plan (the last round's), if it has one. */
void measure__plan_started(struct swarm *s, const struct plan_row *r);
/* swarm_plan_finished: the plan's measurement at its end (caller frees), from the row as it
 * was while executing; from then on the plan is watched when it succeeded and has a finding
 * or a cost to measure. outcome: {"why","message_id"} or NULL. */
cJSON *measure__plan_finished(struct swarm *s, const struct plan_row *r, const char *result,
			      const cJSON *outcome);
/* swarm_new: go on watching the plans a previous process was measuring. */
int measure__restore(struct swarm *s, struct ks_err *err);
void measure__release(struct swarm *s);

/* orchestrator.c */
void orchestrator_init(struct swarm *s);
int orchestrator_round(struct swarm *s, struct ks_err *err);
/* Digest of the round's inputs (the round is skipped when it equals the last one). */
uint64_t orchestrator_digest(struct swarm *s);

#endif
