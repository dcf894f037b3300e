/* sse.c — see sse.h for the states and guarantees. Locks: the hub's mutex (the client
 * list) is taken before a client's; a content reader takes only its client's, and reads the
 * store holding neither. Frames are allocated once per message and shared (refcount). */
#include "base/common.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "server/sse.h"
#include "store/store.h"
#include "swarm/msg.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

struct sse_frame {
	atomic_int refs;
	int64_t seq; /* 0 for comments */
	size_t len;
	char data[];
};

struct frame_list {
	struct sse_frame **v;
	size_t head, tail, cap; /* [head, tail) */
	size_t bytes;           /* unsent bytes in [head, tail) */
};

struct sse_client {
	struct sse_hub *hub;
	struct MHD_Connection *conn;
	struct sse_client *prev, *next;
	pthread_mutex_t mu;
	struct api_stream_filter filter;
	struct frame_list queue;   /* what the reader sends */
	size_t head_sent;          /* bytes of the head frame already sent */
	struct frame_list waiting; /* REPLAY: live frames meanwhile */
	bool waiting_overflow;     /* REPLAY: some live frames were dropped */
	bool replaying, suspended, closed;
	bool linked;               /* in the hub's list (sse_free unlinks it) */
	int64_t cursor;            /* highest seq queued (or replayed) */
};

struct sse_hub {
	struct store *store;
	int max_clients;
	pthread_mutex_t mu;
	struct sse_client *clients;
	int nclients;
	bool closing;
	size_t queue_max;
	int ping_ms;
	pthread_t pinger;
	pthread_cond_t ping_cv;
	bool stop_pinger;
	atomic_uint_fast64_t frames, dropped, replayed;
};

static struct sse_frame *frame_new(int64_t seq, const char *data, size_t len)
{
	struct sse_frame *f = ks_malloc(sizeof *f + len);
	atomic_init(&f->refs, 1);
	f->seq = seq;
	f->len = len;
	memcpy(f->data, data, len);
	return f;
}

static struct sse_frame *frame_ref(struct sse_frame *f)
{
	atomic_fetch_add(&f->refs, 1);
	return f;
}

static void frame_unref(struct sse_frame *f)
{
	if (f && atomic_fetch_sub(&f->refs, 1) == 1)
		free(f);
}

/* "id: 42\nevent: proposal\ndata: {…}\n\n"; NULL when the message does not encode. */
static struct sse_frame *frame_of_msg(const struct swarm_msg *m)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendf(&b, "id: %lld\nevent: %s\ndata: ", (long long)m->seq,
		       swarm_msg_type_name(m->type));
	struct sse_frame *f = NULL;
	if (!swarm_msg_encode(m, &b) && !ks_buf_appendstr(&b, "\n\n"))
		f = frame_new(m->seq, b.data, b.len);
	ks_buf_release(&b);
	return f;
}

static size_t list_len(const struct frame_list *l)
{
	return l->tail - l->head;
}

static void list_push(struct frame_list *l, struct sse_frame *f)
{
	if (l->tail == l->cap) {
		size_t n = list_len(l);
		if (l->head > l->cap / 2) {
			memmove(l->v, l->v + l->head, n * sizeof *l->v);
		} else {
			l->cap = l->cap ? l->cap * 2 : 16;
			struct sse_frame **v = ks_malloc(l->cap * sizeof *v);
			if (n)
				memcpy(v, l->v + l->head, n * sizeof *v);
			free(l->v);
			l->v = v;
		}
		l->head = 0;
		l->tail = n;
	}
	l->v[l->tail++] = f;
	l->bytes += f->len;
}

static struct sse_frame *list_pop(struct frame_list *l)
{
	struct sse_frame *f = l->v[l->head++];
	l->bytes -= f->len;
	if (l->head == l->tail)
		l->head = l->tail = 0;
	return f;
}

static void list_clear(struct frame_list *l)
{
	while (list_len(l))
		frame_unref(list_pop(l));
}

static void list_release(struct frame_list *l)
{
	list_clear(l);
	free(l->v);
	*l = (struct frame_list){0};
}

/* Resume the connection if the reader parked it (c->mu held). */
static void wake(struct sse_client *c)
{
	if (c->suspended) {
		c->suspended = false;
		MHD_resume_connection(c->conn);
	}
}

/* ---- REPLAY ---- */

struct replay_batch {
	const struct api_stream_filter *filter;
	struct frame_list frames;
	int64_t last_seq;
	int count;
};

static int replay_one(const struct swarm_msg *m, void *ctx)
{
	struct replay_batch *rb = ctx;
	rb->last_seq = m->seq;
	rb->count++;
	if (api_stream_filter_match(rb->filter, m)) {
		struct sse_frame *f = frame_of_msg(m);
		if (f)
			list_push(&rb->frames, f);
	}
	return 0;
}

