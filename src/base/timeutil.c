/* timeutil.c — see timeutil.h. Civil-date arithmetic uses Howard Hinnant's
 * days_from_civil algorithm, so no TZ state or timegm() is involved. */
#include "base/common.h"
#include "base/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t ks_time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ks_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec ks_timespec_in_ms(clockid_t clock, int64_t ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (*pos >= len || s[*pos] < '0' || s[*pos] > '9')
			return -1;
		v = v * 10 + (s[(*pos)++] - '0');
	}
	*out = v;
	return 0;
}

static int expect(const char *s, size_t len, size_t *pos, const char *chars)
{
	if (*pos >= len || !strchr(chars, s[*pos]) || s[*pos] == '\0')
		return -1;
	(*pos)++;
	return 0;
}

int ks_time_parse_rfc3339(const char *s, size_t len, int64_t *unix_ns, struct ks_err *err)
{
	size_t pos = 0;
	int y, mo, d, h, mi, sec;
	int64_t frac_ns = 0;
	if (digits(s, len, &pos, 4, &y) || expect(s, len, &pos, "-") ||
	    digits(s, len, &pos, 2, &mo) || expect(s, len, &pos, "-") ||
	    digits(s, len, &pos, 2, &d) || expect(s, len, &pos, "Tt") ||
	    digits(s, len, &pos, 2, &h) || expect(s, len, &pos, ":") ||
	    digits(s, len, &pos, 2, &mi) || expect(s, len, &pos, ":") ||
	    digits(s, len, &pos, 2, &sec))
		goto bad;
	if (pos < len && s[pos] == '.') {
		pos++;
		int nd = 0;
		while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
			if (nd < 9)
				frac_ns = frac_ns * 10 + (s[pos] - '0');
			nd++;
			pos++;
		}
		if (nd == 0)
			goto bad;
		for (int i = nd; i < 9; i++)
			frac_ns *= 10;
	}
	int offset_min = 0;
	if (pos < len && (s[pos] == 'Z' || s[pos] == 'z')) {
		pos++;
	} else if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
		int sign = s[pos++] == '-' ? -1 : 1, oh, om;
		if (digits(s, len, &pos, 2, &oh) || expect(s, len, &pos, ":") ||
		    digits(s, len, &pos, 2, &om) || oh > 23 || om > 59)
			goto bad;
		offset_min = sign * (oh * 60 + om);
	} else {
		goto bad;
	}
	if (pos != len)
		goto bad;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
		goto bad;
	if (d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		goto bad;
	if (sec == 60)
		sec = 59; /* a leap second folds onto the second before, as Go's time does not accept it */
	int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
	/* Nanoseconds in an int64 reach from 1677-09-21 to 2262-04-11. */
	if (secs <= INT64_MIN / 1000000000LL + 1 || secs >= INT64_MAX / 1000000000LL - 1)
		return ks_err_set(err, KS_EINVAL,
				  "RFC 3339 time '%.*s' is outside the years 1678 to 2262",
				  (int)(len > 64 ? 64 : len), s);
	*unix_ns = secs * 1000000000LL + frac_ns;
	return 0;
bad:
	return ks_err_set(err, KS_EINVAL, "invalid RFC 3339 time '%.*s'", (int)(len > 64 ? 64 : len),
			  s);
}

