/* plans.h — the swarm's tables in the store: plans (one row per plan with its status and the
 * JSON of the plan), learning records (outcomes and rejections per action) and the NodePool
 * usage the forecasting agent records each round. The schema is one migration
 * (PLANS_MIGRATION_SQL, listed in store.c's migrations array).
 *
 * Status moves (swarm.h): pending -> approved | rejected; approved -> executing ->
 * succeeded | failed | rolled_back; dry-run and denied are final. plans_set_status checks the
 * status it moves from, so two callers cannot both move one plan.
 *
 * Ownership: a struct plan_row filled by plans_get & co owns its strings (plan_row_release);
 * rows passed to plans_insert are borrowed. Errors name the table and the SQLite error. */
#ifndef KS_STORE_PLANS_H
#define KS_STORE_PLANS_H

#include <stdint.h>

#include <cjson/cJSON.h>

struct ks_err;
struct store;

#define PLANS_MIGRATION_SQL                                                                   \
	"CREATE TABLE plans ("                                                                \
	" num INTEGER PRIMARY KEY,"                                                           \
	" plan_id TEXT NOT NULL UNIQUE,"                                                      \
	" status TEXT NOT NULL,"                                                              \
	" risk TEXT NOT NULL,"                                                                \
	" action TEXT NOT NULL,"                                                              \
	" key TEXT NOT NULL,"                                                                 \
	" fingerprint TEXT NOT NULL,"                                                         \
	" title TEXT NOT NULL,"                                                               \
	" subject TEXT NOT NULL,"                                                             \
	" created INTEGER NOT NULL,"                                                          \
	" updated INTEGER NOT NULL,"                                                          \
	" savings REAL NOT NULL,"                                                             \
	" proposal_id TEXT NOT NULL,"                                                         \
	" decision_id TEXT NOT NULL,"                                                         \
	" plan_msg_id TEXT NOT NULL DEFAULT '',"                                              \
	" request_msg_id TEXT NOT NULL DEFAULT '',"                                           \
	" plan TEXT NOT NULL,"                                                                \
	" diff TEXT,"                                                                         \
	" result TEXT,"                                                                       \
	" measured TEXT);"                                                                    \
	"CREATE INDEX plans_status ON plans(status);"                                         \
	"CREATE INDEX plans_key ON plans(key);"                                               \
	"CREATE TABLE learning ("                                                             \
	" num INTEGER PRIMARY KEY,"                                                           \
	" at INTEGER NOT NULL,"                                                               \
	" plan_id TEXT NOT NULL,"                                                             \
	" action TEXT NOT NULL,"                                                              \
	" event TEXT NOT NULL,"                                                               \
	" result TEXT NOT NULL,"                                                              \
	" reason TEXT NOT NULL,"                                                              \
	" predicted REAL NOT NULL,"                                                           \
	" measured REAL);"                                                                    \
	"CREATE INDEX learning_action ON learning(action);"                                   \
	"CREATE TABLE series ("                                                               \
	" name TEXT NOT NULL,"                                                                \
	" at INTEGER NOT NULL,"                                                               \
	" value REAL NOT NULL,"                                                               \
	" cap REAL NOT NULL,"                                                                 \
	" PRIMARY KEY (name, at));"

struct plan_row {
	char plan_id[32];
	char status[16];
	char risk[8];
	char action[64];
	char key[256];         /* what the plan handles: "finding:<id>", "nodepool-mix:general" */
	char fingerprint[24];  /* hash of the change: a changed problem gets a new plan */
	char proposal_id[24], decision_id[24], plan_msg_id[24], request_msg_id[24];
	int64_t created, updated; /* Unix seconds */
	double savings;        /* predicted USD per month */
	char *title;           /* owned */
	char *subject;         /* owned JSON {"kind","namespace","name"} */
	char *plan;            /* owned JSON of the plan */
	char *diff;            /* owned JSON of the dry-run diff, or NULL */
	char *result;          /* owned, the reconciler's result, or NULL */
	char *measured;        /* owned JSON of the measured outcome (swarm/measure.c), or NULL */
};
void plan_row_release(struct plan_row *r);

