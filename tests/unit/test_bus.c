/* test_bus.c — the bus: ids and timestamps, filters, recorded-before-delivered, the global
 * order under re-entrant publishing and under two publishing threads (equal to the store's
 * seq order), failing stores (nothing delivered), subscribe/unsubscribe from callbacks,
 * replay for late joiners, and a restarted bus continuing the numbering. */
#include "testutil.h"

#include "base/json.h"
#include "base/timeutil.h"
#include "store/store.h"
#include "swarm/bus.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct store *mem_store(void)
{
	struct store *s = NULL;
	assert_int_equal(store_open(":memory:", &s, NULL), 0);
	return s;
}

/* A database file in a fresh temporary directory. */
struct tmp_db {
	char *dir, *path;
};

static struct store *tmp_db_open(struct tmp_db *t)
{
	t->dir = tu_mkdtemp();
	t->path = ks_asprintf("%s/kswarm.db", t->dir);
	struct store *s = NULL;
	assert_int_equal(store_open(t->path, &s, NULL), 0);
	return s;
}

static void tmp_db_remove(struct tmp_db *t)
{
	tu_rmtree(t->dir);
	free(t->dir);
	free(t->path);
}

static struct bus *new_bus(struct store *s)
{
	struct bus *b = NULL;
	struct ks_err err = {0};
	if (bus_new(s, &b, &err))
		fail_msg("bus_new: %s", err.msg);
	return b;
}

/* An observation from `from` to `to` about Deployment shop/NAME. */
static void make_msg(struct swarm_msg *m, enum swarm_msg_type type, const char *from,
		     const char *to, const char *name)
{
	*m = (struct swarm_msg){.type = type, .cluster = "local"};
	snprintf(m->from, sizeof m->from, "%s", from);
	snprintf(m->to, sizeof m->to, "%s", to);
	snprintf(m->subject.kind, sizeof m->subject.kind, "Deployment");
	snprintf(m->subject.namespace, sizeof m->subject.namespace, "shop");
	snprintf(m->subject.name, sizeof m->subject.name, "%s", name);
	swarm_msg_set_text(m, "%s says something about %s.", from, name);
	if (type == SWARM_MSG_VOTE) {
		m->body = cJSON_CreateObject();
		cJSON_AddStringToObject(m->body, "proposal", "");
		cJSON_AddNumberToObject(m->body, "score", 1);
	}
}

static void publish_ok(struct bus *b, struct swarm_msg *m)
{
	struct ks_err err = {0};
	if (bus_publish(b, m, &err))
		fail_msg("bus_publish: %s", err.msg);
}

/* A subscriber that logs "name:id," into a shared log and "id," into its own. */
struct recorder {
	const char *name;
	struct ks_buf *shared;
	struct ks_buf own;
	struct store *store; /* when set, checks each message is already recorded */
	int count;
};

static void record_cb(const struct swarm_msg *m, void *ctx)
{
	struct recorder *r = ctx;
	if (r->shared)
		ks_buf_appendf(r->shared, "%s:%s,", r->name, m->id);
	ks_buf_appendf(&r->own, "%s,", m->id);
	r->count++;
	if (r->store) {
		struct swarm_msg back;
		assert_int_equal(store_msg_get(r->store, m->id, &back, NULL), 0);
		swarm_msg_release(&back);
	}
}

static void recorder_init(struct recorder *r, const char *name, struct ks_buf *shared)
{
	*r = (struct recorder){.name = name, .shared = shared};
	ks_buf_init(&r->own, KS_BUF_UNLIMITED);
}

static const char *own_log(struct recorder *r)
{
	return r->own.data ? r->own.data : "";
}

