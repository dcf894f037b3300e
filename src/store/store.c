/* store.c — see store.h.
 * Schema: table schema_version holds one row, the version the migrations reached; each
 * entry of `migrations` moves the schema one version up, run in one transaction with the
 * version update, so a crash leaves the old version or the new one, never half. Opening a
 * database already at STORE_SCHEMA_VERSION writes nothing (a read-only "file:...?mode=ro"
 * URI can be opened).
 * Reads are done in pages of PAGE_ROWS rows under the mutex, and the callbacks run after it
 * is released, so a callback may use the store (or publish on the bus) without deadlock. */
#include "base/common.h"
#include "base/json.h"
#include "store/plans.h"
#include "store/store.h"
#include "store/store_db.h"
#include "swarm/msg.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define PAGE_ROWS 256
/* A stored re column or body is at most this long (well above what validation admits). */
#define STORED_JSON_MAX ((size_t)SWARM_MSG_JSON_MAX)

/* The reconciler's tables (its SQL lives in reconcile/intent.c). */
extern const char RECONCILE_STORE_SCHEMA[];

static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* v1: the transcript of swarm messages. ts in ms since the epoch; re and body JSON. */
	"CREATE TABLE messages ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" ts INTEGER NOT NULL,"
	" cluster TEXT NOT NULL,"
	" from_agent TEXT NOT NULL,"
	" to_agent TEXT NOT NULL,"
	" type TEXT NOT NULL,"
	" re TEXT NOT NULL,"
	" subject_kind TEXT NOT NULL,"
	" subject_ns TEXT NOT NULL,"
	" subject_name TEXT NOT NULL,"
	" text TEXT NOT NULL,"
	" body TEXT NOT NULL);"
	"CREATE INDEX messages_type ON messages(type);"
	"CREATE INDEX messages_subject ON messages(subject_kind, subject_ns, subject_name);"
	"CREATE INDEX messages_ts ON messages(ts);",
	/* v2: the swarm's plans, learning records and NodePool usage (store/plans.c). */
	PLANS_MIGRATION_SQL,
	/* v3: the reconciler's intent log and audit (reconcile/intent.c). */
	RECONCILE_STORE_SCHEMA,
};

#define MSG_COLUMNS "seq, id, ts, cluster, from_agent, to_agent, type, re, subject_kind," \
		    " subject_ns, subject_name, text, body"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INSERT,
	ST_SINCE,
	ST_GET,
	ST_ABOUT,
	ST_LAST_SEQ,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_INSERT] = "INSERT INTO messages (" MSG_COLUMNS ") VALUES "
		      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[ST_SINCE] = "SELECT " MSG_COLUMNS " FROM messages WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[ST_GET] = "SELECT " MSG_COLUMNS " FROM messages WHERE id = ?1",
	[ST_ABOUT] = "SELECT " MSG_COLUMNS " FROM messages WHERE subject_kind = ?3 AND "
		     "subject_ns = ?4 AND subject_name = ?5 AND seq > ?1 ORDER BY seq LIMIT ?2",
	[ST_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM messages",
};

struct store {
	sqlite3 *db;
	char *path;
	pthread_mutex_t mu;
	sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use, kept until close */
};

static int db_error(struct store *s, struct ks_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);
	int kc = (code & 0xff) == SQLITE_BUSY ? KS_ETIMEOUT
		 : (code & 0xff) == SQLITE_CONSTRAINT ? KS_ECONFLICT
						      : KS_EIO;
	const char *msg = sqlite3_errmsg(s->db), *generic = sqlite3_errstr(code);
	if (strcmp(msg, generic) == 0)
		return ks_err_set(err, kc, "store %s: %s: %s", s->path, what, msg);
	return ks_err_set(err, kc, "store %s: %s: %s (%s)", s->path, what, msg, generic);
}

static int exec_sql(struct store *s, const char *sql, const char *what, struct ks_err *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, err, what);
	return 0;
}

