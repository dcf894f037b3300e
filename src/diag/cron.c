/* cron.c — the 5-field cron parser and next-activation search (see cron.h).
 *
 * Parsing: the text is split on blanks into fields; each field on commas into terms; each
 * term is `base[/step]` with base `*`, `?`, `v` or `lo-hi`; every term sets bits in the
 * field's 64-bit set. Errors name the field and say what is wrong.
 *
 * Next activation: from the minute after t, walk forward by the coarsest unit that does
 * not match (a month, a day, an hour, a minute), as cron does. Calendar conversion goes
 * through the RFC 3339 helpers of base/timeutil (no TZ state, no gmtime). */
#include "base/common.h"

#include "diag/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"

struct cron_field {
	const char *name;
	unsigned min, max;
	const char *const *names; /* names[i] is value min + i, or NULL */
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const struct cron_field fields[5] = {
	{.name = "minute", .min = 0, .max = 59, .names = NULL},
	{.name = "hour", .min = 0, .max = 23, .names = NULL},
	{.name = "day-of-month", .min = 1, .max = 31, .names = NULL},
	{.name = "month", .min = 1, .max = 12, .names = month_names},
	{.name = "day-of-week", .min = 0, .max = 6, .names = dow_names},
};

/* A number or a name of the field; the token is [p, e). */
static int parse_value(const struct cron_field *f, const char *p, const char *e, unsigned *out,
		       struct ks_err *err)
{
	size_t n = (size_t)(e - p);
	if (n == 0)
		return ks_err_set(err, KS_EINVAL, "field %s: empty value", f->name);
	if (isdigit((unsigned char)*p)) {
		unsigned v = 0;
		for (const char *q = p; q < e; q++) {
			if (!isdigit((unsigned char)*q))
				return ks_err_set(err, KS_EINVAL, "field %s: not a number: %.*s",
						  f->name, (int)n, p);
			v = v * 10 + (unsigned)(*q - '0');
			if (v > 1000)
				return ks_err_set(err, KS_EINVAL, "field %s: number too large: %.*s",
						  f->name, (int)n, p);
		}
		*out = v;
		return 0;
	}
	for (size_t i = 0; f->names && f->names[i]; i++)
		if (n == strlen(f->names[i]) && !strncasecmp(p, f->names[i], n)) {
			*out = f->min + (unsigned)i;
			return 0;
		}
	return ks_err_set(err, KS_EINVAL, "field %s: not a number or a name: %.*s", f->name,
			  (int)n, p);
}

/* One term [p, e) of field f into *bits. */
static int parse_term(const struct cron_field *f, const char *p, const char *e, uint64_t *bits,
		      bool *star, struct ks_err *err)
{
	int tl = (int)(e - p);
	const char *slash = memchr(p, '/', (size_t)(e - p));
	const char *base_end = slash ? slash : e;
	unsigned lo, hi, step = 1;
	bool is_star = false;
	int rc;

	if (base_end - p == 1 && (*p == '*' || *p == '?')) {
		lo = f->min;
		hi = f->max;
		is_star = true;
	} else {
		const char *dash = memchr(p, '-', (size_t)(base_end - p));
		if ((rc = parse_value(f, p, dash ? dash : base_end, &lo, err)))
			return rc;
		hi = lo;
		if (dash) {
			if (memchr(dash + 1, '-', (size_t)(base_end - dash - 1)))
				return ks_err_set(err, KS_EINVAL, "field %s: too many hyphens: %.*s",
						  f->name, tl, p);
			if ((rc = parse_value(f, dash + 1, base_end, &hi, err)))
				return rc;
		}
		if (slash && !dash)
			hi = f->max; /* "a/n" runs from a to the maximum */
	}
	if (slash) {
		if (memchr(slash + 1, '/', (size_t)(e - slash - 1)))
			return ks_err_set(err, KS_EINVAL, "field %s: too many slashes: %.*s", f->name,
					  tl, p);
		if (slash + 1 == e || !isdigit((unsigned char)slash[1]))
			return ks_err_set(err, KS_EINVAL, "field %s: bad step: %.*s", f->name, tl, p);
		if ((rc = parse_value(&(struct cron_field){.name = f->name, .min = 0, .max = 0,
							   .names = NULL},
				      slash + 1, e, &step, err)))
			return rc;
		if (step > 1)
			is_star = false;
	}
	if (lo < f->min)
		return ks_err_set(err, KS_EINVAL,
				  "field %s: beginning of range (%u) below minimum (%u): %.*s",
				  f->name, lo, f->min, tl, p);
	if (hi > f->max)
		return ks_err_set(err, KS_EINVAL,
				  "field %s: end of range (%u) above maximum (%u): %.*s", f->name, hi,
				  f->max, tl, p);
	if (lo > hi)
		return ks_err_set(err, KS_EINVAL,
				  "field %s: beginning of range (%u) beyond end of range (%u): %.*s",
				  f->name, lo, hi, tl, p);
	if (step == 0)
		return ks_err_set(err, KS_EINVAL, "field %s: step must be positive: %.*s", f->name,
				  tl, p);
	for (unsigned v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << v;
	if (is_star)
		*star = true;
	return 0;
}

static int parse_field(const struct cron_field *f, const char *p, const char *e, uint64_t *bits,
		       bool *star, struct ks_err *err)
{
	*bits = 0;
	*star = false;
	while (p <= e) {
		const char *comma = memchr(p, ',', (size_t)(e - p));
		const char *te = comma ? comma : e;
		int rc = parse_term(f, p, te, bits, star, err);
		if (rc)
			return rc;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static const struct {
	const char *name, *fields;
} macros[] = {
	{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

static int parse_fields(const char *s, size_t len, struct cron_schedule *out,
			struct ks_err *err)
{
	const char *tok[5], *tend[5];
	size_t n = 0, i = 0;
	while (i < len) {
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i >= len)
			break;
		if (n == 5)
			return ks_err_set(err, KS_EINVAL,
					  "expected exactly 5 fields, found more: %.*s", (int)len, s);
		tok[n] = s + i;
		while (i < len && !isspace((unsigned char)s[i]))
			i++;
		tend[n++] = s + i;
	}
	if (n != 5)
		return ks_err_set(err, KS_EINVAL, "expected exactly 5 fields, found %zu: %.*s", n,
				  (int)len, s);
	uint64_t *bits[5] = {&out->minute, &out->hour, &out->dom, &out->month, &out->dow};
	bool star[5] = {false, false, false, false, false};
	for (size_t k = 0; k < 5; k++) {
		int rc = parse_field(&fields[k], tok[k], tend[k], bits[k], &star[k], err);
		if (rc)
			return rc;
	}
	out->dom_star = star[2];
	out->dow_star = star[4];
	return 0;
}

int cron_parse(const char *s, size_t len, struct cron_schedule *out, struct ks_err *err)
{
	*out = (struct cron_schedule){.every_s = 0};
	if (len > CRON_MAX_LEN)
		return ks_err_set(err, KS_ETOOBIG, "schedule longer than %d bytes", CRON_MAX_LEN);
	if (memchr(s, '\0', len))
		return ks_err_set(err, KS_EINVAL, "schedule holds a NUL byte");
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return ks_err_set(err, KS_EINVAL, "empty schedule");

	/* TZ=Zone or CRON_TZ=Zone prefix */
	size_t pfx = len >= 3 && !strncmp(s, "TZ=", 3) ? 3
		     : len >= 8 && !strncmp(s, "CRON_TZ=", 8) ? 8 : 0;
	if (pfx) {
		size_t e = pfx;
		while (e < len && !isspace((unsigned char)s[e]))
			e++;
		if (e == pfx || e - pfx >= sizeof out->tz)
			return ks_err_set(err, KS_EINVAL, "bad time zone prefix: %.*s", (int)len, s);
		memcpy(out->tz, s + pfx, e - pfx);
		out->tz[e - pfx] = '\0';
		while (e < len && isspace((unsigned char)s[e]))
			e++;
		s += e;
		len -= e;
		if (len == 0)
			return ks_err_set(err, KS_EINVAL, "empty schedule after the time zone");
	}

	if (*s == '@') {
		static const char every[] = "@every";
		if (len > sizeof every - 1 && !strncmp(s, every, sizeof every - 1) &&
		    isspace((unsigned char)s[sizeof every - 1])) {
			char d[64];
			size_t o = sizeof every - 1;
			while (o < len && isspace((unsigned char)s[o]))
				o++;
			if (len - o >= sizeof d)
				return ks_err_set(err, KS_EINVAL, "@every: duration too long");
			memcpy(d, s + o, len - o);
			d[len - o] = '\0';
			double secs;
			struct ks_err derr = {0};
			if (ks_parse_duration(d, &secs, &derr))
				return ks_err_set(err, KS_EINVAL, "@every: %s", derr.msg);
			if (secs < 1)
				return ks_err_set(err, KS_EINVAL, "@every: duration below 1s: %s", d);
			out->every_s = (int64_t)secs;
			return 0;
		}
		for (size_t i = 0; i < KS_ARRAY_LEN(macros); i++)
			if (len == strlen(macros[i].name) && !strncasecmp(s, macros[i].name, len))
				return parse_fields(macros[i].fields, strlen(macros[i].fields), out,
						    err);
		return ks_err_set(err, KS_EINVAL, "unrecognized descriptor: %.*s", (int)len, s);
	}
	return parse_fields(s, len, out, err);
}

/* Calendar fields of a Unix time in UTC, through the RFC 3339 formatter. */
struct cron_tm {
	int64_t year;
	unsigned mon, day, hour, min;
};

static unsigned digits(const char *p, int n)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	return v;
}

static bool tm_of(int64_t t, struct cron_tm *tm)
{
	char b[32];
	if (ks_time_format_rfc3339(t, b, sizeof b) < 0 || strlen(b) != 20)
		return false; /* years outside 0000-9999 */
	tm->year = digits(b, 4);
	tm->mon = digits(b + 5, 2);
	tm->day = digits(b + 8, 2);
	tm->hour = digits(b + 11, 2);
	tm->min = digits(b + 14, 2);
	return true;
}

/* The Unix time of a calendar date (a valid one: the walk never leaves a month's days). */
static bool time_of(const struct cron_tm *tm, int64_t *t)
{
	char b[32];
	snprintf(b, sizeof b, "%04lld-%02u-%02uT%02u:%02u:00Z", (long long)tm->year, tm->mon,
		 tm->day, tm->hour, tm->min);
	int64_t ns;
	if (ks_time_parse_rfc3339(b, strlen(b), &ns, NULL))
		return false;
	*t = ns / 1000000000;
	return true;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

static bool day_matches(const struct cron_schedule *c, int64_t t, unsigned day)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	unsigned dow = (unsigned)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	bool dm = c->dom >> day & 1, wm = c->dow >> dow & 1;
	if (c->dom_star || c->dow_star)
		return dm && wm;
	return dm || wm;
}

static void to_next_month(struct cron_tm *tm)
{
	tm->day = 1;
	tm->hour = tm->min = 0;
	if (++tm->mon == 13) {
		tm->mon = 1;
		tm->year++;
	}
}

static void to_next_day(struct cron_tm *tm)
{
	tm->hour = tm->min = 0;
	if (++tm->day > days_in_month(tm->year, tm->mon))
		to_next_month(tm);
}

static void to_next_hour(struct cron_tm *tm)
{
	tm->min = 0;
	if (++tm->hour == 24)
		to_next_day(tm);
}

int64_t cron_next(const struct cron_schedule *c, int64_t t)
{
	if (c->every_s > 0)
		return t + c->every_s;
	struct cron_tm tm;
	if (!tm_of(t, &tm))
		return -1;
	int64_t limit_year = tm.year + 5, cur;
	if (++tm.min == 60)
		to_next_hour(&tm); /* from the next whole minute */
	while (tm.year <= limit_year) {
		if (!(c->month >> tm.mon & 1)) {
			to_next_month(&tm);
			continue;
		}
		struct cron_tm midnight = {.year = tm.year, .mon = tm.mon, .day = tm.day};
		if (!time_of(&midnight, &cur))
			return -1;
		if (!day_matches(c, cur, tm.day)) {
			to_next_day(&tm);
			continue;
		}
		if (!(c->hour >> tm.hour & 1)) {
			to_next_hour(&tm);
			continue;
		}
		while (tm.min < 60 && !(c->minute >> tm.min & 1))
			tm.min++;
		if (tm.min == 60) {
			to_next_hour(&tm);
			continue;
		}
		return time_of(&tm, &cur) ? cur : -1;
	}
	return -1;
}