static void ids_filters_and_recording(void **state)
{
	(void)state;
	struct store *s = mem_store();
	struct bus *b = new_bus(s);
	struct recorder all, votes, to_cost, cart;
	recorder_init(&all, "all", NULL);
	recorder_init(&votes, "votes", NULL);
	recorder_init(&to_cost, "cost", NULL);
	recorder_init(&cart, "cart", NULL);
	all.store = s;
	bus_subscribe(b, NULL, record_cb, &all);
	bus_subscribe(b, &(struct bus_filter){.types = BUS_TYPE_BIT(SWARM_MSG_VOTE)}, record_cb,
		      &votes);
	bus_subscribe(b, &(struct bus_filter){.to = "cost"}, record_cb, &to_cost);
	bus_subscribe(b, &(struct bus_filter){.kind = "Deployment", .namespace = "shop",
					      .name = "cart"},
		      record_cb, &cart);

	struct swarm_msg m;
	make_msg(&m, SWARM_MSG_OBSERVATION, "cost", "", "cart"); /* m1: to everyone */
	int64_t before = ks_time_now_ms();
	publish_ok(b, &m);
	assert_string_equal(m.id, "m1");
	assert_int_equal(m.seq, 1);
	assert_true(m.ts >= before && m.ts <= ks_time_now_ms());
	swarm_msg_release(&m);
	make_msg(&m, SWARM_MSG_VOTE, "efficiency", "orchestrator", "search"); /* m2 */
	m.ts = 1795255202123; /* kept when set */
	publish_ok(b, &m);
	assert_int_equal(m.ts, 1795255202123);
	swarm_msg_release(&m);
	make_msg(&m, SWARM_MSG_QUESTION, "orchestrator", "cost", "cart"); /* m3 */
	publish_ok(b, &m);
	swarm_msg_release(&m);

	assert_string_equal(own_log(&all), "m1,m2,m3,");
	assert_string_equal(own_log(&votes), "m2,");
	assert_string_equal(own_log(&to_cost), "m1,m3,");
	assert_string_equal(own_log(&cart), "m1,m3,");

	/* Publish validates the envelope and the typed body; nothing is recorded then. */
	struct ks_err err = {0};
	make_msg(&m, SWARM_MSG_PROPOSAL, "cost", "", "cart");
	assert_int_equal(bus_publish(b, &m, &err), KS_EINVAL);
	assert_contains(err.msg, "body: a proposal needs a body object");
	swarm_msg_release(&m);
	make_msg(&m, SWARM_MSG_OBSERVATION, "cost agent", "", "cart");
	assert_int_equal(bus_publish(b, &m, &err), KS_EINVAL);
	assert_contains(err.msg, "from: byte 4 (0x20) is not printable ASCII");
	assert_string_equal(m.id, "");
	swarm_msg_release(&m);
	int64_t last = 0;
	assert_int_equal(store_last_seq(s, &last, NULL), 0);
	assert_int_equal(last, 3);
	assert_int_equal(all.count, 3);
	make_msg(&m, SWARM_MSG_OBSERVATION, "cost", "", "cart"); /* the next is m4: no gap */
	publish_ok(b, &m);
	assert_string_equal(m.id, "m4");
	swarm_msg_release(&m);

	bus_free(b);
	store_close(s);
	ks_buf_release(&all.own);
	ks_buf_release(&votes.own);
	ks_buf_release(&to_cost.own);
	ks_buf_release(&cart.own);
}

/* ---- re-entrant publishing ---- */

struct reactor {
	struct bus *bus;
	struct ks_buf *shared;
	const char *name;
	const char *react_to; /* publish replies when this id arrives */
	int replies;
};

static void react_cb(const struct swarm_msg *m, void *ctx)
{
	struct reactor *r = ctx;
	ks_buf_appendf(r->shared, "%s:%s,", r->name, m->id);
	if (strcmp(m->id, r->react_to) != 0)
		return;
	for (int i = 0; i < r->replies; i++) {
		struct swarm_msg reply;
		make_msg(&reply, SWARM_MSG_CRITIQUE, r->name, "", m->subject.name);
		assert_int_equal(swarm_msg_add_re(&reply, m->id, NULL), 0);
		reply.body = cJSON_CreateObject();
		cJSON_AddStringToObject(reply.body, "concern", "too fast");
		cJSON_AddStringToObject(reply.body, "severity", "low");
		publish_ok(r->bus, &reply);
		/* Recorded at once, delivered later. */
		assert_true(swarm_msg_id_valid(reply.id));
		swarm_msg_release(&reply);
	}
}

static void reentrant_order(void **state)
{
	(void)state;
	struct store *s = mem_store();
	struct bus *b = new_bus(s);
	struct ks_buf log;
	ks_buf_init(&log, KS_BUF_UNLIMITED);
	/* a replies twice to m1 (m2, m3); b replies once to m2 (m4); c only listens. */
	struct reactor ra = {.bus = b, .shared = &log, .name = "a", .react_to = "m1", .replies = 2};
	struct reactor rb = {.bus = b, .shared = &log, .name = "b", .react_to = "m2", .replies = 1};
	struct reactor rc = {.bus = b, .shared = &log, .name = "c", .react_to = "-"};
	bus_subscribe(b, NULL, react_cb, &ra);
	bus_subscribe(b, NULL, react_cb, &rb);
	bus_subscribe(b, NULL, react_cb, &rc);
	struct swarm_msg m;
	make_msg(&m, SWARM_MSG_OBSERVATION, "cost", "", "cart");
	publish_ok(b, &m);
	swarm_msg_release(&m);
	/* Breadth first: every subscriber sees m1 before anyone sees m2, and so on. */
	assert_string_equal(log.data, "a:m1,b:m1,c:m1,a:m2,b:m2,c:m2,a:m3,b:m3,c:m3,"
				      "a:m4,b:m4,c:m4,");
	ks_buf_release(&log);
	bus_free(b);
	store_close(s);
}