/* The next plan id ("p1", "p2" ...). */
int plans_next_id(struct store *s, char out[32], struct ks_err *err);
/* Insert r (plan_id, status, plan... set by the caller). */
int plans_insert(struct store *s, const struct plan_row *r, struct ks_err *err);
/* KS_ENOTFOUND when there is no such plan. */
int plans_get(struct store *s, const char *plan_id, struct plan_row *out, struct ks_err *err);
/* Move plan_id from status `from` (NULL: any) to `to`; KS_ENOTFOUND when unknown,
 * KS_ECONFLICT when its status is not `from`. */
int plans_set_status(struct store *s, const char *plan_id, const char *from, const char *to,
		     int64_t now, struct ks_err *err);
/* Set one of the text columns "plan_msg_id", "request_msg_id", "diff", "result",
 * "measured" (anything else is KS_EINVAL). */
int plans_set_text(struct store *s, const char *plan_id, const char *column, const char *value,
		   struct ks_err *err);
/* Rows newest first (status NULL: all; limit <= 0: no limit); cb returns nonzero to stop. */
typedef int (*plans_cb)(const struct plan_row *r, void *ctx);
int plans_list(struct store *s, const char *status, int limit, plans_cb cb, void *ctx,
	       struct ks_err *err);
/* The oldest plan with this status; KS_ENOTFOUND when none. */
int plans_oldest(struct store *s, const char *status, struct plan_row *out, struct ks_err *err);
/* The newest plan handling key; KS_ENOTFOUND when none. */
int plans_latest_for_key(struct store *s, const char *key, struct plan_row *out,
			 struct ks_err *err);
/* The newest plan about subject (kind, namespace "" when cluster-scoped, name) that
 * succeeded at or after since (Unix s; its `updated`); KS_ENOTFOUND when none. */
int plans_succeeded_on(struct store *s, const char *kind, const char *ns, const char *name,
		       int64_t since, struct plan_row *out, struct ks_err *err);
/* How many plans succeeded before until (their `updated`). */
int plans_count_succeeded_before(struct store *s, int64_t until, int64_t *n,
				 struct ks_err *err);

/* The monthly savings of the plans that succeeded (USD). */
struct plans_savings {
	double predicted; /* their predicted savings */
	double realised;  /* each one's measured saving once measured, else its prediction */
	int measured;     /* how many have a measured saving */
};
/* {"pending":2,...} and the savings of the plans that succeeded. */
int plans_counts(struct store *s, cJSON **by_status, struct plans_savings *savings,
		 struct ks_err *err);

/* ---- learning ---- */
struct learn_record {
	int64_t at;
	const char *plan_id, *action;
	const char *event;   /* "outcome" | "rejection" */
	const char *result;  /* outcome: succeeded|failed|rolled_back; rejection: "rejected" */
	const char *reason;  /* rejection reason, or the outcome's why ("" when none) */
	double predicted;    /* predicted saving (USD/month) */
	double measured;     /* measured saving; NAN when not measured */
};
int learn_insert(struct store *s, const struct learn_record *r, struct ks_err *err);
/* Set the measured saving (USD/month; NAN clears it) of plan_id's outcome record, once the
 * swarm has measured it after the plan (swarm/measure.c). KS_ENOTFOUND when the plan has no
 * outcome record. */
int learn_set_measured(struct store *s, const char *plan_id, double measured,
		       struct ks_err *err);
struct learn_stats {
	int succeeded, failed, rolled_back, rejections;
	int measured_n;
	double predicted_sum, measured_sum; /* over the outcomes with a measurement */
};
int learn_stats_get(struct store *s, const char *action, struct learn_stats *out,
		    struct ks_err *err);
/* Rejection reasons of one action with their counts, most frequent first:
 * [{"reason":…,"count":n}]. */
int learn_rejection_reasons(struct store *s, const char *action, cJSON **out,
			    struct ks_err *err);

/* ---- series the swarm records itself each round ----
 * name "nodepool-cpu:general" (value: CPU cores provisioned, cap: the NodePool's limit) or
 * "cost:cluster" (value: USD per hour, cap 0). One sample per (name, at); a later one
 * replaces it. */
int series_record(struct store *s, const char *name, int64_t at, double value, double cap,
		  struct ks_err *err);
/* The samples of name since `since`, oldest first: *t (Unix s), *value, *cap (malloc'd, the
 * caller frees each); *n their count. */
int series_read(struct store *s, const char *name, int64_t since, int64_t **t, double **value,
		double **cap, size_t *n, struct ks_err *err);

#endif