static int get_stmt(struct store *s, enum stmt_id id, sqlite3_stmt **out, struct ks_err *err)
{
	if (!s->stmt[id] && sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					       &s->stmt[id], NULL) != SQLITE_OK)
		return db_error(s, err, "preparing a statement");
	*out = s->stmt[id];
	sqlite3_reset(*out);
	sqlite3_clear_bindings(*out);
	return 0;
}

/* Run a statement that returns no rows (BEGIN, COMMIT, ROLLBACK). */
static int step_done(struct store *s, enum stmt_id id, const char *what, struct ks_err *err)
{
	sqlite3_stmt *st;
	int rc = get_stmt(s, id, &st, err);
	if (rc)
		return rc;
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(s, err, what);
	sqlite3_reset(st);
	return rc;
}

static int read_version(struct store *s, int *version, struct ks_err *err)
{
	sqlite3_stmt *st = NULL;
	*version = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_error(s, err, "reading the schema version");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		rc = db_error(s, err, "reading the schema version");
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

static int has_version_table(struct store *s, bool *yes, struct ks_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
				      "name = 'schema_version'", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "reading the schema");
	int rc = sqlite3_step(st);
	*yes = rc == SQLITE_ROW;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(s, err, "reading the schema");
	sqlite3_finalize(st);
	return rc;
}

static int migrate(struct store *s, struct ks_err *err)
{
	bool exists = false;
	int version = 0, rc = has_version_table(s, &exists, err);
	if (!rc && exists)
		rc = read_version(s, &version, err);
	if (rc)
		return rc;
	if (version > STORE_SCHEMA_VERSION)
		return ks_err_set(err, KS_EUNSUPPORTED,
				  "store %s: schema version %d is newer than this kswarm's (%d)",
				  s->path, version, STORE_SCHEMA_VERSION);
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	/* Read again inside the write transaction: another process may have migrated. */
	if ((rc = exec_sql(s, "BEGIN IMMEDIATE", "starting the migration", err)))
		return rc;
	rc = exec_sql(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		      "creating the schema_version table", err);
	if (!rc)
		rc = read_version(s, &version, err);
	for (int v = version + 1; !rc && v <= STORE_SCHEMA_VERSION; v++) {
		char what[64], sql[96];
		snprintf(what, sizeof what, "migrating to schema version %d", v);
		rc = exec_sql(s, migrations[v - 1], what, err);
		snprintf(sql, sizeof sql, "DELETE FROM schema_version; "
					  "INSERT INTO schema_version (version) VALUES (%d)", v);
		if (!rc)
			rc = exec_sql(s, sql, what, err);
	}
	if (!rc)
		return exec_sql(s, "COMMIT", "committing the migration", err);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int store_open(const char *path, struct store **out, struct ks_err *err)
{
	*out = NULL;
	struct store *s = ks_calloc(1, sizeof *s);
	s->path = ks_strdup(path);
	pthread_mutex_init(&s->mu, NULL);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
		    SQLITE_OPEN_NOMUTEX;
	int rc;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		rc = s->db ? db_error(s, err, "opening")
			   : ks_err_set(err, KS_EIO, "store %s: opening: out of memory", path);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* WAL persists in the file; a read-only connection keeps whatever the file has. */
	if (!sqlite3_db_readonly(s->db, "main") &&
	    (rc = exec_sql(s, "PRAGMA journal_mode = WAL", "setting WAL mode", err)))
		goto fail;
	if ((rc = exec_sql(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
			   "setting pragmas", err)) ||
	    (rc = migrate(s, err)))
		goto fail;
	*out = s;
	return 0;
fail:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

int store_schema_version(struct store *s, int *version, struct ks_err *err)
{
	pthread_mutex_lock(&s->mu);
	int rc = read_version(s, version, err);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_journal_mode(struct store *s, char *out, size_t outlen, struct ks_err *err)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->mu);
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
				 sqlite3_step(st) == SQLITE_ROW
			 ? 0
			 : db_error(s, err, "reading the journal mode");
	if (!rc)
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- writing ---- */

static char *re_json(const struct swarm_msg *m)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < m->nre; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(m->re[i]));
	char *s = ks_json_print(a);
	cJSON_Delete(a);
	if (!s)
		abort();
	return s;
}

