/* stream.c — see stream.h. The depth of a message is one more than the deepest message it
 * answers that the printer has seen (0 when none); depths are remembered for the last
 * STREAM_DEPTH_MEMORY messages (a ring keyed by seq), which bounds memory on a daemon that
 * runs for months.
 *
 * The LLM's line (stream_printer_sink) is written token by token, so the terminal has a
 * partial line while the LLM speaks:
 *
 *   CLOSED --begin--> PENDING --first token: prefix written--> OPEN --token--> OPEN
 *   OPEN --a message line comes: "\n" first--> INTERRUPTED --token: "… " prefix--> OPEN
 *   PENDING --end--> CLOSED (nothing was written: a failure is the log's to tell)
 *   OPEN/INTERRUPTED --end: "\n" (and why it stopped, when it failed)--> CLOSED
 * The explanation the narrator then publishes (from "llm", body.streamed) is not printed
 * again.
 *
 * One mutex orders the lines of every thread (the daemon loop, the HTTP server's, the
 * narrator's). */
#include "base/common.h"
#include "daemon/stream.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/termsafe.h"
#include "base/timeutil.h"
#include "swarm/bus.h"
#include "swarm/msg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_DEPTH_MEMORY 4096
#define STREAM_MAX_DEPTH 8

enum llm_line { LLM_CLOSED, LLM_PENDING, LLM_OPEN, LLM_INTERRUPTED };

struct stream_printer {
	FILE *out;
	bool colour;
	int sub;
	pthread_mutex_t mu;
	enum llm_line llm;
	int llm_depth;
	int64_t llm_ts;  /* when it began (ms since the epoch) */
	char llm_about[SWARM_MSG_ID_MAX];
	struct ks_termsafe llm_filter;
	int64_t seq[STREAM_DEPTH_MEMORY];
	unsigned char depth[STREAM_DEPTH_MEMORY];
};

