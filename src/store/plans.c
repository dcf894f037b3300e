/* plans.c — the swarm's tables (see plans.h): plans, learning records, NodePool usage.
 * Every query runs through query(): it takes the store's mutex, prepares the statement,
 * binds the arguments described by a type string ('t' text, 'i' int64, 'd' double; a NULL
 * text binds NULL), hands each row to a callback and finalizes. Row callbacks run under the
 * mutex and only copy columns; anything that may use the store again runs after it. */
#include "base/common.h"
#include "base/json.h"
#include "store/plans.h"
#include "store/store_db.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*row_fn)(sqlite3_stmt *st, void *ctx);

static int db_fail(struct store *s, sqlite3 *db, const char *what, struct ks_err *err)
{
	int code = sqlite3_extended_errcode(db);
	int kc = (code & 0xff) == SQLITE_BUSY ? KS_ETIMEOUT
		 : (code & 0xff) == SQLITE_CONSTRAINT ? KS_ECONFLICT
						      : KS_EIO;
	return ks_err_set(err, kc, "store %s: %s: %s", store__path(s), what, sqlite3_errmsg(db));
}

/* Run sql with the arguments typed by types; row (may be NULL) sees each row. *changes gets
 * the rows changed (when not NULL). */
static int query(struct store *s, const char *what, const char *sql, row_fn row, void *ctx,
		 int *changes, struct ks_err *err, const char *types, ...)
{
	sqlite3 *db = store__lock(s);
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(s, db, what, err);
		goto out;
	}
	va_list ap;
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 't') {
			const char *v = va_arg(ap, const char *);
			if (v)
				sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT);
		} else if (types[i] == 'i') {
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		} else {
			double d = va_arg(ap, double);
			if (!isnan(d))
				sqlite3_bind_double(st, i + 1, d);
		}
	}
	va_end(ap);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (row && (rc = row(st, ctx)))
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(s, db, what, err);
	else if (changes)
		*changes = sqlite3_changes(db);
out:
	sqlite3_finalize(st);
	store__unlock(s);
	return rc;
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t n)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	snprintf(dst, n, "%s", v ? (const char *)v : "");
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v ? ks_strdup((const char *)v) : NULL;
}

void plan_row_release(struct plan_row *r)
{
	free(r->title);
	free(r->subject);
	free(r->plan);
	free(r->diff);
	free(r->result);
	free(r->measured);
	*r = (struct plan_row){0};
}

#define PLAN_COLUMNS "plan_id, status, risk, action, key, fingerprint, proposal_id, " \
		     "decision_id, plan_msg_id, request_msg_id, created, updated, savings, " \
		     "title, subject, plan, diff, result, measured"

static void row_to_plan(sqlite3_stmt *st, struct plan_row *r)
{
	col_copy(st, 0, r->plan_id, sizeof r->plan_id);
	col_copy(st, 1, r->status, sizeof r->status);
	col_copy(st, 2, r->risk, sizeof r->risk);
	col_copy(st, 3, r->action, sizeof r->action);
	col_copy(st, 4, r->key, sizeof r->key);
	col_copy(st, 5, r->fingerprint, sizeof r->fingerprint);
	col_copy(st, 6, r->proposal_id, sizeof r->proposal_id);
	col_copy(st, 7, r->decision_id, sizeof r->decision_id);
	col_copy(st, 8, r->plan_msg_id, sizeof r->plan_msg_id);
	col_copy(st, 9, r->request_msg_id, sizeof r->request_msg_id);
	r->created = sqlite3_column_int64(st, 10);
	r->updated = sqlite3_column_int64(st, 11);
	r->savings = sqlite3_column_double(st, 12);
	r->title = col_dup(st, 13);
	r->subject = col_dup(st, 14);
	r->plan = col_dup(st, 15);
	r->diff = col_dup(st, 16);
	r->result = col_dup(st, 17);
	r->measured = col_dup(st, 18);
}

/* Collect rows (for callbacks run after the mutex is released). */
struct plan_rows {
	struct plan_row *v;
	size_t n, cap;
};

static int collect_plan(sqlite3_stmt *st, void *ctx)
{
	struct plan_rows *rows = ctx;
	rows->v = ks_grow(rows->v, sizeof *rows->v, rows->n + 1, &rows->cap);
	rows->v[rows->n] = (struct plan_row){0};
	row_to_plan(st, &rows->v[rows->n++]);
	return 0;
}

