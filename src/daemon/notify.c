/* notify.c — notifications to Slack and generic webhooks (notify.h): the bus callback keeps
 * the de-duplication state and the rate limits and queues rendered payloads; one worker
 * thread POSTs them with retries. Ownership: the notifier owns copies of the sinks' URL,
 * token and headers, the queue and the dedup map (keys -> heap uint64 fingerprints). */
#include "base/common.h"
#include "daemon/notify.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/curlopt.h"
#include "base/err.h"
#include "base/fileutil.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "swarm/bus.h"
#include "swarm/msg.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEDUP_MAX 10000 /* subjects and plans remembered; past it the memory starts over */

void notify_sink_release(struct notify_sink *s)
{
	free(s->url);
	free(s->url_file);
	free(s->token_file);
	for (size_t i = 0; i < s->nheaders; i++)
		free(s->headers[i]);
	*s = (struct notify_sink){0};
}

const char *notify_kind_name(enum notify_kind k)
{
	return k == NOTIFY_SLACK ? "slack" : "webhook";
}

struct delivery {
	struct delivery *next;
	size_t sink;
	char *payload;
	int attempts;
	int64_t due_ms; /* monotonic */
};

struct sink_state {
	enum notify_kind kind;
	char *url, *token;
	struct curl_slist *headers;
	int per_minute;
	double tokens;        /* the rate limit's bucket */
	int64_t refilled_ms;
	struct notify_stats stats;
};

struct notifier {
	struct notify_opts o;
	struct sink_state *sinks;
	size_t nsinks;
	struct bus *bus;
	int sub_id;
	pthread_mutex_t mu;
	pthread_cond_t cv;    /* queue changed, or stop */
	pthread_cond_t idle;  /* queue empty and nothing in flight */
	struct delivery *queue;
	size_t queued, inflight;
	bool stop;
	pthread_t worker;
	struct ks_map dedup;  /* "d|kind|ns|name" -> text hash; "a|p3", "o|p3" -> 1 */
};

bool notify_wants(const struct swarm_msg *m)
{
	return m->type == SWARM_MSG_DIAGNOSIS || m->type == SWARM_MSG_APPROVAL_REQUEST ||
	       m->type == SWARM_MSG_OUTCOME;
}

/* ---- rendering ---- */

/* Slack's mrkdwn escapes: &, <, >. */
static void slack_escape(struct ks_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			ks_buf_appendstr(b, "&amp;");
		else if (*s == '<')
			ks_buf_appendstr(b, "&lt;");
		else if (*s == '>')
			ks_buf_appendstr(b, "&gt;");
		else
			ks_buf_appendc(b, *s);
	}
}

static void subject_text(const struct swarm_msg *m, struct ks_buf *b)
{
	const struct swarm_subject *s = &m->subject;
	if (!s->kind[0] && !s->name[0])
		return;
	ks_buf_appendf(b, "%s %s%s%s", s->kind, s->namespace, s->namespace[0] ? "/" : "", s->name);
}

/* "Finding on Deployment analytics/report-builder", "Plan p3 awaits approval",
 * "Plan p3 succeeded". */
static void headline(const struct swarm_msg *m, struct ks_buf *b)
{
	const char *plan = ks_json_str_or(m->body, "plan_id", "");
	if (m->type == SWARM_MSG_DIAGNOSIS) {
		ks_buf_appendstr(b, "Finding on ");
		subject_text(m, b);
	} else if (m->type == SWARM_MSG_APPROVAL_REQUEST) {
		ks_buf_appendf(b, "Plan %s awaits approval", plan);
	} else {
		const char *r = ks_json_str_or(m->body, "result", "");
		ks_buf_appendf(b, "Plan %s %s", plan,
			       !strcmp(r, "rolled_back") ? "was rolled back" : r);
	}
}