/* ---- subscribe / unsubscribe from callbacks ---- */

struct churn {
	struct bus *bus;
	int self_id;
	struct recorder *late; /* subscribed from the first callback */
	int calls;
};

static void churn_cb(const struct swarm_msg *m, void *ctx)
{
	struct churn *c = ctx;
	c->calls++;
	if (c->calls == 1) {
		bus_subscribe(c->bus, NULL, record_cb, c->late);
		bus_unsubscribe(c->bus, c->self_id);
		struct swarm_msg next;
		make_msg(&next, SWARM_MSG_OBSERVATION, "churn", "", m->subject.name);
		publish_ok(c->bus, &next);
		swarm_msg_release(&next);
	}
}

static void subscribe_from_callbacks(void **state)
{
	(void)state;
	struct store *s = mem_store();
	struct bus *b = new_bus(s);
	struct recorder late, after;
	recorder_init(&late, "late", NULL);
	recorder_init(&after, "after", NULL);
	struct churn c = {.bus = b, .late = &late};
	c.self_id = bus_subscribe(b, NULL, churn_cb, &c);
	bus_subscribe(b, NULL, record_cb, &after);
	struct swarm_msg m;
	make_msg(&m, SWARM_MSG_OBSERVATION, "cost", "", "cart");
	publish_ok(b, &m);
	publish_ok(b, &m); /* m3: churn is gone */
	swarm_msg_release(&m);
	assert_int_equal(c.calls, 1);
	/* late subscribed while m1 was delivered: it sees m2 (published after) on. */
	assert_string_equal(own_log(&late), "m2,m3,");
	assert_string_equal(own_log(&after), "m1,m2,m3,");
	bus_free(b);
	store_close(s);
	ks_buf_release(&late.own);
	ks_buf_release(&after.own);
}

/* ---- two publishing threads ---- */

#define PER_THREAD 400

struct publisher {
	struct bus *bus;
	const char *name;
};

static void *publish_thread(void *arg)
{
	struct publisher *p = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		struct swarm_msg m;
		make_msg(&m, SWARM_MSG_OBSERVATION, p->name, "", "cart");
		if (bus_publish(p->bus, &m, NULL))
			abort();
		swarm_msg_release(&m);
	}
	return NULL;
}

/* Replies to every 50th message with a vote, from inside the callback. */
static void voter_cb(const struct swarm_msg *m, void *ctx)
{
	if (m->type != SWARM_MSG_OBSERVATION || m->seq % 50 != 0)
		return;
	struct swarm_msg v;
	make_msg(&v, SWARM_MSG_VOTE, "voter", "", m->subject.name);
	if (bus_publish(ctx, &v, NULL))
		abort();
	swarm_msg_release(&v);
}

static void seq_cb(const struct swarm_msg *m, void *ctx)
{
	struct ks_buf *log = ctx;
	ks_buf_appendf(log, "%lld,", (long long)m->seq);
}

static int store_seq_cb(const struct swarm_msg *m, void *ctx)
{
	seq_cb(m, ctx);
	return 0;
}

static void two_threads_one_order(void **state)
{
	(void)state;
	struct tmp_db db;
	struct store *s = tmp_db_open(&db);
	struct bus *b = new_bus(s);
	struct ks_buf first, second, stored;
	ks_buf_init(&first, KS_BUF_UNLIMITED);
	ks_buf_init(&second, KS_BUF_UNLIMITED);
	ks_buf_init(&stored, KS_BUF_UNLIMITED);
	bus_subscribe(b, NULL, seq_cb, &first);
	bus_subscribe(b, NULL, voter_cb, b);
	bus_subscribe(b, NULL, seq_cb, &second);
	struct publisher pa = {.bus = b, .name = "alpha"}, pb = {.bus = b, .name = "beta"};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, publish_thread, &pa), 0);
	assert_int_equal(pthread_create(&tb, NULL, publish_thread, &pb), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);

	assert_int_equal(store_msgs_since(s, 0, 0, store_seq_cb, &stored, NULL), 0);
	/* Every seq 1..N once, in order, and the same for both subscribers and the store. */
	int64_t last = 0;
	assert_int_equal(store_last_seq(s, &last, NULL), 0);
	assert_true(last >= 2 * PER_THREAD + 2 * PER_THREAD / 50 - 2);
	struct ks_buf want;
	ks_buf_init(&want, KS_BUF_UNLIMITED);
	for (int64_t i = 1; i <= last; i++)
		ks_buf_appendf(&want, "%lld,", (long long)i);
	assert_string_equal(stored.data, want.data);
	assert_string_equal(first.data, want.data);
	assert_string_equal(second.data, want.data);
	ks_buf_release(&want);
	ks_buf_release(&first);
	ks_buf_release(&second);
	ks_buf_release(&stored);
	bus_free(b);
	store_close(s);
	tmp_db_remove(&db);
}