static const char *agent_colour(const char *from)
{
	static const struct {
		const char *agent, *sgr;
	} map[] = {
		{"orchestrator", "1;37"}, {"diagnostics", "36"}, {"cost", "32"},
		{"efficiency", "92"},	  {"performance", "33"}, {"reliability", "35"},
		{"forecasting", "34"},	  {"learning", "94"},	 {"policy", "31"},
		{"reconciler", "96"},	  {"auto", "90"},	 {"llm", "95"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(from, map[i].agent))
			return map[i].sgr;
	return !strncmp(from, "human:", 6) ? "1;93" : "37";
}

/* "10:00:02.123  " and the indentation of depth. */
static void line_start(struct ks_buf *out, int64_t ts_ms, int depth)
{
	time_t t = (time_t)(ts_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	ks_buf_appendf(out, "%02d:%02d:%02d.%03d  ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		       (int)(ts_ms % 1000));
	for (int i = 0; i < depth && i < STREAM_MAX_DEPTH; i++)
		ks_buf_append(out, "  ", 2);
}

void stream_format(struct ks_buf *out, const struct swarm_msg *m, int depth, bool colour)
{
	line_start(out, m->ts, depth);
	if (colour)
		ks_buf_appendf(out, "\033[%sm", agent_colour(m->from));
	ks_buf_appendf(out, "%s", m->from);
	if (m->to[0])
		ks_buf_appendf(out, " → %s", m->to);
	if (colour)
		ks_buf_appendf(out, "\033[0m  \033[2m%s\033[0m  ", swarm_msg_type_name(m->type));
	else
		ks_buf_appendf(out, "  %s  ", swarm_msg_type_name(m->type));
	/* The text on one line: newlines and tabs become spaces. */
	for (const char *p = m->text ? m->text : ""; *p; p++)
		ks_buf_appendc(out, *p == '\n' || *p == '\t' ? ' ' : *p);
}

/* The depth message seq was printed at, or -1 when the printer does not remember it. */
static int depth_seen(const struct stream_printer *p, int64_t seq)
{
	size_t slot = (size_t)seq % STREAM_DEPTH_MEMORY;
	return seq > 0 && p->seq[slot] == seq ? p->depth[slot] : -1;
}

static int depth_of(struct stream_printer *p, const struct swarm_msg *m)
{
	int d = 0;
	for (size_t i = 0; i < m->nre; i++) {
		int seen = depth_seen(p, strtoll(m->re[i] + 1, NULL, 10));
		if (seen + 1 > d)
			d = seen + 1;
	}
	if (d > STREAM_MAX_DEPTH)
		d = STREAM_MAX_DEPTH;
	size_t slot = (size_t)m->seq % STREAM_DEPTH_MEMORY;
	p->seq[slot] = m->seq;
	p->depth[slot] = (unsigned char)d;
	return d;
}

static void write_out(struct stream_printer *p, const struct ks_buf *b)
{
	fwrite(b->data, 1, b->len, p->out);
	fflush(p->out);
}

/* An explanation the narrator published after streaming it: already on the terminal. */
static bool already_streamed(const struct swarm_msg *m)
{
	return m->type == SWARM_MSG_OBSERVATION && !strcmp(m->from, "llm") &&
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m->body, "streamed"));
}

static void on_msg(const struct swarm_msg *m, void *ctx)
{
	struct stream_printer *p = ctx;
	if (already_streamed(m))
		return;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	pthread_mutex_lock(&p->mu);
	if (p->llm == LLM_OPEN) {
		ks_buf_appendc(&b, '\n');
		p->llm = LLM_INTERRUPTED;
		ks_termsafe_init(&p->llm_filter); /* the next line starts with no space */
	}
	stream_format(&b, m, depth_of(p, m), p->colour);
	ks_buf_appendc(&b, '\n');
	write_out(p, &b);
	pthread_mutex_unlock(&p->mu);
	ks_buf_release(&b);
}

/* ---- the LLM's line ---- */

static void llm_begin(void *ctx, int64_t about_seq, const char *about_id)
{
	struct stream_printer *p = ctx;
	pthread_mutex_lock(&p->mu);
	p->llm = LLM_PENDING;
	ks_termsafe_init(&p->llm_filter);
	p->llm_depth = depth_seen(p, about_seq) + 1;
	p->llm_ts = ks_time_now_ms();
	snprintf(p->llm_about, sizeof p->llm_about, "%s", about_id);
	pthread_mutex_unlock(&p->mu);
}

static void llm_prefix(struct stream_printer *p, struct ks_buf *b, bool again)
{
	if (again) {
		ks_buf_appendf(b, "%14s", "");
		for (int i = 0; i < p->llm_depth && i < STREAM_MAX_DEPTH; i++)
			ks_buf_append(b, "  ", 2);
	} else {
		line_start(b, p->llm_ts, p->llm_depth);
	}
	if (p->colour)
		ks_buf_appendf(b, "\033[%sm", agent_colour("llm"));
	ks_buf_appendstr(b, "llm");
	if (p->colour)
		ks_buf_appendstr(b, "\033[0m");
	if (again)
		ks_buf_appendstr(b, "  …  ");
	else if (p->colour)
		ks_buf_appendf(b, "  \033[2mexplains %s\033[0m  ", p->llm_about);
	else
		ks_buf_appendf(b, "  explains %s  ", p->llm_about);
}

/* Tokens are outside input: ks_termsafe drops escape sequences and control characters and
 * makes every run of white space one space, so the line stays one line. */
static void llm_token(void *ctx, const char *text, size_t len)
{
	struct stream_printer *p = ctx;
	struct ks_buf safe, b;
	ks_buf_init(&safe, KS_BUF_UNLIMITED);
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	pthread_mutex_lock(&p->mu);
	if (p->llm != LLM_CLOSED)
		ks_termsafe_feed(&p->llm_filter, text, len, &safe);
	if (safe.len) {
		if (p->llm != LLM_OPEN) {
			llm_prefix(p, &b, p->llm == LLM_INTERRUPTED);
			p->llm = LLM_OPEN;
		}
		ks_buf_append(&b, safe.data, safe.len);
		write_out(p, &b);
	}
	pthread_mutex_unlock(&p->mu);
	ks_buf_release(&b);
	ks_buf_release(&safe);
}

static void llm_end(void *ctx, bool ok, const char *why)
{
	struct stream_printer *p = ctx;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	pthread_mutex_lock(&p->mu);
	if (p->llm == LLM_INTERRUPTED && !ok)
		llm_prefix(p, &b, true);
	if (p->llm == LLM_OPEN || b.len) {
		if (!ok)
			ks_buf_appendf(&b, "%s[the LLM stopped: %s]",
				       p->llm_filter.last_space ? "" : " ", why);
		ks_buf_appendc(&b, '\n');
		write_out(p, &b);
	}
	p->llm = LLM_CLOSED;
	pthread_mutex_unlock(&p->mu);
	ks_buf_release(&b);
}

struct narrate_sink stream_printer_sink(struct stream_printer *p)
{
	return (struct narrate_sink){
		.begin = llm_begin, .token = llm_token, .end = llm_end, .ctx = p};
}

struct stream_printer *stream_printer_attach(struct bus *b, FILE *out, bool colour)
{
	struct stream_printer *p = ks_calloc(1, sizeof *p);
	p->out = out;
	p->colour = colour;
	pthread_mutex_init(&p->mu, NULL);
	struct bus_filter all = {0};
	p->sub = bus_subscribe(b, &all, on_msg, p);
	return p;
}

void stream_printer_detach(struct stream_printer *p, struct bus *b)
{
	if (!p)
		return;
	bus_unsubscribe(b, p->sub);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
