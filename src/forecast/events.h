/* events.h — outside forecasts: a feed of expected load or business events, applied to a
 * forecast by multiplying the matching window.
 * Two formats, told apart by the first byte that is not white space ('{': JSON):
 *   JSON  {"events":[{"name":"black friday","start":"2026-11-27T00:00:00Z",
 *          "end":"2026-11-28T00:00:00Z","scale":3.0,"match":{"namespace":"shop"}}]}
 *         Members other than these are errors, as are repeated ones; "match" and its
 *         "namespace" are optional (absent: the event applies to every namespace).
 *   CSV   name,start,end,scale,namespace — one event a line, an optional header line that
 *         is exactly those five names, RFC 4180 double quotes for fields holding a comma
 *         or a quote (""), LF or CRLF line ends, blank lines ignored; namespace may be empty.
 * Rules for both: name 1..127 bytes without control characters; start and end RFC 3339,
 * start < end; scale a finite number in (0, 1000]; namespace a DNS label (1..63 of
 * [a-z0-9-], alphanumeric at both ends). Errors name the place: JSON syntax as
 * "line:column", fields as "events[2].scale"; CSV as "line 3, field 4 (scale)".
 * Ceilings: FC_EVENTS_MAX_BYTES of input, FC_EVENTS_MAX events.
 * Ownership: the parsed feed owns its array (fc_events_release); inputs are borrowed. */
#ifndef KS_FORECAST_EVENTS_H
#define KS_FORECAST_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct ks_err;
struct fc_forecast;

#define FC_EVENTS_MAX_BYTES ((size_t)1 << 20)
#define FC_EVENTS_MAX 10000
#define FC_EVENT_NAME_MAX 127
#define FC_EVENT_SCALE_MAX 1000.0

struct fc_event {
	char name[FC_EVENT_NAME_MAX + 1];
	int64_t start_ns, end_ns;  /* Unix nanoseconds, [start, end) */
	double scale;
	char ns[64];               /* namespace to match; "" matches every namespace */
};

struct fc_events {
	struct fc_event *items;
	size_t n;
};

int fc_events_parse(const char *s, size_t len, struct fc_events *out, struct ks_err *err);
int fc_events_parse_json(const char *s, size_t len, struct fc_events *out, struct ks_err *err);
int fc_events_parse_csv(const char *s, size_t len, struct fc_events *out, struct ks_err *err);
void fc_events_release(struct fc_events *ev);

/* Multiply the forecast's mean and interval at every step whose time lies in an event's
 * [start, end) and whose namespace matches (ns NULL: only events for every namespace).
 * Step j (1-based) is at t_last + j·step_s (Unix seconds). Overlapping events multiply.
 * Returns how many steps changed. */
size_t fc_events_apply(const struct fc_events *ev, const char *ns, int64_t t_last,
		       double step_s, struct fc_forecast *f);

#endif