static void plan_rows_release(struct plan_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++)
		plan_row_release(&rows->v[i]);
	free(rows->v);
}

/* The first row of a query into out; KS_ENOTFOUND when none. */
static int one_plan(struct store *s, const char *sql, const char *arg, const char *what,
		    struct plan_row *out, struct ks_err *err)
{
	*out = (struct plan_row){0};
	struct plan_rows rows = {0};
	int rc = query(s, what, sql, collect_plan, &rows, NULL, err, "t", arg);
	if (!rc && rows.n == 0)
		rc = ks_err_set(err, KS_ENOTFOUND, "no plan %s", arg);
	if (!rc) {
		*out = rows.v[0];
		rows.v[0] = (struct plan_row){0};
	}
	plan_rows_release(&rows);
	return rc;
}

static int read_int(sqlite3_stmt *st, void *ctx)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 0;
}

int plans_next_id(struct store *s, char out[32], struct ks_err *err)
{
	int64_t max = 0;
	int rc = query(s, "reading the last plan number", "SELECT coalesce(max(num), 0) FROM plans",
		       read_int, &max, NULL, err, "");
	if (!rc)
		snprintf(out, 32, "p%lld", (long long)max + 1);
	return rc;
}

int plans_insert(struct store *s, const struct plan_row *r, struct ks_err *err)
{
	return query(s, "inserting a plan",
		     "INSERT INTO plans (num, " PLAN_COLUMNS ") VALUES (CAST(substr(?1, 2) AS "
		     "INTEGER), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
		     "?16, ?17, ?18, ?19)",
		     NULL, NULL, NULL, err, "ttttttttttiidtttttt", r->plan_id, r->status, r->risk,
		     r->action, r->key, r->fingerprint, r->proposal_id, r->decision_id,
		     r->plan_msg_id, r->request_msg_id, r->created, r->updated, r->savings,
		     r->title ? r->title : "", r->subject ? r->subject : "{}",
		     r->plan ? r->plan : "{}", r->diff, r->result, r->measured);
}

int plans_get(struct store *s, const char *plan_id, struct plan_row *out, struct ks_err *err)
{
	return one_plan(s, "SELECT " PLAN_COLUMNS " FROM plans WHERE plan_id = ?1", plan_id,
			"reading a plan", out, err);
}

static int read_text(sqlite3_stmt *st, void *ctx)
{
	col_copy(st, 0, ctx, 16);
	return 0;
}

int plans_set_status(struct store *s, const char *plan_id, const char *from, const char *to,
		     int64_t now, struct ks_err *err)
{
	int changes = 0;
	int rc = query(s, "updating a plan's status",
		       "UPDATE plans SET status = ?2, updated = ?3 WHERE plan_id = ?1 AND "
		       "(?4 IS NULL OR status = ?4)",
		       NULL, NULL, &changes, err, "ttit", plan_id, to, now, from);
	if (rc || changes)
		return rc;
	char status[16] = "";
	rc = query(s, "reading a plan's status", "SELECT status FROM plans WHERE plan_id = ?1",
		   read_text, status, NULL, err, "t", plan_id);
	if (rc)
		return rc;
	if (!status[0])
		return ks_err_set(err, KS_ENOTFOUND, "no plan %s", plan_id);
	return ks_err_set(err, KS_ECONFLICT, "plan %s is %s, not %s", plan_id, status, from);
}

int plans_set_text(struct store *s, const char *plan_id, const char *column, const char *value,
		   struct ks_err *err)
{
	static const char *const columns[] = {"plan_msg_id", "request_msg_id", "diff", "result",
					      "measured"};
	for (size_t i = 0; i < sizeof columns / sizeof *columns; i++) {
		if (strcmp(column, columns[i]))
			continue;
		char sql[96];
		snprintf(sql, sizeof sql, "UPDATE plans SET %s = ?2 WHERE plan_id = ?1",
			 columns[i]);
		return query(s, "updating a plan", sql, NULL, NULL, NULL, err, "tt", plan_id,
			     value);
	}
	return ks_err_set(err, KS_EINVAL, "plans: no text column %s", column);
}

