/* test_store.c — the SQLite store on real files: create, migrate, WAL, append and read the
 * transcript, reopen keeps everything, migrations are idempotent, a newer schema is refused,
 * read-only opens read, errors carry SQLite's message, corrupted rows are named; the
 * learning table's measured savings. */
#include "testutil.h"

#include "base/json.h"
#include "store/plans.h"
#include "store/store.h"
#include "swarm/msg.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void fixture_msg(const char *name, struct swarm_msg *m)
{
	char rel[64];
	snprintf(rel, sizeof rel, "swarm/%s.json", name);
	char *json = tu_read_fixture(rel);
	struct ks_err err = {0};
	if (swarm_msg_decode(json, strlen(json), m, &err))
		fail_msg("%s: %s", rel, err.msg);
	free(json);
}

static struct store *open_ok(const char *path)
{
	struct store *s = NULL;
	struct ks_err err = {0};
	if (store_open(path, &s, &err))
		fail_msg("store_open %s: %s", path, err.msg);
	return s;
}

/* Collects the ids a scan returns, as "m1,m2,". */
struct collect {
	struct ks_buf ids;
	int stop_after; /* 0: never */
	int seen;
	struct store *store; /* when set, each callback also reads its message back */
};

static int collect_cb(const struct swarm_msg *m, void *ctx)
{
	struct collect *c = ctx;
	ks_buf_appendf(&c->ids, "%s,", m->id);
	if (c->store) {
		struct swarm_msg back;
		assert_int_equal(store_msg_get(c->store, m->id, &back, NULL), 0);
		assert_int_equal(back.seq, m->seq);
		swarm_msg_release(&back);
	}
	c->seen++;
	return c->stop_after && c->seen >= c->stop_after ? 7 : 0;
}

static void append_fixtures(struct store *s)
{
	static const char *const names[] = {"observation", "proposal", "critique", "veto"};
	for (size_t i = 0; i < KS_ARRAY_LEN(names); i++) {
		struct swarm_msg m;
		fixture_msg(names[i], &m);
		struct ks_err err = {0};
		if (store_append_msg(s, &m, &err))
			fail_msg("append %s: %s", names[i], err.msg);
		assert_int_equal(m.seq, (int64_t)i + 1);
		swarm_msg_release(&m);
	}
}

static void create_append_reopen(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *path = ks_asprintf("%s/kswarm.db", dir);
	struct store *s = open_ok(path);
	char mode[16];
	int version = 0;
	assert_int_equal(store_journal_mode(s, mode, sizeof mode, NULL), 0);
	assert_string_equal(mode, "wal");
	assert_int_equal(store_schema_version(s, &version, NULL), 0);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	append_fixtures(s);
	/* WAL: the log file exists beside the database while it is open. */
	char *wal = ks_asprintf("%s-wal", path);
	assert_int_equal(access(wal, F_OK), 0);
	free(wal);
	store_close(s);

	/* Reopen (twice: the migration is idempotent) and find everything. */
	for (int round = 0; round < 2; round++) {
		s = open_ok(path);
		assert_int_equal(store_schema_version(s, &version, NULL), 0);
		assert_int_equal(version, STORE_SCHEMA_VERSION);
		int64_t last = 0;
		assert_int_equal(store_last_seq(s, &last, NULL), 0);
		assert_int_equal(last, 4);
		struct swarm_msg m;
		assert_int_equal(store_msg_get(s, "m42", &m, NULL), 0);
		char *want = tu_read_fixture("swarm/proposal.json");
		want[strcspn(want, "\n")] = '\0';
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		assert_int_equal(swarm_msg_encode(&m, &b), 0);
		assert_string_equal(b.data, want); /* byte for byte what went in */
		assert_int_equal(m.seq, 2);
		ks_buf_release(&b);
		free(want);
		swarm_msg_release(&m);

		struct collect c = {0};
		ks_buf_init(&c.ids, KS_BUF_UNLIMITED);
		assert_int_equal(store_msgs_since(s, 0, 0, collect_cb, &c, NULL), 0);
		assert_string_equal(c.ids.data, "m40,m42,m43,m44,");
		ks_buf_reset(&c.ids);
		assert_int_equal(store_msgs_since(s, 1, 2, collect_cb, &c, NULL), 0);
		assert_string_equal(c.ids.data, "m42,m43,");
		ks_buf_reset(&c.ids);
		struct swarm_subject pool = {.kind = "NodePool", .name = "general"};
		assert_int_equal(store_msgs_about(s, &pool, 0, collect_cb, &c, NULL), 0);
		assert_string_equal(c.ids.data, "m40,m42,m43,m44,");
		ks_buf_reset(&c.ids);
		struct swarm_subject other = {
			.kind = "NodePool", .namespace = "x", .name = "general"};
		assert_int_equal(store_msgs_about(s, &other, 0, collect_cb, &c, NULL), 0);
		assert_string_equal(c.ids.data, "");
		ks_buf_release(&c.ids);
		store_close(s);
	}
	free(path);
	tu_rmtree(dir);
	free(dir);
}

