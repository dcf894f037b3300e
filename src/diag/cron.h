/* cron.h — CronJob schedules: the standard 5-field cron syntax as Kubernetes reads it
 * (robfig/cron's ParseStandard: minute hour day-of-month month day-of-week), parsed into
 * bit sets, and the next activation after a given time.
 *
 * Accepted: `*`, `?` (day fields), numbers, names (JAN..DEC, SUN..SAT, any case), ranges
 * `a-b`, steps `*\/n`, `a-b/n` and `a/n` (from a to the field's maximum), lists `x,y,z`;
 * the macros @yearly @annually @monthly @weekly @daily @midnight @hourly and `@every D`
 * (a Go duration: "90s", "1h30m"); an optional leading `TZ=Zone ` or `CRON_TZ=Zone `.
 * Day of week is 0-6 (Sunday 0). As in cron, when both day fields are restricted a day
 * matches if either matches; when one is `*` (unstepped) both must.
 *
 * Times are Unix seconds, evaluated in UTC (a TZ prefix is recorded in tz but not applied).
 * A struct cron_schedule is a plain value, nothing to free. */
#ifndef KS_DIAG_CRON_H
#define KS_DIAG_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_err;

/* Ceiling on the schedule text. */
#define CRON_MAX_LEN 256

struct cron_schedule {
	uint64_t minute, hour, dom, month, dow; /* bit i: value i allowed */
	bool dom_star, dow_star;                /* the field was an unstepped * or ? */
	int64_t every_s;                        /* @every: the period in seconds (else 0) */
	char tz[64];                            /* the TZ= / CRON_TZ= zone, or "" */
};

/* Parse s (len bytes, need not be NUL-terminated). KS_EINVAL with a message naming the
 * field and the cause ("field day-of-week: end of range (7) above maximum (6): 1-7"),
 * KS_ETOOBIG past CRON_MAX_LEN. */
int cron_parse(const char *s, size_t len, struct cron_schedule *out, struct ks_err *err);

/* The first activation strictly after t (Unix seconds), or -1 when none comes within five
 * years (a schedule such as "0 0 30 2 *" never fires). */
int64_t cron_next(const struct cron_schedule *c, int64_t t);

#endif