int plans_list(struct store *s, const char *status, int limit, plans_cb cb, void *ctx,
	       struct ks_err *err)
{
	struct plan_rows rows = {0};
	int rc = query(s, "listing plans",
		       "SELECT " PLAN_COLUMNS " FROM plans WHERE ?1 IS NULL OR status = ?1 "
		       "ORDER BY num DESC LIMIT ?2",
		       collect_plan, &rows, NULL, err, "ti", status,
		       (int64_t)(limit > 0 ? limit : -1));
	for (size_t i = 0; !rc && i < rows.n; i++)
		if (cb(&rows.v[i], ctx))
			break;
	plan_rows_release(&rows);
	return rc;
}

int plans_oldest(struct store *s, const char *status, struct plan_row *out, struct ks_err *err)
{
	return one_plan(s, "SELECT " PLAN_COLUMNS " FROM plans WHERE status = ?1 ORDER BY num "
			"LIMIT 1", status, "reading the oldest plan", out, err);
}

int plans_latest_for_key(struct store *s, const char *key, struct plan_row *out,
			 struct ks_err *err)
{
	return one_plan(s, "SELECT " PLAN_COLUMNS " FROM plans WHERE key = ?1 ORDER BY num DESC "
			"LIMIT 1", key, "reading the plans of a key", out, err);
}

int plans_succeeded_on(struct store *s, const char *kind, const char *ns, const char *name,
		       int64_t since, struct plan_row *out, struct ks_err *err)
{
	*out = (struct plan_row){0};
	struct plan_rows rows = {0};
	int rc = query(s, "reading the plans of a subject",
		       "SELECT " PLAN_COLUMNS " FROM plans WHERE status = 'succeeded' AND "
		       "updated >= ?4 AND json_valid(subject) AND "
		       "json_extract(subject, '$.kind') = ?1 AND "
		       "coalesce(json_extract(subject, '$.namespace'), '') = ?2 AND "
		       "json_extract(subject, '$.name') = ?3 ORDER BY updated DESC, num DESC LIMIT 1",
		       collect_plan, &rows, NULL, err, "ttti", kind, ns ? ns : "", name, since);
	if (!rc && rows.n == 0)
		rc = ks_err_set(err, KS_ENOTFOUND, "no plan succeeded on %s %s/%s", kind,
				ns ? ns : "", name);
	if (!rc) {
		*out = rows.v[0];
		rows.v[0] = (struct plan_row){0};
	}
	plan_rows_release(&rows);
	return rc;
}

int plans_count_succeeded_before(struct store *s, int64_t until, int64_t *n,
				 struct ks_err *err)
{
	*n = 0;
	return query(s, "counting plans that succeeded",
		     "SELECT count(*) FROM plans WHERE status = 'succeeded' AND updated < ?1",
		     read_int, n, NULL, err, "i", until);
}

struct counts {
	cJSON *by_status;
	struct plans_savings savings;
};

static int count_row(sqlite3_stmt *st, void *ctx)
{
	struct counts *c = ctx;
	const char *status = (const char *)sqlite3_column_text(st, 0);
	cJSON_AddNumberToObject(c->by_status, status ? status : "", sqlite3_column_int(st, 1));
	if (status && !strcmp(status, "succeeded")) {
		c->savings.predicted += sqlite3_column_double(st, 2);
		c->savings.realised += sqlite3_column_double(st, 3);
		c->savings.measured += sqlite3_column_int(st, 4);
	}
	return 0;
}

/* The measured saving of a plan row (docs/SWARM.md), NULL when not measured (yet). */
#define MEASURED_SAVING                                                                       \
	"CASE WHEN json_valid(measured) THEN json_extract(measured, '$.savings_per_month') END"

int plans_counts(struct store *s, cJSON **by_status, struct plans_savings *savings,
		 struct ks_err *err)
{
	struct counts c = {.by_status = cJSON_CreateObject()};
	int rc = query(s, "counting plans",
		       "SELECT status, count(*), sum(savings), "
		       "sum(coalesce(" MEASURED_SAVING ", savings)), count(" MEASURED_SAVING ") "
		       "FROM plans GROUP BY status ORDER BY status",
		       count_row, &c, NULL, err, "");
	if (rc) {
		cJSON_Delete(c.by_status);
		return rc;
	}
	*by_status = c.by_status;
	*savings = c.savings;
	return 0;
}

int learn_insert(struct store *s, const struct learn_record *r, struct ks_err *err)
{
	return query(s, "recording a learning event",
		     "INSERT INTO learning (at, plan_id, action, event, result, reason, predicted, "
		     "measured) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		     NULL, NULL, NULL, err, "itttttdd", r->at, r->plan_id, r->action, r->event,
		     r->result, r->reason ? r->reason : "", r->predicted, r->measured);
}