static int format(int64_t secs, const char *frac, char *out, size_t outlen)
{
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t rem = secs - days * 86400;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	int n = snprintf(out, outlen, "%04lld-%02u-%02uT%02d:%02d:%02d%sZ", (long long)y, m, d,
			 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
	return n < 0 || (size_t)n >= outlen ? KS_ETOOBIG : 0;
}

int ks_time_format_rfc3339(int64_t unix_s, char *out, size_t outlen)
{
	return format(unix_s, "", out, outlen);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int ks_time_format_rfc3339_ms(int64_t unix_ms, char *out, size_t outlen)
{
	char frac[8];
	int64_t s = floor_div(unix_ms, 1000);
	snprintf(frac, sizeof frac, ".%03d", (int)(unix_ms - s * 1000));
	return format(s, frac, out, outlen);
}

int ks_time_format_rfc3339_micro(int64_t unix_us, char *out, size_t outlen)
{
	char frac[12];
	int64_t s = floor_div(unix_us, 1000000);
	snprintf(frac, sizeof frac, ".%06d", (int)(unix_us - s * 1000000));
	return format(s, frac, out, outlen);
}

/* Mirrors k8s.io/apimachinery/pkg/util/duration.HumanDuration, used by kubectl's AGE. */
int ks_time_format_age(int64_t seconds, char *out, size_t outlen)
{
	int n;
	if (seconds < -1)
		n = snprintf(out, outlen, "<invalid>");
	else if (seconds < 0)
		n = snprintf(out, outlen, "0s");
	else if (seconds < 120)
		n = snprintf(out, outlen, "%llds", (long long)seconds);
	else {
		int64_t minutes = seconds / 60, hours = seconds / 3600, days = hours / 24;
		if (minutes < 10) {
			if (seconds % 60 == 0)
				n = snprintf(out, outlen, "%lldm", (long long)minutes);
			else
				n = snprintf(out, outlen, "%lldm%llds", (long long)minutes,
					     (long long)(seconds % 60));
		} else if (minutes < 180) {
			n = snprintf(out, outlen, "%lldm", (long long)minutes);
		} else if (hours < 8) {
			if (minutes % 60 == 0)
				n = snprintf(out, outlen, "%lldh", (long long)hours);
			else
				n = snprintf(out, outlen, "%lldh%lldm", (long long)hours,
					     (long long)(minutes % 60));
		} else if (hours < 48) {
			n = snprintf(out, outlen, "%lldh", (long long)hours);
		} else if (hours < 24 * 8) {
			if (hours % 24 == 0)
				n = snprintf(out, outlen, "%lldd", (long long)days);
			else
				n = snprintf(out, outlen, "%lldd%lldh", (long long)days,
					     (long long)(hours % 24));
		} else if (hours < 24 * 365 * 2) {
			n = snprintf(out, outlen, "%lldd", (long long)days);
		} else if (hours < 24 * 365 * 8) {
			int64_t dy = days % 365;
			if (dy == 0)
				n = snprintf(out, outlen, "%lldy", (long long)(days / 365));
			else
				n = snprintf(out, outlen, "%lldy%lldd", (long long)(days / 365),
					     (long long)dy);
		} else {
			n = snprintf(out, outlen, "%lldy", (long long)(days / 365));
		}
	}
	return n < 0 || (size_t)n >= outlen ? KS_ETOOBIG : 0;
}

int ks_parse_duration(const char *s, double *seconds, struct ks_err *err)
{
	static const struct {
		const char *unit;
		double s;
	} units[] = {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400},
		     {"w", 7 * 86400}};
	if (!s || !*s)
		return ks_err_set(err, KS_EINVAL, "empty duration");
	if (!strcmp(s, "0")) {
		*seconds = 0;
		return 0;
	}
	double total = 0;
	const char *p = s;
	while (*p) {
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return ks_err_set(err, KS_EINVAL,
					  "bad duration \"%s\": expected a number at \"%s\"", s, p);
		double v = 0, scale = 0;
		bool digits = false;
		for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
			if (*p == '.') {
				if (scale)
					return ks_err_set(err, KS_EINVAL, "bad duration \"%s\"", s);
				scale = 1;
				continue;
			}
			digits = true;
			if (scale) {
				scale /= 10;
				v += (*p - '0') * scale;
			} else {
				v = v * 10 + (*p - '0');
			}
			if (v > 1e12)
				return ks_err_set(err, KS_EINVAL, "duration \"%s\" is too long", s);
		}
		if (!digits)
			return ks_err_set(err, KS_EINVAL, "bad duration \"%s\"", s);
		size_t n = 0;
		while (p[n] && !((p[n] >= '0' && p[n] <= '9') || p[n] == '.'))
			n++;
		double unit = 0;
		for (size_t i = 0; i < KS_ARRAY_LEN(units); i++)
			if (strlen(units[i].unit) == n && !strncmp(p, units[i].unit, n))
				unit = units[i].s;
		if (!unit)
			return ks_err_set(err, KS_EINVAL,
					  "bad duration \"%s\": unknown unit \"%.*s\" (use ms, s, "
					  "m, h, d or w)",
					  s, (int)n, p);
		total += v * unit;
		p += n;
	}
	if (total > 10 * 365.0 * 86400)
		return ks_err_set(err, KS_EINVAL, "duration \"%s\" is too long", s);
	*seconds = total;
	return 0;
}