/* Read the next batch after c->cursor and queue it; switch to LIVE when it comes back short
 * and no live frame was dropped meanwhile. A store error closes the client (the peer
 * resumes). Called by the reader without c->mu. */
static void replay_step(struct sse_client *c)
{
	struct replay_batch rb = {.filter = &c->filter};
	pthread_mutex_lock(&c->mu);
	int64_t since = c->cursor;
	pthread_mutex_unlock(&c->mu);
	struct ks_err err = {0};
	int rc = store_msgs_since(c->hub->store, since, SSE_REPLAY_BATCH, replay_one, &rb, &err);
	atomic_fetch_add(&c->hub->replayed, (uint64_t)rb.count);
	pthread_mutex_lock(&c->mu);
	if (rc) {
		KS_WARN("server", "stream replay after seq %lld: %s", (long long)since, err.msg);
		c->closed = true;
	}
	while (list_len(&rb.frames))
		list_push(&c->queue, list_pop(&rb.frames));
	if (rb.count)
		c->cursor = rb.last_seq;
	if (!rc && rb.count < SSE_REPLAY_BATCH) {
		if (c->waiting_overflow) {
			/* Dropped live frames are in the store: read on. */
			list_clear(&c->waiting);
			c->waiting_overflow = false;
		} else {
			while (list_len(&c->waiting)) {
				struct sse_frame *f = list_pop(&c->waiting);
				if (f->seq > c->cursor) {
					c->cursor = f->seq;
					list_push(&c->queue, f);
				} else {
					frame_unref(f);
				}
			}
			c->replaying = false;
		}
	}
	pthread_mutex_unlock(&c->mu);
	list_release(&rb.frames);
}

