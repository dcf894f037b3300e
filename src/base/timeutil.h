/* timeutil.h — clocks and RFC 3339 times as Kubernetes writes them.
 * Kubernetes metav1.Time is RFC 3339 with second precision ("2026-11-21T10:00:02Z");
 * MicroTime has microseconds ("...02.123456Z"). Parsing accepts any RFC 3339 time:
 * fractional seconds of any length, "Z"/"z" or a numeric offset ("+05:30"), and a lower-case
 * "t" separator; it rejects everything else (no leap-second 60 beyond RFC rules, no
 * out-of-range fields, no trailing bytes). */
#ifndef KS_TIMEUTIL_H
#define KS_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ks_err;

/* Wall clock, milliseconds since the Unix epoch. */
int64_t ks_time_now_ms(void);
/* Monotonic clock in milliseconds, for timeouts and rates. */
int64_t ks_mono_ms(void);
/* The time ms milliseconds from now on clock (CLOCK_REALTIME, CLOCK_MONOTONIC), as
 * pthread_cond_timedwait wants it. */
struct timespec ks_timespec_in_ms(clockid_t clock, int64_t ms);

/* Parse an RFC 3339 time into nanoseconds since the epoch (UTC). */
int ks_time_parse_rfc3339(const char *s, size_t len, int64_t *unix_ns, struct ks_err *err);
/* "2026-11-21T10:00:02Z" (metav1.Time). out needs 21 bytes. */
int ks_time_format_rfc3339(int64_t unix_s, char *out, size_t outlen);
/* "2026-11-21T10:00:02.123Z". out needs 25 bytes. */
int ks_time_format_rfc3339_ms(int64_t unix_ms, char *out, size_t outlen);
/* "2026-11-21T10:00:02.123456Z" (metav1.MicroTime). */
int ks_time_format_rfc3339_micro(int64_t unix_us, char *out, size_t outlen);
/* kubectl's age column: "5s", "3m12s", "4h5m", "3d4h", "2y45d" (as duration.HumanDuration). */
int ks_time_format_age(int64_t seconds, char *out, size_t outlen);

/* A duration as Go's time.ParseDuration reads it, plus days "d" and weeks "w": "90s", "5m",
 * "1h30m", "1.5h", "14d", "2w"; a bare "0" is zero. Sums of terms, no sign, each term a
 * decimal number and a unit (ms, s, m, h, d, w). Out: seconds. Up to 10 years. */
int ks_parse_duration(const char *s, double *seconds, struct ks_err *err);

#endif
