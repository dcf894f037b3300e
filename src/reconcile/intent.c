/* intent.c — the reconciler's write-ahead intent log and audit trail, in the store.
 *
 * Tables (store migration v3, RECONCILE_STORE_SCHEMA):
 *   recon_plans  one row per plan: the plan JSON, who approved it, its state
 *                (running -> rolling_back -> succeeded | failed | rolled_back);
 *   recon_steps  one row per step: its state (intent -> applied | already_applied ->
 *                verified | failed -> rolled_back | rollback_failed), the object before,
 *                the change, the inverse, the resourceVersion/generation after;
 *   recon_audit  append-only: who approved, what changed (before/after, fingerprints for
 *                secrets), when, the result and why.
 * The column recon_steps.secret_before is the one place a previous secret value is kept
 * (base64 as in the Secret), so that a rollback can restore it; it is cleared when the
 * plan ends (succeeded or rolled back) and never copied to the audit or an event.
 * Every write is one statement, committed on return (the store runs synchronous=NORMAL in
 * WAL mode: a committed row survives kill -9), under the store's mutex. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "reconcile/internal.h"
#include "store/store.h"
#include "store/store_db.h"

#include <sqlite3.h>
#include <string.h>

const char RECONCILE_STORE_SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS recon_plans ("
	" plan_id TEXT PRIMARY KEY,"
	" plan TEXT NOT NULL,"
	" approved_by TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" why TEXT NOT NULL DEFAULT '',"
	" started_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS recon_steps ("
	" plan_id TEXT NOT NULL,"
	" step_id TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" via TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" before TEXT,"
	" change TEXT,"
	" inverse TEXT,"
	" secret_before TEXT,"
	" after_rv TEXT,"
	" after_generation INTEGER NOT NULL DEFAULT 0,"
	" why TEXT NOT NULL DEFAULT '',"
	" updated_ms INTEGER NOT NULL,"
	" PRIMARY KEY (plan_id, step_id));"
	"CREATE TABLE IF NOT EXISTS recon_audit ("
	" id INTEGER PRIMARY KEY,"
	" plan_id TEXT NOT NULL,"
	" step_id TEXT,"
	" at_ms INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" approved_by TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" via TEXT NOT NULL,"
	" target TEXT,"
	" before TEXT,"
	" after TEXT,"
	" result TEXT NOT NULL,"
	" why TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS recon_audit_plan ON recon_audit(plan_id);";

/* The connection's last error, as the store words its own (called with the store locked). */
static int db_error(struct store *s, sqlite3 *db, struct ks_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(db);
	int kc = (code & 0xff) == SQLITE_BUSY	      ? KS_ETIMEOUT
		 : (code & 0xff) == SQLITE_CONSTRAINT ? KS_ECONFLICT
						      : KS_EIO;
	return ks_err_set(err, kc, "store %s: %s: %s", store__path(s), what, sqlite3_errmsg(db));
}

/* Bind helpers: NULL JSON or string binds SQL NULL. */
static void bind_json(sqlite3_stmt *st, int i, const cJSON *j)
{
	if (!j) {
		sqlite3_bind_null(st, i);
		return;
	}
	char *s = cJSON_PrintUnformatted(j);
	sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	cJSON_free(s);
}

static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Prepare sql under the store's lock; the caller binds, then calls finish. */
static sqlite3_stmt *prepare(struct reconciler *r, const char *sql, struct ks_err *err,
			     int *rc)
{
	sqlite3 *db = store__lock(r->o.store);
	sqlite3_stmt *st = NULL;
	*rc = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		*rc = db_error(r->o.store, db, err, "preparing an intent-log statement");
		store__unlock(r->o.store);
		return NULL;
	}
	return st;
}

static int finish(struct reconciler *r, sqlite3_stmt *st, const char *what, struct ks_err *err)
{
	int s = sqlite3_step(st);
	int rc = s == SQLITE_DONE ? 0 : db_error(r->o.store, sqlite3_db_handle(st), err, what);
	sqlite3_finalize(st);
	store__unlock(r->o.store);
	return rc;
}

int rc_log_plan_begin(struct reconciler *r, const char *plan_id, const cJSON *plan,
		      const char *approved_by, struct ks_err *err)
{
	int rc;
	sqlite3_stmt *st = prepare(r,
		"INSERT INTO recon_plans (plan_id, plan, approved_by, state, why, started_ms,"
		" updated_ms) VALUES (?1, ?2, ?3, 'running', '', ?4, ?4)"
		" ON CONFLICT(plan_id) DO UPDATE SET plan = ?2, approved_by = ?3,"
		" state = 'running', why = '', started_ms = ?4, updated_ms = ?4", err, &rc);
	if (!st)
		return rc;
	bind_str(st, 1, plan_id);
	bind_json(st, 2, plan);
	bind_str(st, 3, approved_by);
	sqlite3_bind_int64(st, 4, ks_time_now_ms());
	return finish(r, st, "recording a plan", err);
}

