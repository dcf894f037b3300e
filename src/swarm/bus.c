/* bus.c — see bus.h for the guarantees. How they are kept:
 * - One mutex (mu) covers the sequence counter, the store append, the delivery queue and the
 *   subscriber list. bus_publish records and enqueues under it, so the queue is in seq order.
 * - At most one thread delivers at a time (`delivering`, `deliverer`). It drains the queue
 *   front to back, releasing mu around each callback; messages published meanwhile (by its
 *   own callbacks or by other threads) land at the back of the queue, so they are delivered
 *   after the current one, to every subscriber, in seq order.
 * - A thread that publishes while another delivers waits on `idle`; by then its message has
 *   been delivered by the other thread (the deliverer empties the queue before it stops).
 * - Subscribers live in an array of pointers; unsubscribe only marks them dead while a
 *   delivery runs (indexes stay valid) and the array is compacted when none runs. */
#include "base/common.h"
#include "base/timeutil.h"
#include "store/store.h"
#include "swarm/bus.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct bus_sub {
	int id;
	bool dead;
	int64_t from_seq; /* first seq this subscriber may see */
	uint32_t types;
	char *to, *kind, *namespace, *name; /* NULL: any */
	bus_cb cb;
	void *ctx;
};

struct bus {
	struct store *store;
	pthread_mutex_t mu;
	pthread_cond_t idle;
	int64_t next_seq;
	struct bus_sub **subs;
	size_t nsubs, subs_cap;
	int last_sub_id;
	bool has_dead;
	struct swarm_msg *queue; /* [qhead, qlen) waits for delivery */
	size_t qhead, qlen, qcap;
	bool delivering;
	pthread_t deliverer;
};

static char *dup_or_null(const char *s)
{
	return s && *s ? ks_strdup(s) : NULL;
}

static void sub_free(struct bus_sub *s)
{
	free(s->to);
	free(s->kind);
	free(s->namespace);
	free(s->name);
	free(s);
}

int bus_new(struct store *store, struct bus **out, struct ks_err *err)
{
	int64_t last = 0;
	*out = NULL;
	int rc = store_last_seq(store, &last, err);
	if (rc)
		return rc;
	struct bus *b = ks_calloc(1, sizeof *b);
	b->store = store;
	b->next_seq = last + 1;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->idle, NULL);
	*out = b;
	return 0;
}

void bus_free(struct bus *b)
{
	if (!b)
		return;
	for (size_t i = b->qhead; i < b->qlen; i++)
		swarm_msg_release(&b->queue[i]);
	free(b->queue);
	for (size_t i = 0; i < b->nsubs; i++)
		sub_free(b->subs[i]);
	free(b->subs);
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

/* Drop dead subscribers; only when no delivery runs (mu held). */
static void compact_subs(struct bus *b)
{
	if (!b->has_dead || b->delivering)
		return;
	size_t n = 0;
	for (size_t i = 0; i < b->nsubs; i++) {
		if (b->subs[i]->dead)
			sub_free(b->subs[i]);
		else
			b->subs[n++] = b->subs[i];
	}
	b->nsubs = n;
	b->has_dead = false;
}

int bus_subscribe(struct bus *b, const struct bus_filter *filter, bus_cb cb, void *ctx)
{
	struct bus_filter none = {0};
	const struct bus_filter *f = filter ? filter : &none;
	struct bus_sub *s = ks_calloc(1, sizeof *s);
	*s = (struct bus_sub){
		.types = f->types,
		.to = f->to ? ks_strdup(f->to) : NULL,
		.kind = dup_or_null(f->kind),
		.namespace = dup_or_null(f->namespace),
		.name = dup_or_null(f->name),
		.cb = cb,
		.ctx = ctx,
	};
	pthread_mutex_lock(&b->mu);
	s->id = ++b->last_sub_id;
	s->from_seq = b->next_seq;
	b->subs = ks_grow(b->subs, sizeof *b->subs, b->nsubs + 1, &b->subs_cap);
	b->subs[b->nsubs++] = s;
	int id = s->id;
	pthread_mutex_unlock(&b->mu);
	return id;
}

void bus_unsubscribe(struct bus *b, int id)
{
	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < b->nsubs; i++) {
		if (b->subs[i]->id == id) {
			b->subs[i]->dead = true;
			b->has_dead = true;
		}
	}
	compact_subs(b);
	pthread_mutex_unlock(&b->mu);
}

static bool matches(const struct bus_sub *s, const struct swarm_msg *m)
{
	if (s->dead || m->seq < s->from_seq)
		return false;
	if (s->types && !(s->types & BUS_TYPE_BIT(m->type)))
		return false;
	if (s->to && m->to[0] && strcmp(s->to, m->to) != 0)
		return false;
	return (!s->kind || strcmp(s->kind, m->subject.kind) == 0) &&
	       (!s->namespace || strcmp(s->namespace, m->subject.namespace) == 0) &&
	       (!s->name || strcmp(s->name, m->subject.name) == 0);
}

/* Deliver the queue until it is empty; called with mu held, returns with mu held. */
static void deliver_queue(struct bus *b)
{
	b->delivering = true;
	b->deliverer = pthread_self();
	while (b->qhead < b->qlen) {
		struct swarm_msg m = b->queue[b->qhead];
		b->queue[b->qhead++] = (struct swarm_msg){0};
		for (size_t i = 0; i < b->nsubs; i++) {
			struct bus_sub *s = b->subs[i];
			if (!matches(s, &m))
				continue;
			pthread_mutex_unlock(&b->mu);
			s->cb(&m, s->ctx);
			pthread_mutex_lock(&b->mu);
		}
		swarm_msg_release(&m);
	}
	b->qhead = b->qlen = 0;
	b->delivering = false;
	compact_subs(b);
	pthread_cond_broadcast(&b->idle);
}

int bus_publish(struct bus *b, struct swarm_msg *m, struct ks_err *err)
{
	int rc = swarm_msg_check_body(m, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&b->mu);
	m->seq = b->next_seq;
	snprintf(m->id, sizeof m->id, "m%lld", (long long)m->seq);
	if (m->ts == 0)
		m->ts = ks_time_now_ms();
	rc = store_append_msg(b->store, m, err);
	if (rc) {
		/* Another writer may have taken the seq: continue after the transcript's last. */
		int64_t last;
		if (store_last_seq(b->store, &last, NULL) == 0 && last >= b->next_seq)
			b->next_seq = last + 1;
		m->seq = 0;
		m->id[0] = '\0';
		pthread_mutex_unlock(&b->mu);
		return rc;
	}
	b->next_seq++;
	b->queue = ks_grow(b->queue, sizeof *b->queue, b->qlen + 1, &b->qcap);
	swarm_msg_copy(&b->queue[b->qlen++], m);
	if (b->delivering && pthread_equal(b->deliverer, pthread_self())) {
		pthread_mutex_unlock(&b->mu); /* re-entrant: the loop below us delivers it */
		return 0;
	}
	while (b->delivering)
		pthread_cond_wait(&b->idle, &b->mu);
	if (b->qhead < b->qlen)
		deliver_queue(b);
	pthread_mutex_unlock(&b->mu);
	return 0;
}

int bus_replay(struct bus *b, int64_t since_seq, int (*cb)(const struct swarm_msg *m, void *ctx),
	       void *ctx, struct ks_err *err)
{
	return store_msgs_since(b->store, since_seq, 0, cb, ctx, err);
}