/* ---- the content reader ---- */

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_client *c = cls;
	KS_UNUSED(pos);
	for (;;) {
		pthread_mutex_lock(&c->mu);
		bool refill = c->replaying && !c->closed && !list_len(&c->queue);
		pthread_mutex_unlock(&c->mu);
		if (!refill)
			break;
		replay_step(c);
	}
	pthread_mutex_lock(&c->mu);
	if (c->closed) {
		pthread_mutex_unlock(&c->mu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	size_t n = 0;
	while (n < max && list_len(&c->queue)) {
		struct sse_frame *f = c->queue.v[c->queue.head];
		size_t take = f->len - c->head_sent;
		if (take > max - n)
			take = max - n;
		memcpy(buf + n, f->data + c->head_sent, take);
		n += take;
		c->head_sent += take;
		if (c->head_sent == f->len) {
			frame_unref(list_pop(&c->queue));
			c->head_sent = 0;
		}
	}
	if (n == 0) {
		c->suspended = true;
		MHD_suspend_connection(c->conn);
	}
	pthread_mutex_unlock(&c->mu);
	return (ssize_t)n;
}

/* The response is destroyed when its connection ends: unlink and free the client. */
static void sse_free(void *cls)
{
	struct sse_client *c = cls;
	struct sse_hub *h = c->hub;
	pthread_mutex_lock(&h->mu);
	if (c->linked) {
		if (c->prev)
			c->prev->next = c->next;
		else
			h->clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
		h->nclients--;
	}
	pthread_mutex_unlock(&h->mu);
	list_release(&c->queue);
	list_release(&c->waiting);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

struct MHD_Response *sse_open(struct sse_hub *h, struct MHD_Connection *conn, int64_t since,
			      const struct api_stream_filter *f, struct ks_err *err)
{
	static const char hello[] = ": kswarm stream\n\n";
	struct sse_client *c = ks_calloc(1, sizeof *c);
	c->hub = h;
	c->conn = conn;
	c->filter = *f;
	c->replaying = since >= 0;
	c->cursor = since >= 0 ? since : 0;
	pthread_mutex_init(&c->mu, NULL);
	list_push(&c->queue, frame_new(0, hello, sizeof hello - 1));
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
								   sse_read, c, sse_free);
	if (!r) {
		list_release(&c->queue);
		pthread_mutex_destroy(&c->mu);
		free(c);
		ks_err_set(err, KS_EIO, "cannot create the stream response");
		return NULL;
	}
	pthread_mutex_lock(&h->mu);
	int rc = h->closing			 ? KS_ECANCELED
		 : h->nclients >= h->max_clients ? KS_ETOOBIG
						 : 0;
	if (!rc) {
		c->next = h->clients;
		if (h->clients)
			h->clients->prev = c;
		h->clients = c;
		h->nclients++;
		c->linked = true;
	}
	pthread_mutex_unlock(&h->mu);
	if (rc) {
		ks_err_set(err, rc, rc == KS_ETOOBIG ? "too many stream clients (%d)"
						     : "the server is stopping (%d clients)",
			   h->max_clients);
		MHD_destroy_response(r); /* sse_free frees the unlinked client */
		return NULL;
	}
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	return r;
}

void sse_hub_publish(const struct swarm_msg *m, void *ctx)
{
	struct sse_hub *h = ctx;
	struct sse_frame *f = NULL;
	bool encoded = false;
	pthread_mutex_lock(&h->mu);
	for (struct sse_client *c = h->clients; c; c = c->next) {
		if (!api_stream_filter_match(&c->filter, m))
			continue;
		if (!encoded) {
			f = frame_of_msg(m);
			encoded = true;
			if (!f) {
				KS_WARN("server", "stream: message %s does not encode", m->id);
				break;
			}
		}
		pthread_mutex_lock(&c->mu);
		if (c->closed) {
			/* nothing */
		} else if (c->replaying) {
			if (list_len(&c->waiting) >= h->queue_max) {
				list_clear(&c->waiting);
				c->waiting_overflow = true;
			} else if (!c->waiting_overflow) {
				list_push(&c->waiting, frame_ref(f));
			}
		} else if (m->seq > c->cursor) {
			c->cursor = m->seq;
			list_push(&c->queue, frame_ref(f));
			atomic_fetch_add(&h->frames, 1);
			if (list_len(&c->queue) > h->queue_max ||
			    c->queue.bytes > SSE_CLIENT_BYTES_MAX) {
				c->closed = true;
				atomic_fetch_add(&h->dropped, 1);
				KS_INFO("server",
					"stream client %zu messages behind: closed (it resumes "
					"with Last-Event-ID)",
					list_len(&c->queue));
			}
			wake(c);
		}
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&h->mu);
	frame_unref(f);
}

/* ---- pings ---- */

static void ping_all(struct sse_hub *h)
{
	static const char ping[] = ": ping\n\n";
	struct sse_frame *f = frame_new(0, ping, sizeof ping - 1);
	pthread_mutex_lock(&h->mu);
	for (struct sse_client *c = h->clients; c; c = c->next) {
		pthread_mutex_lock(&c->mu);
		if (!c->closed && !c->replaying && !list_len(&c->queue)) {
			list_push(&c->queue, frame_ref(f));
			wake(c);
		}
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&h->mu);
	frame_unref(f);
}

static void *pinger(void *arg)
{
	struct sse_hub *h = arg;
	pthread_mutex_lock(&h->mu);
	while (!h->stop_pinger) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		int64_t ns = until.tv_nsec + (int64_t)h->ping_ms * 1000000;
		until.tv_sec += (time_t)(ns / 1000000000);
		until.tv_nsec = (long)(ns % 1000000000);
		if (pthread_cond_timedwait(&h->ping_cv, &h->mu, &until) == ETIMEDOUT &&
		    !h->stop_pinger) {
			pthread_mutex_unlock(&h->mu);
			ping_all(h);
			pthread_mutex_lock(&h->mu);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct sse_hub *sse_hub_new(struct store *store, int max_clients)
{
	struct sse_hub *h = ks_calloc(1, sizeof *h);
	h->store = store;
	h->max_clients = max_clients;
	h->queue_max = SSE_CLIENT_QUEUE_MAX;
	h->ping_ms = SSE_PING_MS;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->ping_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_create(&h->pinger, NULL, pinger, h);
	return h;
}

void sse_hub_tune(struct sse_hub *h, int ping_ms, size_t queue_max)
{
	pthread_mutex_lock(&h->mu);
	h->ping_ms = ping_ms;
	h->queue_max = queue_max;
	pthread_cond_signal(&h->ping_cv);
	pthread_mutex_unlock(&h->mu);
}

void sse_hub_close_all(struct sse_hub *h)
{
	pthread_mutex_lock(&h->mu);
	h->closing = true;
	for (struct sse_client *c = h->clients; c; c = c->next) {
		pthread_mutex_lock(&c->mu);
		c->closed = true;
		wake(c);
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&h->mu);
}

void sse_hub_get_stats(struct sse_hub *h, struct sse_hub_stats *out)
{
	pthread_mutex_lock(&h->mu);
	out->clients = h->nclients;
	pthread_mutex_unlock(&h->mu);
	out->frames = atomic_load(&h->frames);
	out->dropped = atomic_load(&h->dropped);
	out->replayed = atomic_load(&h->replayed);
}

void sse_hub_free(struct sse_hub *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop_pinger = true;
	pthread_cond_signal(&h->ping_cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->pinger, NULL);
	pthread_cond_destroy(&h->ping_cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