int rc_log_plan_state(struct reconciler *r, const char *plan_id, const char *state,
		      const char *why, struct ks_err *err)
{
	int rc;
	bool ended = strcmp(state, "running") != 0 && strcmp(state, "rolling_back") != 0;
	sqlite3_stmt *st = prepare(r,
		"UPDATE recon_plans SET state = ?2, why = ?3, updated_ms = ?4 WHERE plan_id = ?1",
		err, &rc);
	if (!st)
		return rc;
	bind_str(st, 1, plan_id);
	bind_str(st, 2, state);
	bind_str(st, 3, why ? why : "");
	sqlite3_bind_int64(st, 4, ks_time_now_ms());
	if ((rc = finish(r, st, "recording a plan's state", err)) || !ended)
		return rc;
	/* The plan ended: a previous secret value is not needed any more. */
	st = prepare(r, "UPDATE recon_steps SET secret_before = NULL WHERE plan_id = ?1", err,
		     &rc);
	if (!st)
		return rc;
	bind_str(st, 1, plan_id);
	return finish(r, st, "clearing kept secret values", err);
}

int rc_log_step(struct reconciler *r, const struct rc_intent *in, struct ks_err *err)
{
	int rc;
	sqlite3_stmt *st = prepare(r,
		"INSERT OR REPLACE INTO recon_steps (plan_id, step_id, state, via, action, target,"
		" before, change, inverse, secret_before, after_rv, after_generation, why,"
		" updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
		err, &rc);
	if (!st)
		return rc;
	bind_str(st, 1, in->plan_id);
	bind_str(st, 2, in->step_id);
	bind_str(st, 3, in->state);
	bind_str(st, 4, in->via ? in->via : "live");
	bind_str(st, 5, in->action ? in->action : "");
	bind_json(st, 6, in->target);
	bind_json(st, 7, in->before);
	bind_json(st, 8, in->change);
	bind_json(st, 9, in->inverse);
	bind_json(st, 10, in->secret_before);
	bind_str(st, 11, in->after_rv);
	sqlite3_bind_int64(st, 12, in->after_generation);
	bind_str(st, 13, in->why ? in->why : "");
	sqlite3_bind_int64(st, 14, ks_time_now_ms());
	return finish(r, st, "recording a step's intent", err);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? ks_strdup((const char *)t) : NULL;
}

static cJSON *col_json(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? cJSON_Parse((const char *)t) : NULL;
}

void rc_intent_release(struct rc_intent *in)
{
	free(in->plan_id);
	free(in->step_id);
	free(in->state);
	free(in->via);
	free(in->action);
	free(in->after_rv);
	free(in->why);
	cJSON_Delete(in->target);
	cJSON_Delete(in->before);
	cJSON_Delete(in->change);
	cJSON_Delete(in->inverse);
	cJSON_Delete(in->secret_before);
	*in = (struct rc_intent){0};
}

int rc_log_step_get(struct reconciler *r, const char *plan_id, const char *step_id,
		    struct rc_intent *out, struct ks_err *err)
{
	*out = (struct rc_intent){0};
	int rc;
	sqlite3_stmt *st = prepare(r,
		"SELECT plan_id, step_id, state, via, action, target, before, change, inverse,"
		" secret_before, after_rv, after_generation, why FROM recon_steps"
		" WHERE plan_id = ?1 AND step_id = ?2", err, &rc);
	if (!st)
		return rc;
	bind_str(st, 1, plan_id);
	bind_str(st, 2, step_id);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		out->plan_id = col_dup(st, 0);
		out->step_id = col_dup(st, 1);
		out->state = col_dup(st, 2);
		out->via = col_dup(st, 3);
		out->action = col_dup(st, 4);
		out->target = col_json(st, 5);
		out->before = col_json(st, 6);
		out->change = col_json(st, 7);
		out->inverse = col_json(st, 8);
		out->secret_before = col_json(st, 9);
		out->after_rv = col_dup(st, 10);
		out->after_generation = sqlite3_column_int64(st, 11);
		out->why = col_dup(st, 12);
		rc = 0;
	} else if (s == SQLITE_DONE) {
		rc = ks_err_set(err, KS_ENOTFOUND, "intent log: no step %s of plan %s", step_id,
				plan_id);
	} else {
		rc = db_error(r->o.store, sqlite3_db_handle(st), err, "reading a step's intent");
	}
	sqlite3_finalize(st);
	store__unlock(r->o.store);
	return rc;
}