/* ---- failures, replay, restart ---- */

static void failing_store_delivers_nothing(void **state)
{
	(void)state;
	struct tmp_db db;
	struct store *s = tmp_db_open(&db);
	struct bus *b = new_bus(s);
	struct swarm_msg m;
	make_msg(&m, SWARM_MSG_OBSERVATION, "cost", "", "cart");
	publish_ok(b, &m); /* m1 */
	bus_free(b);
	store_close(s);

	/* A read-only transcript: publish fails, nobody hears anything. */
	char *uri = ks_asprintf("file:%s?mode=ro", db.path);
	assert_int_equal(store_open(uri, &s, NULL), 0);
	b = new_bus(s);
	struct recorder r;
	recorder_init(&r, "r", NULL);
	bus_subscribe(b, NULL, record_cb, &r);
	struct ks_err err = {0};
	assert_int_equal(bus_publish(b, &m, &err), KS_EIO);
	assert_contains(err.msg, "attempt to write a readonly database");
	assert_string_equal(m.id, "");
	assert_int_equal(r.count, 0);
	bus_free(b);
	store_close(s);
	free(uri);

	/* Another writer took the next seq: that publish fails, undelivered; the next one
	 * continues after the other writer's message. */
	assert_int_equal(store_open(db.path, &s, NULL), 0);
	b = new_bus(s);
	bus_subscribe(b, NULL, record_cb, &r);
	struct store *other = NULL;
	assert_int_equal(store_open(db.path, &other, NULL), 0);
	struct swarm_msg theirs;
	make_msg(&theirs, SWARM_MSG_OBSERVATION, "other", "", "cart");
	snprintf(theirs.id, sizeof theirs.id, "m2");
	theirs.ts = 1795255202123;
	assert_int_equal(store_append_msg(other, &theirs, NULL), 0);
	swarm_msg_release(&theirs);
	store_close(other);
	assert_int_equal(bus_publish(b, &m, &err), KS_ECONFLICT);
	assert_contains(err.msg, "UNIQUE constraint failed");
	assert_int_equal(r.count, 0);
	publish_ok(b, &m);
	assert_string_equal(m.id, "m3");
	assert_string_equal(own_log(&r), "m3,");
	swarm_msg_release(&m);
	ks_buf_release(&r.own);
	bus_free(b);
	store_close(s);
	tmp_db_remove(&db);
}

static int replay_cb(const struct swarm_msg *m, void *ctx)
{
	struct ks_buf *log = ctx;
	ks_buf_appendf(log, "%s:%s,", m->id, m->from);
	return 0;
}

static void replay_and_restart(void **state)
{
	(void)state;
	struct tmp_db db;
	struct store *s = tmp_db_open(&db);
	struct bus *b = new_bus(s);
	static const char *const agents[] = {"cost", "performance", "reliability", "orchestrator"};
	for (size_t i = 0; i < KS_ARRAY_LEN(agents); i++) {
		struct swarm_msg m;
		make_msg(&m, SWARM_MSG_OBSERVATION, agents[i], "", "cart");
		publish_ok(b, &m);
		swarm_msg_release(&m);
	}
	struct ks_buf log;
	ks_buf_init(&log, KS_BUF_UNLIMITED);
	assert_int_equal(bus_replay(b, 2, replay_cb, &log, NULL), 0);
	assert_string_equal(log.data, "m3:reliability,m4:orchestrator,");
	bus_free(b);
	store_close(s);

	/* A restarted process continues the numbering. */
	assert_int_equal(store_open(db.path, &s, NULL), 0);
	b = new_bus(s);
	struct swarm_msg m;
	make_msg(&m, SWARM_MSG_OBSERVATION, "forecasting", "", "cart");
	publish_ok(b, &m);
	assert_string_equal(m.id, "m5");
	swarm_msg_release(&m);
	ks_buf_reset(&log);
	assert_int_equal(bus_replay(b, 0, replay_cb, &log, NULL), 0);
	assert_string_equal(log.data, "m1:cost,m2:performance,m3:reliability,m4:orchestrator,"
				      "m5:forecasting,");
	ks_buf_release(&log);
	bus_free(b);
	store_close(s);
	tmp_db_remove(&db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_filters_and_recording),
		cmocka_unit_test(reentrant_order),
		cmocka_unit_test(subscribe_from_callbacks),
		cmocka_unit_test(two_threads_one_order),
		cmocka_unit_test(failing_store_delivers_nothing),
		cmocka_unit_test(replay_and_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