int notify_render(enum notify_kind kind, const struct swarm_msg *m, struct ks_buf *out)
{
	if (kind == NOTIFY_WEBHOOK)
		return swarm_msg_encode(m, out);
	struct ks_buf head, text, ctx;
	ks_buf_init(&head, KS_BUF_UNLIMITED);
	ks_buf_init(&text, KS_BUF_UNLIMITED);
	ks_buf_init(&ctx, KS_BUF_UNLIMITED);
	headline(m, &head);
	/* the plain fallback (notifications, clients without blocks) */
	ks_buf_appendf(&text, "kswarm [%s] ", m->cluster[0] ? m->cluster : "cluster");
	slack_escape(&text, head.data ? head.data : "");
	ks_buf_appendstr(&text, ": ");
	slack_escape(&text, m->text ? m->text : "");
	/* the section: the headline in bold, the sentence below */
	struct ks_buf section;
	ks_buf_init(&section, KS_BUF_UNLIMITED);
	ks_buf_appendc(&section, '*');
	slack_escape(&section, head.data ? head.data : "");
	ks_buf_appendstr(&section, "*\n");
	slack_escape(&section, m->text ? m->text : "");
	char ts[40] = "";
	ks_time_format_rfc3339_ms(m->ts, ts, sizeof ts);
	ks_buf_appendf(&ctx, "cluster %s · from %s · %s · %s", m->cluster[0] ? m->cluster : "-",
		       m->from, m->id[0] ? m->id : "-", ts);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "text", text.data ? text.data : "");
	cJSON *blocks = cJSON_AddArrayToObject(j, "blocks");
	cJSON *sec = cJSON_CreateObject();
	cJSON_AddStringToObject(sec, "type", "section");
	cJSON *st = cJSON_AddObjectToObject(sec, "text");
	cJSON_AddStringToObject(st, "type", "mrkdwn");
	cJSON_AddStringToObject(st, "text", section.data ? section.data : "");
	cJSON_AddItemToArray(blocks, sec);
	cJSON *cx = cJSON_CreateObject();
	cJSON_AddStringToObject(cx, "type", "context");
	cJSON *els = cJSON_AddArrayToObject(cx, "elements");
	cJSON *el = cJSON_CreateObject();
	cJSON_AddStringToObject(el, "type", "mrkdwn");
	cJSON_AddStringToObject(el, "text", ctx.data ? ctx.data : "");
	cJSON_AddItemToArray(els, el);
	cJSON_AddItemToArray(blocks, cx);
	char *s = ks_json_print(j);
	int rc = ks_buf_appendstr(out, s);
	free(s);
	cJSON_Delete(j);
	ks_buf_release(&head);
	ks_buf_release(&text);
	ks_buf_release(&ctx);
	ks_buf_release(&section);
	return rc;
}

/* ---- delivery ---- */

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* One POST: 0 delivered, 1 worth retrying (network, 429, 5xx), -1 not (other statuses). */
static int post(const struct notifier *n, const struct sink_state *s, const char *payload,
		size_t sink_index)
{
	CURL *e = curl_easy_init();
	if (!e)
		return 1;
	char errbuf[CURL_ERROR_SIZE] = "";
	ks_curl_defaults(e, s->url, n->o.timeout_ms, errbuf);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	CURLcode cc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	if (cc != CURLE_OK) {
		/* errbuf may quote the URL: not logged */
		KS_WARN("notify", "sink %zu (%s): %s", sink_index, notify_kind_name(s->kind),
			curl_easy_strerror(cc));
		return 1;
	}
	if (status >= 200 && status < 300)
		return 0;
	KS_WARN("notify", "sink %zu (%s): HTTP %ld", sink_index, notify_kind_name(s->kind),
		status);
	return status == 429 || status >= 500 ? 1 : -1;
}

static void free_delivery(struct delivery *d)
{
	free(d->payload);
	free(d);
}