int rc_log_unfinished(struct reconciler *r, cJSON **plans, struct ks_err *err)
{
	*plans = NULL;
	int rc;
	sqlite3_stmt *st = prepare(r,
		"SELECT plan_id, plan, approved_by, state FROM recon_plans"
		" WHERE state IN ('running', 'rolling_back') ORDER BY started_ms", err, &rc);
	if (!st)
		return rc;
	cJSON *arr = cJSON_CreateArray();
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject();
		cJSON_AddStringToObject(row, "plan_id", (const char *)sqlite3_column_text(st, 0));
		cJSON *plan = col_json(st, 1);
		cJSON_AddItemToObject(row, "plan", plan ? plan : cJSON_CreateNull());
		cJSON_AddStringToObject(row, "approved_by",
					(const char *)sqlite3_column_text(st, 2));
		cJSON_AddStringToObject(row, "state", (const char *)sqlite3_column_text(st, 3));
		cJSON_AddItemToArray(arr, row);
	}
	rc = s == SQLITE_DONE ? 0 : db_error(r->o.store, sqlite3_db_handle(st), err,
							  "reading unfinished plans");
	sqlite3_finalize(st);
	store__unlock(r->o.store);
	if (rc)
		cJSON_Delete(arr);
	else
		*plans = arr;
	return rc;
}

int rc_audit_add(struct reconciler *r, const char *plan_id, const char *step_id,
		 const char *approved_by, const char *action, const char *via,
		 const cJSON *target, const cJSON *before, const cJSON *after,
		 const char *result, const char *why, struct ks_err *err)
{
	int rc;
	sqlite3_stmt *st = prepare(r,
		"INSERT INTO recon_audit (plan_id, step_id, at_ms, actor, approved_by, action, via,"
		" target, before, after, result, why) VALUES"
		" (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", err, &rc);
	if (!st)
		return rc;
	bind_str(st, 1, plan_id);
	bind_str(st, 2, step_id);
	sqlite3_bind_int64(st, 3, ks_time_now_ms());
	bind_str(st, 4, r->field_manager);
	bind_str(st, 5, approved_by ? approved_by : "");
	bind_str(st, 6, action ? action : "");
	bind_str(st, 7, via ? via : "live");
	bind_json(st, 8, target);
	bind_json(st, 9, before);
	bind_json(st, 10, after);
	bind_str(st, 11, result);
	bind_str(st, 12, why ? why : "");
	return finish(r, st, "appending to the audit", err);
}

int reconcile_audit(struct reconciler *r, const char *plan_id, int limit, cJSON **out,
		    struct ks_err *err)
{
	*out = NULL;
	int rc;
	sqlite3_stmt *st = prepare(r,
		"SELECT plan_id, step_id, at_ms, actor, approved_by, action, via, target, before,"
		" after, result, why FROM recon_audit WHERE (?1 IS NULL OR plan_id = ?1)"
		" ORDER BY id DESC LIMIT ?2", err, &rc);
	if (!st)
		return rc;
	bind_str(st, 1, plan_id);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : 100);
	cJSON *arr = cJSON_CreateArray();
	static const char *const names[] = {"plan_id", "step_id", "at", "actor", "approved_by",
					    "action", "via", "target", "before", "after",
					    "result", "why"};
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject();
		for (int i = 0; i < (int)KS_ARRAY_LEN(names); i++) {
			if (i == 2) {
				char at[40];
				int64_t ms = sqlite3_column_int64(st, i);
				ks_time_format_rfc3339_ms(ms, at, sizeof at);
				cJSON_AddStringToObject(row, names[i], at);
			} else if (i >= 7 && i <= 9) {
				cJSON *j = col_json(st, i);
				cJSON_AddItemToObject(row, names[i], j ? j : cJSON_CreateNull());
			} else if (sqlite3_column_type(st, i) == SQLITE_NULL) {
				cJSON_AddNullToObject(row, names[i]);
			} else {
				cJSON_AddStringToObject(row, names[i],
							(const char *)sqlite3_column_text(st, i));
			}
		}
		cJSON_AddItemToArray(arr, row);
	}
	rc = s == SQLITE_DONE ? 0 : db_error(r->o.store, sqlite3_db_handle(st), err,
							  "reading the audit");
	sqlite3_finalize(st);
	store__unlock(r->o.store);
	if (rc)
		cJSON_Delete(arr);
	else
		*out = arr;
	return rc;
}
