/* narrate.c — see narrate.h.
 *
 * One message's way through the narrator:
 *
 *   QUEUED     on_msg (in the publishing thread) copies what the prompt needs into a
 *              bounded FIFO; a full queue drops the oldest waiting message, and while the
 *              narrator is PAUSED nothing is queued (both counted as dropped).
 *   STREAMING  the worker thread asks the LLM; each token goes to the sink as it arrives.
 *   DONE       the whole explanation is published as an observation from "llm".
 *   FAILED     the sink is told; the log says why once per outage (not once per message).
 *              After NARRATE_FAILS_BEFORE_PAUSE failures in a row the narrator is PAUSED for
 *              NARRATE_PAUSE_S and what waits is dropped, so that a dead LLM does not cost a
 *              timeout per message; after a pause one more failure pauses it again. The
 *              first success after failures says the LLM is back.
 *
 * narrator_free sets the stop flag and the request's cancel flag (llm.h), so the worker
 * ends within LLM_CANCEL_POLL_MS even in the middle of an answer. */
#include "base/common.h"
#include "daemon/narrate.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/termsafe.h"
#include "base/timeutil.h"
#include "llm/llm.h"
#include "swarm/bus.h"
#include "swarm/msg.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "narrate"

static const char SYSTEM_PROMPT[] =
	"You are the narrator of kswarm, a swarm of agents that keeps a Kubernetes cluster "
	"healthy and cheap, for the SREs watching it. Explain the agent's message below in two "
	"or three short, plain sentences: what it means and why it matters. Use only the facts "
	"it states and add none; keep its numbers, ids and names as written. No lists, no "
	"markdown.";

struct item {
	int64_t seq;
	char id[SWARM_MSG_ID_MAX];
	char cluster[SWARM_MSG_AGENT_MAX];
	struct swarm_subject subject;
	char *prompt; /* owned: the user message */
};

struct narrator {
	struct bus *bus;
	const struct llm_config *llm;
	struct narrate_sink sink;
	bool have_sink;
	int sub;
	pthread_t worker;
	bool started;

	pthread_mutex_t mu;
	pthread_cond_t cv;   /* work queued, or stop */
	pthread_cond_t idle; /* the queue emptied and nothing is being explained */
	struct item queue[NARRATE_QUEUE_MAX];
	size_t head, len;
	bool busy;
	bool stop;
	atomic_bool cancel;
	int fails_in_row;
	int64_t paused_until_ms; /* monotonic; 0: not paused */
	struct narrate_stats stats;
};

static void item_release(struct item *it)
{
	free(it->prompt);
	it->prompt = NULL;
}

static char *prompt_of(const struct swarm_msg *m)
{
	const struct swarm_subject *s = &m->subject;
	char subject[SWARM_MSG_KIND_MAX + SWARM_MSG_NS_MAX + SWARM_MSG_NAME_MAX + 4] = "none";
	if (s->kind[0] || s->name[0])
		snprintf(subject, sizeof subject, "%s %s%s%s", s->kind, s->namespace,
			 s->namespace[0] ? "/" : "", s->name);
	return ks_asprintf("type: %s\nfrom: %s\nsubject: %s\ntext: %s",
			   swarm_msg_type_name(m->type), m->from, subject, m->text);
}