int learn_set_measured(struct store *s, const char *plan_id, double measured,
		       struct ks_err *err)
{
	int changes = 0;
	int rc = query(s, "recording a measured saving",
		       "UPDATE learning SET measured = ?2 WHERE plan_id = ?1 AND event = 'outcome'",
		       NULL, NULL, &changes, err, "td", plan_id, measured);
	if (!rc && !changes)
		rc = ks_err_set(err, KS_ENOTFOUND, "learning: plan %s has no outcome record",
				plan_id);
	return rc;
}

static int stats_row(sqlite3_stmt *st, void *ctx)
{
	struct learn_stats *o = ctx;
	const char *event = (const char *)sqlite3_column_text(st, 0);
	const char *result = (const char *)sqlite3_column_text(st, 1);
	if (!event || !result)
		return 0;
	if (!strcmp(event, "rejection"))
		o->rejections++;
	else if (!strcmp(result, "succeeded"))
		o->succeeded++;
	else if (!strcmp(result, "failed"))
		o->failed++;
	else if (!strcmp(result, "rolled_back"))
		o->rolled_back++;
	if (!strcmp(event, "outcome") && sqlite3_column_type(st, 3) != SQLITE_NULL) {
		o->measured_n++;
		o->predicted_sum += sqlite3_column_double(st, 2);
		o->measured_sum += sqlite3_column_double(st, 3);
	}
	return 0;
}

int learn_stats_get(struct store *s, const char *action, struct learn_stats *out,
		    struct ks_err *err)
{
	*out = (struct learn_stats){0};
	return query(s, "reading learning records",
		     "SELECT event, result, predicted, measured FROM learning WHERE action = ?1",
		     stats_row, out, NULL, err, "t", action);
}

static int reason_row(sqlite3_stmt *st, void *ctx)
{
	cJSON *item = cJSON_CreateObject();
	const char *reason = (const char *)sqlite3_column_text(st, 0);
	cJSON_AddStringToObject(item, "reason", reason ? reason : "");
	cJSON_AddNumberToObject(item, "count", sqlite3_column_int(st, 1));
	cJSON_AddItemToArray(ctx, item);
	return 0;
}

int learn_rejection_reasons(struct store *s, const char *action, cJSON **out,
			    struct ks_err *err)
{
	cJSON *arr = cJSON_CreateArray();
	int rc = query(s, "reading rejection reasons",
		       "SELECT reason, count(*) AS n FROM learning WHERE action = ?1 AND event = "
		       "'rejection' GROUP BY reason ORDER BY n DESC, reason",
		       reason_row, arr, NULL, err, "t", action);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

int series_record(struct store *s, const char *name, int64_t at, double value, double cap,
		  struct ks_err *err)
{
	return query(s, "recording a series",
		     "INSERT OR REPLACE INTO series (name, at, value, cap) VALUES (?1, ?2, ?3, ?4)",
		     NULL, NULL, NULL, err, "tidd", name, at, value, cap);
}

struct series {
	int64_t *t;
	double *value, *cap;
	size_t n, cap_t, cap_v, cap_c;
};

static int series_row(sqlite3_stmt *st, void *ctx)
{
	struct series *se = ctx;
	se->t = ks_grow(se->t, sizeof *se->t, se->n + 1, &se->cap_t);
	se->value = ks_grow(se->value, sizeof *se->value, se->n + 1, &se->cap_v);
	se->cap = ks_grow(se->cap, sizeof *se->cap, se->n + 1, &se->cap_c);
	se->t[se->n] = sqlite3_column_int64(st, 0);
	se->value[se->n] = sqlite3_column_double(st, 1);
	se->cap[se->n] = sqlite3_column_double(st, 2);
	se->n++;
	return 0;
}

int series_read(struct store *s, const char *name, int64_t since, int64_t **t, double **value,
		double **cap, size_t *n, struct ks_err *err)
{
	struct series se = {0};
	int rc = query(s, "reading a series", "SELECT at, value, cap FROM series WHERE name = ?1 "
		       "AND at >= ?2 ORDER BY at", series_row, &se, NULL, err, "ti", name, since);
	if (rc) {
		free(se.t);
		free(se.value);
		free(se.cap);
		return rc;
	}
	*t = se.t;
	*value = se.value;
	*cap = se.cap;
	*n = se.n;
	return 0;
}