static void *worker_main(void *arg)
{
	struct notifier *n = arg;
	pthread_mutex_lock(&n->mu);
	while (!n->stop) {
		struct delivery **best = NULL;
		for (struct delivery **p = &n->queue; *p; p = &(*p)->next)
			if (!best || (*p)->due_ms < (*best)->due_ms)
				best = p;
		int64_t now = ks_mono_ms();
		if (!best || (*best)->due_ms > now) {
			int64_t wait_ms = best ? (*best)->due_ms - now : 60000;
			struct timespec ts = ks_timespec_in_ms(CLOCK_MONOTONIC, wait_ms);
			pthread_cond_timedwait(&n->cv, &n->mu, &ts);
			continue;
		}
		struct delivery *d = *best;
		*best = d->next;
		n->queued--;
		n->inflight++;
		struct sink_state *s = &n->sinks[d->sink];
		pthread_mutex_unlock(&n->mu);
		int rc = post(n, s, d->payload, d->sink);
		pthread_mutex_lock(&n->mu);
		n->inflight--;
		d->attempts++;
		if (rc == 0) {
			s->stats.delivered++;
			free_delivery(d);
		} else if (rc > 0 && d->attempts < n->o.max_attempts && !n->stop) {
			int64_t delay = n->o.backoff_ms;
			for (int i = 1; i < d->attempts && delay < n->o.max_backoff_ms; i++)
				delay *= 2;
			if (delay > n->o.max_backoff_ms)
				delay = n->o.max_backoff_ms;
			d->due_ms = ks_mono_ms() + delay;
			d->next = n->queue;
			n->queue = d;
			n->queued++;
			s->stats.retried++;
		} else {
			s->stats.failed++;
			KS_WARN("notify", "sink %zu (%s): gave up after %d attempt(s)", d->sink,
				notify_kind_name(s->kind), d->attempts);
			free_delivery(d);
		}
		if (!n->queued && !n->inflight)
			pthread_cond_broadcast(&n->idle);
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

/* ---- set-up ---- */

int notifier_new(const struct notify_sink *sinks, size_t nsinks, const struct notify_opts *o,
		 struct notifier **out, struct ks_err *err)
{
	struct notifier *n = ks_calloc(1, sizeof *n);
	n->o = o ? *o : (struct notify_opts){0};
	if (n->o.max_attempts <= 0)
		n->o.max_attempts = 5;
	if (n->o.backoff_ms <= 0)
		n->o.backoff_ms = 1000;
	if (n->o.max_backoff_ms <= 0)
		n->o.max_backoff_ms = 60000;
	if (n->o.timeout_ms <= 0)
		n->o.timeout_ms = 5000;
	if (!n->o.queue_max)
		n->o.queue_max = 1000;
	n->sinks = ks_calloc(nsinks ? nsinks : 1, sizeof *n->sinks);
	n->nsinks = nsinks;
	ks_map_init(&n->dedup);
	pthread_mutex_init(&n->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&n->idle, NULL);
	int rc = 0;
	for (size_t i = 0; i < nsinks && !rc; i++) {
		struct sink_state *s = &n->sinks[i];
		const struct notify_sink *c = &sinks[i];
		s->kind = c->kind;
		s->per_minute = c->per_minute > 0 ? c->per_minute : NOTIFY_DEFAULT_PER_MINUTE;
		s->tokens = s->per_minute;
		s->refilled_ms = ks_mono_ms();
		if (c->url)
			s->url = ks_strdup(c->url);
		else if (c->url_file)
			rc = ks_read_secret_line(c->url_file, "notify: url_file", 8192, &s->url, err);
		else
			rc = ks_err_set(err, KS_EINVAL, "notify[%zu]: no url", i);
		if (!rc && strncmp(s->url, "http://", 7) && strncmp(s->url, "https://", 8))
			rc = ks_err_set(err, KS_EINVAL, "notify[%zu]: the URL is not http(s)", i);
		if (!rc && c->token_file)
			rc = ks_read_secret_line(c->token_file, "notify: token_file", 8192, &s->token, err);
		s->headers = curl_slist_append(NULL, "Content-Type: application/json");
		for (size_t h = 0; !rc && h < c->nheaders; h++)
			s->headers = curl_slist_append(s->headers, c->headers[h]);
		if (!rc && s->token) {
			char *auth = ks_asprintf("Authorization: Bearer %s", s->token);
			s->headers = curl_slist_append(s->headers, auth);
			memset(auth, 0, strlen(auth));
			free(auth);
		}
	}
	if (!rc && pthread_create(&n->worker, NULL, worker_main, n))
		rc = ks_err_set(err, KS_EIO, "notify: cannot start the worker thread");
	if (rc) {
		n->nsinks = nsinks; /* release what was set up; no worker runs */
		n->stop = true;
		n->worker = 0;
		for (size_t i = 0; i < nsinks; i++) {
			free(n->sinks[i].url);
			free(n->sinks[i].token);
			curl_slist_free_all(n->sinks[i].headers);
		}
		free(n->sinks);
		ks_map_release(&n->dedup);
		pthread_mutex_destroy(&n->mu);
		pthread_cond_destroy(&n->cv);
		pthread_cond_destroy(&n->idle);
		free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void notifier_detach(struct notifier *n)
{
	if (n && n->bus && n->sub_id > 0)
		bus_unsubscribe(n->bus, n->sub_id);
	if (n) {
		n->bus = NULL;
		n->sub_id = 0;
	}
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	notifier_detach(n);
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->worker, NULL);
	for (struct delivery *d = n->queue, *next; d; d = next) {
		next = d->next;
		n->sinks[d->sink].stats.dropped++;
		free_delivery(d);
	}
	for (size_t i = 0; i < n->nsinks; i++) {
		if (n->sinks[i].token)
			memset(n->sinks[i].token, 0, strlen(n->sinks[i].token));
		free(n->sinks[i].url);
		free(n->sinks[i].token);
		curl_slist_free_all(n->sinks[i].headers);
	}
	free(n->sinks);
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&n->dedup, &i, &k, &v);)
		free(v);
	ks_map_release(&n->dedup);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	pthread_cond_destroy(&n->idle);
	free(n);
}

int notifier_attach(struct notifier *n, struct bus *b, struct ks_err *err)
{
	struct bus_filter f = {.types = BUS_TYPE_BIT(SWARM_MSG_DIAGNOSIS) |
					BUS_TYPE_BIT(SWARM_MSG_APPROVAL_REQUEST) |
					BUS_TYPE_BIT(SWARM_MSG_OUTCOME)};
	int id = bus_subscribe(b, &f, notifier_on_message, n);
	if (id <= 0)
		return ks_err_set(err, KS_EIO, "notify: cannot subscribe to the bus");
	n->bus = b;
	n->sub_id = id;
	return 0;
}

/* ---- the bus side ---- */

static void dedup_clear(struct notifier *n)
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&n->dedup, &i, &k, &v);)
		free(v);
	ks_map_release(&n->dedup);
	ks_map_init(&n->dedup);
}