static int insert_msg(struct store *s, struct swarm_msg *m, struct ks_err *err)
{
	sqlite3_stmt *st;
	int rc = get_stmt(s, ST_INSERT, &st, err);
	if (rc)
		return rc;
	char *re = re_json(m);
	char *body = m->body ? ks_json_print(m->body) : ks_strdup("{}");
	if (!body)
		abort();
	if (m->seq > 0)
		sqlite3_bind_int64(st, 1, m->seq);
	sqlite3_bind_text(st, 2, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, m->ts);
	sqlite3_bind_text(st, 4, m->cluster, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, m->from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, m->to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, swarm_msg_type_name(m->type), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, re, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, m->subject.kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, m->subject.namespace, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, m->subject.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, m->text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, body, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		m->seq = sqlite3_last_insert_rowid(s->db);
	else
		rc = db_error(s, err, "appending a message");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(re);
	free(body);
	return rc;
}

int store_append_msg(struct store *s, struct swarm_msg *m, struct ks_err *err)
{
	int rc = swarm_msg_validate(m, err);
	if (rc) {
		ks_err_wrap(err, "store %s: message", s->path);
		return rc;
	}
	if (!m->id[0])
		return ks_err_set(err, KS_EINVAL, "store %s: message has no id", s->path);
	pthread_mutex_lock(&s->mu);
	int64_t seq_before = m->seq;
	rc = step_done(s, ST_BEGIN, "starting a transaction", err);
	if (!rc)
		rc = insert_msg(s, m, err);
	if (!rc)
		rc = step_done(s, ST_COMMIT, "committing a message", err);
	if (rc) {
		m->seq = seq_before;
		if (!sqlite3_get_autocommit(s->db))
			step_done(s, ST_ROLLBACK, "rolling back", NULL);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_last_seq(struct store *s, int64_t *seq, struct ks_err *err)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	int rc = get_stmt(s, ST_LAST_SEQ, &st, err);
	if (!rc) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*seq = sqlite3_column_int64(st, 0);
		else
			rc = db_error(s, err, "reading the last sequence number");
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- reading ---- */

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static int copy_col(sqlite3_stmt *st, int i, char *dst, size_t max)
{
	const char *t = col_text(st, i);
	size_t n = strlen(t);
	if (n >= max)
		return KS_ETOOBIG;
	memcpy(dst, t, n + 1);
	return 0;
}

/* One row of MSG_COLUMNS into m; what the row holds is checked as decode would. */
static int row_to_msg(struct store *s, sqlite3_stmt *st, struct swarm_msg *m, struct ks_err *err)
{
	*m = (struct swarm_msg){
		.seq = sqlite3_column_int64(st, 0),
		.ts = sqlite3_column_int64(st, 2),
	};
	struct ks_err e = {0};
	int rc = 0;
	if (copy_col(st, 1, m->id, sizeof m->id) ||
	    copy_col(st, 3, m->cluster, sizeof m->cluster) ||
	    copy_col(st, 4, m->from, sizeof m->from) || copy_col(st, 5, m->to, sizeof m->to) ||
	    copy_col(st, 8, m->subject.kind, sizeof m->subject.kind) ||
	    copy_col(st, 9, m->subject.namespace, sizeof m->subject.namespace) ||
	    copy_col(st, 10, m->subject.name, sizeof m->subject.name))
		rc = ks_err_set(&e, KS_ETOOBIG, "a field is longer than its ceiling");
	if (!rc)
		rc = swarm_msg_type_parse(col_text(st, 6), &m->type, &e);
	if (!rc) {
		const char *re = col_text(st, 7);
		cJSON *a = ks_json_parse(re, strlen(re), STORED_JSON_MAX, &e);
		if (!a || !cJSON_IsArray(a))
			rc = a ? ks_err_set(&e, KS_EINVAL, "re is not an array") : e.code;
		for (const cJSON *c = a ? a->child : NULL; !rc && c; c = c->next)
			rc = cJSON_IsString(c) ? swarm_msg_add_re(m, c->valuestring, &e)
					       : ks_err_set(&e, KS_EINVAL, "re holds a non-string");
		cJSON_Delete(a);
	}
	if (!rc) {
		m->text = ks_strdup(col_text(st, 11));
		const char *body = col_text(st, 12);
		m->body = ks_json_parse(body, strlen(body), STORED_JSON_MAX, &e);
		if (!m->body)
			rc = e.code;
	}
	if (!rc)
		rc = swarm_msg_validate(m, &e);
	if (rc) {
		swarm_msg_release(m);
		return ks_err_set(err, rc, "store %s: message at seq %lld: %s", s->path,
				  (long long)sqlite3_column_int64(st, 0), e.msg);
	}
	return 0;
}

/* One page of a seq-ordered query (ST_SINCE or ST_ABOUT) after *after; the messages go into
 * page (up to PAGE_ROWS), *n is their count. Runs under the mutex. */
static int read_page(struct store *s, enum stmt_id id, int64_t after, int limit,
		     const struct swarm_subject *subject, struct swarm_msg *page, int *n,
		     struct ks_err *err)
{
	sqlite3_stmt *st;
	*n = 0;
	int rc = get_stmt(s, id, &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	if (subject) {
		sqlite3_bind_text(st, 3, subject->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, subject->namespace, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, subject->name, -1, SQLITE_STATIC);
	}
	int step;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = row_to_msg(s, st, &page[*n], err);
		if (!rc)
			(*n)++;
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_error(s, err, "reading messages");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int scan(struct store *s, enum stmt_id id, int64_t since, int limit,
		const struct swarm_subject *subject, store_msg_cb cb, void *ctx,
		struct ks_err *err)
{
	struct swarm_msg *page = ks_calloc(PAGE_ROWS, sizeof *page);
	int64_t after = since;
	long left = limit > 0 ? limit : -1;
	int rc = 0;
	while (!rc && left != 0) {
		int want = left < 0 || left > PAGE_ROWS ? PAGE_ROWS : (int)left, n;
		pthread_mutex_lock(&s->mu);
		rc = read_page(s, id, after, want, subject, page, &n, err);
		pthread_mutex_unlock(&s->mu);
		int i = 0;
		for (; !rc && i < n; i++) {
			after = page[i].seq;
			rc = cb(&page[i], ctx);
		}
		for (int j = 0; j < n; j++)
			swarm_msg_release(&page[j]);
		if (left > 0)
			left -= n;
		if (n < want)
			break;
	}
	free(page);
	return rc;
}

int store_msgs_since(struct store *s, int64_t since_seq, int limit, store_msg_cb cb,
		     void *ctx, struct ks_err *err)
{
	return scan(s, ST_SINCE, since_seq, limit, NULL, cb, ctx, err);
}

int store_msgs_about(struct store *s, const struct swarm_subject *subject, int limit,
		     store_msg_cb cb, void *ctx, struct ks_err *err)
{
	return scan(s, ST_ABOUT, 0, limit, subject, cb, ctx, err);
}

int store_msg_get(struct store *s, const char *id, struct swarm_msg *out, struct ks_err *err)
{
	sqlite3_stmt *st;
	*out = (struct swarm_msg){0};
	pthread_mutex_lock(&s->mu);
	int rc = get_stmt(s, ST_GET, &st, err);
	if (!rc) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			rc = row_to_msg(s, st, out, err);
		else if (step == SQLITE_DONE)
			rc = ks_err_set(err, KS_ENOTFOUND, "store %s: no message %.30s", s->path,
					id);
		else
			rc = db_error(s, err, "reading a message");
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

sqlite3 *store__lock(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	return s->db;
}

void store__unlock(struct store *s)
{
	pthread_mutex_unlock(&s->mu);
}

const char *store__path(const struct store *s)
{
	return s->path;
}