static void on_msg(const struct swarm_msg *m, void *ctx)
{
	struct narrator *n = ctx;
	pthread_mutex_lock(&n->mu);
	if (n->stop || (n->paused_until_ms && ks_mono_ms() < n->paused_until_ms)) {
		n->stats.dropped++;
		pthread_mutex_unlock(&n->mu);
		return;
	}
	if (n->len == NARRATE_QUEUE_MAX) {
		item_release(&n->queue[n->head]);
		n->head = (n->head + 1) % NARRATE_QUEUE_MAX;
		n->len--;
		n->stats.dropped++;
	}
	struct item *it = &n->queue[(n->head + n->len) % NARRATE_QUEUE_MAX];
	*it = (struct item){.seq = m->seq, .subject = m->subject, .prompt = prompt_of(m)};
	snprintf(it->id, sizeof it->id, "%s", m->id);
	snprintf(it->cluster, sizeof it->cluster, "%s", m->cluster);
	n->len++;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

static void on_token(void *ctx, size_t index, const char *text, size_t len)
{
	(void)index;
	struct narrator *n = ctx;
	if (n->have_sink)
		n->sink.token(n->sink.ctx, text, len);
}

/* The LLM's answer as a message text: terminal-safe on one line (ks_termsafe), trimmed,
 * at most SWARM_MSG_TEXT_MAX - 1 bytes cut at a character boundary. NULL when nothing is
 * left. */
static char *answer_text(const struct ks_buf *answer)
{
	struct ks_termsafe t;
	ks_termsafe_init(&t);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_termsafe_feed(&t, answer->data ? answer->data : "", answer->len, &b);
	size_t len = b.len;
	while (len && b.data[len - 1] == ' ')
		len--;
	char *text = len ? ks_strndup(b.data, len) : NULL;
	ks_buf_release(&b);
	if (text)
		swarm_msg_fit_text(text);
	return text;
}

static void publish(struct narrator *n, const struct item *it, char *text)
{
	struct swarm_msg m = {.type = SWARM_MSG_OBSERVATION, .subject = it->subject, .text = text};
	snprintf(m.from, sizeof m.from, "llm");
	snprintf(m.cluster, sizeof m.cluster, "%s", it->cluster);
	swarm_msg_add_re(&m, it->id, NULL);
	m.body = cJSON_CreateObject();
	cJSON_AddStringToObject(m.body, "explains", it->id);
	cJSON_AddStringToObject(m.body, "worded_by", n->llm->model ? n->llm->model : "llm");
	cJSON_AddBoolToObject(m.body, "streamed", n->have_sink);
	struct ks_err err = {0};
	if (bus_publish(n->bus, &m, &err))
		KS_WARN(MOD, "the explanation of %s could not be published: %s", it->id, err.msg);
	swarm_msg_release(&m); /* frees text */
}

/* A failure: said once per outage, and a pause after too many in a row. */
static void failed(struct narrator *n, const struct item *it, const struct ks_err *err)
{
	pthread_mutex_lock(&n->mu);
	n->stats.failed++;
	int fails = ++n->fails_in_row;
	/* after a pause, one more failure (the LLM is still down) pauses again */
	bool pause = fails >= NARRATE_FAILS_BEFORE_PAUSE && !n->stop;
	size_t dropped = 0;
	if (pause) {
		n->paused_until_ms = ks_mono_ms() + (int64_t)NARRATE_PAUSE_S * 1000;
		for (; n->len; n->len--, dropped++) {
			item_release(&n->queue[n->head]);
			n->head = (n->head + 1) % NARRATE_QUEUE_MAX;
		}
		n->stats.dropped += dropped;
	}
	pthread_mutex_unlock(&n->mu);
	if (fails == 1)
		KS_WARN(MOD, "the LLM did not explain %s: %s (the swarm goes on without it)",
			it->id, err->msg[0] ? err->msg : "empty answer");
	if (pause && fails == NARRATE_FAILS_BEFORE_PAUSE)
		KS_WARN(MOD, "the LLM failed %d times in a row: no explanations for %d s at a time "
			"until it answers again (%zu waiting dropped)", fails, NARRATE_PAUSE_S,
			dropped);
}

static void explain(struct narrator *n, struct item *it)
{
	struct llm_message msgs[] = {
		{.role = "system", .content = SYSTEM_PROMPT},
		{.role = "user", .content = it->prompt},
	};
	struct llm_request rq = {.messages = msgs,
				 .n_messages = 2,
				 .on_token = on_token,
				 .ctx = n,
				 .cancel = &n->cancel};
	if (n->have_sink)
		n->sink.begin(n->sink.ctx, it->seq, it->id);
	struct ks_err err = {0};
	int rc = llm_run(n->llm, &rq, 1, &err);
	char *text = rc ? NULL : answer_text(&rq.text);
	if (n->have_sink)
		n->sink.end(n->sink.ctx, text != NULL, rc ? err.msg : "the LLM said nothing");
	if (text) {
		publish(n, it, text);
		pthread_mutex_lock(&n->mu);
		bool back = n->fails_in_row >= 1;
		n->fails_in_row = 0;
		n->paused_until_ms = 0;
		n->stats.explained++;
		pthread_mutex_unlock(&n->mu);
		if (back)
			KS_INFO(MOD, "the LLM explains again");
	} else if (rc != KS_ECANCELED) {
		failed(n, it, &err);
	}
	llm_request_release(&rq);
}

static void *worker(void *arg)
{
	struct narrator *n = arg;
	pthread_mutex_lock(&n->mu);
	for (;;) {
		while (!n->stop && !n->len)
			pthread_cond_wait(&n->cv, &n->mu);
		if (n->stop)
			break;
		struct item it = n->queue[n->head];
		n->head = (n->head + 1) % NARRATE_QUEUE_MAX;
		n->len--;
		n->busy = true;
		pthread_mutex_unlock(&n->mu);
		explain(n, &it);
		item_release(&it);
		pthread_mutex_lock(&n->mu);
		n->busy = false;
		if (!n->len)
			pthread_cond_broadcast(&n->idle);
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

int narrator_new(struct bus *b, const struct llm_config *llm, const struct narrate_sink *sink,
		 struct narrator **out, struct ks_err *err)
{
	struct narrator *n = ks_calloc(1, sizeof *n);
	n->bus = b;
	n->llm = llm;
	if (sink) {
		n->sink = *sink;
		n->have_sink = true;
	}
	atomic_init(&n->cancel, false);
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	pthread_cond_init(&n->idle, NULL);
	int rc = pthread_create(&n->worker, NULL, worker, n);
	if (rc) {
		narrator_free(n);
		return ks_err_set(err, KS_EIO, "narrator: starting its thread: %s", strerror(rc));
	}
	n->started = true;
	struct bus_filter f = {.types = BUS_TYPE_BIT(SWARM_MSG_DIAGNOSIS) |
					BUS_TYPE_BIT(SWARM_MSG_DECISION) |
					BUS_TYPE_BIT(SWARM_MSG_VETO) |
					BUS_TYPE_BIT(SWARM_MSG_ROLLBACK) |
					BUS_TYPE_BIT(SWARM_MSG_OUTCOME)};
	n->sub = bus_subscribe(b, &f, on_msg, n);
	*out = n;
	return 0;
}

bool narrator_drain(struct narrator *n, int timeout_ms)
{
	int64_t deadline = ks_mono_ms() + timeout_ms;
	pthread_mutex_lock(&n->mu);
	while ((n->len || n->busy) && ks_mono_ms() < deadline) {
		struct timespec ts = ks_timespec_in_ms(CLOCK_REALTIME, 50);
		pthread_cond_timedwait(&n->idle, &n->mu, &ts);
	}
	bool idle = !n->len && !n->busy;
	pthread_mutex_unlock(&n->mu);
	return idle;
}

void narrator_stats(struct narrator *n, struct narrate_stats *out)
{
	pthread_mutex_lock(&n->mu);
	*out = n->stats;
	pthread_mutex_unlock(&n->mu);
}

void narrator_free(struct narrator *n)
{
	if (!n)
		return;
	if (n->started)
		bus_unsubscribe(n->bus, n->sub);
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	atomic_store(&n->cancel, true);
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
	if (n->started)
		pthread_join(n->worker, NULL);
	for (; n->len; n->len--) {
		item_release(&n->queue[n->head]);
		n->head = (n->head + 1) % NARRATE_QUEUE_MAX;
	}
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	pthread_cond_destroy(&n->idle);
	free(n);
}