/* Whether m is new (and remember it); false for a repeat. Called with mu held. */
static bool dedup_admit(struct notifier *n, const struct swarm_msg *m)
{
	const struct swarm_subject *s = &m->subject;
	char *subject_key = ks_asprintf("d|%s|%s|%s", s->kind, s->namespace, s->name);
	char *key;
	uint64_t fp = 1;
	if (m->type == SWARM_MSG_DIAGNOSIS) {
		key = ks_strdup(subject_key);
		fp = ks_hash(m->text ? m->text : "", m->text ? strlen(m->text) : 0) | 1;
	} else {
		key = ks_asprintf("%c|%s", m->type == SWARM_MSG_OUTCOME ? 'o' : 'a',
				  ks_json_str_or(m->body, "plan_id", m->id));
	}
	uint64_t *old = ks_map_get(&n->dedup, key);
	bool fresh = !old || *old != fp;
	if (fresh) {
		if (n->dedup.len >= DEDUP_MAX)
			dedup_clear(n);
		uint64_t *v = ks_malloc(sizeof *v);
		*v = fp;
		free(ks_map_put(&n->dedup, key, v));
	}
	/* a succeeded outcome resolves its subject's finding: announced again if it recurs */
	if (fresh && m->type == SWARM_MSG_OUTCOME &&
	    !strcmp(ks_json_str_or(m->body, "result", ""), "succeeded"))
		free(ks_map_del(&n->dedup, subject_key));
	free(key);
	free(subject_key);
	return fresh;
}

/* The token bucket of a sink: true when a notification may go now. mu held. */
static bool rate_admit(struct sink_state *s)
{
	int64_t now = ks_mono_ms();
	s->tokens += (double)(now - s->refilled_ms) * s->per_minute / 60000.0;
	if (s->tokens > s->per_minute)
		s->tokens = s->per_minute;
	s->refilled_ms = now;
	if (s->tokens < 1)
		return false;
	s->tokens -= 1;
	return true;
}

void notifier_on_message(const struct swarm_msg *m, void *ctx)
{
	struct notifier *n = ctx;
	if (!notify_wants(m))
		return;
	pthread_mutex_lock(&n->mu);
	bool fresh = dedup_admit(n, m);
	for (size_t i = 0; i < n->nsinks; i++) {
		struct sink_state *s = &n->sinks[i];
		if (!fresh) {
			s->stats.duplicates++;
			continue;
		}
		if (!rate_admit(s)) {
			s->stats.rate_limited++;
			continue;
		}
		if (n->queued >= n->o.queue_max) {
			s->stats.dropped++;
			continue;
		}
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		notify_render(s->kind, m, &b);
		struct delivery *d = ks_calloc(1, sizeof *d);
		*d = (struct delivery){.next = n->queue, .sink = i, .payload = ks_buf_detach(&b),
				       .due_ms = ks_mono_ms()};
		n->queue = d;
		n->queued++;
		s->stats.queued++;
	}
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

bool notifier_flush(struct notifier *n, int64_t timeout_ms)
{
	int64_t until = ks_mono_ms() + timeout_ms;
	pthread_mutex_lock(&n->mu);
	while ((n->queued || n->inflight) && ks_mono_ms() < until) {
		struct timespec ts = ks_timespec_in_ms(CLOCK_REALTIME, 50);
		pthread_cond_timedwait(&n->idle, &n->mu, &ts);
	}
	bool done = !n->queued && !n->inflight;
	pthread_mutex_unlock(&n->mu);
	return done;
}

void notifier_stats(const struct notifier *n, size_t sink, struct notify_stats *out)
{
	struct notifier *mut = (struct notifier *)n;
	pthread_mutex_lock(&mut->mu);
	*out = sink < n->nsinks ? n->sinks[sink].stats : (struct notify_stats){0};
	pthread_mutex_unlock(&mut->mu);
}