static void errors_name_sqlite(void **state)
{
	(void)state;
	struct store *s = open_ok(":memory:");
	char mode[16];
	assert_int_equal(store_journal_mode(s, mode, sizeof mode, NULL), 0);
	assert_string_equal(mode, "memory");
	append_fixtures(s);
	struct swarm_msg m;
	struct ks_err err = {0};

	/* The same id again. */
	fixture_msg("veto", &m);
	m.seq = 0;
	assert_int_equal(store_append_msg(s, &m, &err), KS_ECONFLICT);
	assert_contains(err.msg, "store :memory:: appending a message: UNIQUE constraint failed: "
				 "messages.id (constraint failed)");
	assert_int_equal(m.seq, 0);
	/* A seq already taken. */
	snprintf(m.id, sizeof m.id, "m99");
	m.seq = 3;
	assert_int_equal(store_append_msg(s, &m, &err), KS_ECONFLICT);
	assert_contains(err.msg, "UNIQUE constraint failed: messages.seq");
	assert_int_equal(m.seq, 3);
	/* Not a valid message, or no id. */
	m.seq = 0;
	m.from[0] = '\0';
	assert_int_equal(store_append_msg(s, &m, &err), KS_EINVAL);
	assert_contains(err.msg, "store :memory:: message: from: required");
	snprintf(m.from, sizeof m.from, "reliability");
	m.id[0] = '\0';
	assert_int_equal(store_append_msg(s, &m, &err), KS_EINVAL);
	assert_contains(err.msg, "message has no id");
	swarm_msg_release(&m);

	assert_int_equal(store_msg_get(s, "m7", &m, &err), KS_ENOTFOUND);
	assert_contains(err.msg, "no message m7");
	/* A nonzero callback result stops the scan and is returned. */
	struct collect c = {.stop_after = 2};
	ks_buf_init(&c.ids, KS_BUF_UNLIMITED);
	assert_int_equal(store_msgs_since(s, 0, 0, collect_cb, &c, NULL), 7);
	assert_string_equal(c.ids.data, "m40,m42,");
	ks_buf_release(&c.ids);
	store_close(s);

	assert_int_equal(store_open("/nonexistent-dir/x/kswarm.db", &s, &err), KS_EIO);
	assert_contains(err.msg, "store /nonexistent-dir/x/kswarm.db: opening: unable to open "
				 "database file");
	assert_null(s);
}

/* Write to the database behind the store's back (what a newer kswarm or a disk fault does). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void schema_versions(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *path = ks_asprintf("%s/kswarm.db", dir);
	struct ks_err err = {0};
	struct store *s = open_ok(path);
	append_fixtures(s);
	store_close(s);

	/* A newer kswarm migrated it further: refuse, touch nothing. */
	raw_exec(path, "UPDATE schema_version SET version = 99");
	assert_int_equal(store_open(path, &s, &err), KS_EUNSUPPORTED);
	char *want = ks_asprintf("schema version 99 is newer than this kswarm's (%d)",
				 STORE_SCHEMA_VERSION);
	assert_contains(err.msg, want);
	free(want);
	char *back = ks_asprintf("UPDATE schema_version SET version = %d", STORE_SCHEMA_VERSION);
	raw_exec(path, back);
	free(back);

	/* A corrupted row is named by its seq. */
	raw_exec(path, "UPDATE messages SET body = 'not json' WHERE seq = 3");
	s = open_ok(path);
	struct swarm_msg m;
	assert_int_equal(store_msg_get(s, "m43", &m, &err), KS_EINVAL);
	assert_contains(err.msg, "message at seq 3: invalid JSON");
	struct collect c = {0};
	ks_buf_init(&c.ids, KS_BUF_UNLIMITED);
	assert_int_equal(store_msgs_since(s, 0, 0, collect_cb, &c, &err), KS_EINVAL);
	assert_int_equal(c.ids.len, 0); /* the page failed as a whole */
	ks_buf_release(&c.ids);
	store_close(s);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

