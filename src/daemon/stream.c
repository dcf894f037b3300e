/* stream.c — see stream.h. The depth of a message is one more than the deepest message it
 * answers that the printer has seen (0 when none); depths are remembered for the last
 * STREAM_DEPTH_MEMORY messages (a ring keyed by seq), which bounds memory on a daemon that
 * runs for months. */
#include "base/common.h"
#include "daemon/stream.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "swarm/bus.h"
#include "swarm/msg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_DEPTH_MEMORY 4096
#define STREAM_MAX_DEPTH 8

struct stream_printer {
	FILE *out;
	bool colour;
	int sub;
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
		{"reconciler", "96"},	  {"auto", "90"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(from, map[i].agent))
			return map[i].sgr;
	return !strncmp(from, "human:", 6) ? "1;93" : "37";
}

void stream_format(struct ks_buf *out, const struct swarm_msg *m, int depth, bool colour)
{
	time_t t = (time_t)(m->ts / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	ks_buf_appendf(out, "%02d:%02d:%02d.%03d  ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		       (int)(m->ts % 1000));
	for (int i = 0; i < depth && i < STREAM_MAX_DEPTH; i++)
		ks_buf_append(out, "  ", 2);
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

static int depth_of(struct stream_printer *p, const struct swarm_msg *m)
{
	int d = 0;
	for (size_t i = 0; i < m->nre; i++) {
		int64_t seq = strtoll(m->re[i] + 1, NULL, 10);
		size_t slot = (size_t)seq % STREAM_DEPTH_MEMORY;
		if (seq > 0 && p->seq[slot] == seq && p->depth[slot] + 1 > d)
			d = p->depth[slot] + 1;
	}
	if (d > STREAM_MAX_DEPTH)
		d = STREAM_MAX_DEPTH;
	size_t slot = (size_t)m->seq % STREAM_DEPTH_MEMORY;
	p->seq[slot] = m->seq;
	p->depth[slot] = (unsigned char)d;
	return d;
}

static void on_msg(const struct swarm_msg *m, void *ctx)
{
	struct stream_printer *p = ctx;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	stream_format(&b, m, depth_of(p, m), p->colour);
	ks_buf_appendc(&b, '\n');
	fwrite(b.data, 1, b.len, p->out);
	fflush(p->out);
	ks_buf_release(&b);
}

struct stream_printer *stream_printer_attach(struct bus *b, FILE *out, bool colour)
{
	struct stream_printer *p = ks_calloc(1, sizeof *p);
	p->out = out;
	p->colour = colour;
	struct bus_filter all = {0};
	p->sub = bus_subscribe(b, &all, on_msg, p);
	return p;
}

void stream_printer_detach(struct stream_printer *p, struct bus *b)
{
	if (!p)
		return;
	bus_unsubscribe(b, p->sub);
	free(p);
}