static void read_only(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *path = ks_asprintf("%s/kswarm.db", dir);
	struct store *s = open_ok(path);
	append_fixtures(s);
	store_close(s);

	char *uri = ks_asprintf("file:%s?mode=ro", path);
	s = open_ok(uri);
	struct swarm_msg m;
	struct ks_err err = {0};
	assert_int_equal(store_msg_get(s, "m44", &m, NULL), 0);
	m.seq = 0;
	snprintf(m.id, sizeof m.id, "m45");
	assert_int_equal(store_append_msg(s, &m, &err), KS_EIO);
	assert_contains(err.msg, "readonly");
	swarm_msg_release(&m);
	store_close(s);
	free(uri);

	/* A read-only open of a database that needs migrating fails, naming SQLite's error. */
	char *empty = ks_asprintf("%s/empty.db", dir);
	tu_write_file(empty, "");
	uri = ks_asprintf("file:%s?mode=ro", empty);
	assert_int_not_equal(store_open(uri, &s, &err), 0);
	assert_contains(err.msg, "creating the schema_version table: attempt to write a "
				 "readonly database");
	free(uri);
	free(empty);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

/* More rows than one page; callbacks that use the store while a scan runs. */
static void paging_and_reentrant_reads(void **state)
{
	(void)state;
	struct store *s = open_ok(":memory:");
	struct swarm_msg m;
	fixture_msg("observation", &m);
	for (int i = 1; i <= 600; i++) {
		m.seq = 0;
		snprintf(m.id, sizeof m.id, "m%d", i);
		m.ts = 1795255202000 + i;
		assert_int_equal(store_append_msg(s, &m, NULL), 0);
		assert_int_equal(m.seq, i);
	}
	swarm_msg_release(&m);
	struct collect c = {.store = s};
	ks_buf_init(&c.ids, KS_BUF_UNLIMITED);
	assert_int_equal(store_msgs_since(s, 0, 0, collect_cb, &c, NULL), 0);
	assert_int_equal(c.seen, 600);
	assert_true(strncmp(c.ids.data, "m1,m2,m3,", 9) == 0);
	c.seen = 0;
	assert_int_equal(store_msgs_since(s, 250, 300, collect_cb, &c, NULL), 0);
	assert_int_equal(c.seen, 300);
	c.seen = 0;
	struct swarm_subject pool = {.kind = "NodePool", .name = "general"};
	assert_int_equal(store_msgs_about(s, &pool, 257, collect_cb, &c, NULL), 0);
	assert_int_equal(c.seen, 257);
	ks_buf_release(&c.ids);
	store_close(s);
}

/* learn_set_measured gives a plan's outcome record its measured saving (what the learning
 * agent's ratio reads); rejections are left alone; an unknown plan is KS_ENOTFOUND. */
static void learning_measured(void **state)
{
	(void)state;
	struct store *s = open_ok(":memory:");
	struct learn_record out = {.at = 1, .plan_id = "p1", .action = "nodepool-mix",
				   .event = "outcome", .result = "succeeded", .predicted = 450,
				   .measured = NAN};
	struct learn_record rej = {.at = 2, .plan_id = "p2", .action = "nodepool-mix",
				   .event = "rejection", .result = "rejected", .reason = "no",
				   .predicted = 100, .measured = NAN};
	assert_int_equal(learn_insert(s, &out, NULL), 0);
	assert_int_equal(learn_insert(s, &rej, NULL), 0);
	struct learn_stats st;
	assert_int_equal(learn_stats_get(s, "nodepool-mix", &st, NULL), 0);
	assert_int_equal(st.measured_n, 0);
	assert_int_equal(learn_set_measured(s, "p1", 401.5, NULL), 0);
	assert_int_equal(learn_stats_get(s, "nodepool-mix", &st, NULL), 0);
	assert_int_equal(st.succeeded, 1);
	assert_int_equal(st.rejections, 1);
	assert_int_equal(st.measured_n, 1);
	assert_true(fabs(st.measured_sum - 401.5) < 1e-9);
	assert_true(fabs(st.predicted_sum - 450) < 1e-9);
	struct ks_err err = {0};
	assert_int_equal(learn_set_measured(s, "p2", 5, &err), KS_ENOTFOUND);
	assert_string_equal(err.msg, "learning: plan p2 has no outcome record");
	assert_int_equal(learn_set_measured(s, "p9", 5, NULL), KS_ENOTFOUND);
	assert_int_equal(learn_set_measured(s, "p1", NAN, NULL), 0); /* cleared */
	assert_int_equal(learn_stats_get(s, "nodepool-mix", &st, NULL), 0);
	assert_int_equal(st.measured_n, 0);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_append_reopen),
		cmocka_unit_test(errors_name_sqlite),
		cmocka_unit_test(schema_versions),
		cmocka_unit_test(read_only),
		cmocka_unit_test(paging_and_reentrant_reads),
		cmocka_unit_test(learning_measured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
