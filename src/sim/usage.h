/* usage.h — the simulator's deterministic per-container usage model, and its clock.
 * Every value is a pure function of (curve, simulated time): no state, so a sample computed
 * live equals the one computed later for a backfill. Times are simulated Unix seconds (UTC).
 *
 * CPU (millicores) is constant over SIM_USAGE_CPU_STEP_S-second steps aligned to multiples of
 * the step; the value of a step is the one at its start s:
 *   base_cpu_m * growth(s) * daily(s) * (1 + noise * u(seed, step)) * spike(s)
 *   growth(t) = (1 + growth_per_day) ^ ((t - growth_origin_s) / 86400)   (compounding)
 *   daily(t)  = 1 + daily_amp * cos(2*pi * (hour_of_day(t) - peak_hour) / 24)
 *   u         = a counter-based hash of (seed, step) spread uniformly over [-1, 1)
 *   spike(t)  = spike_mult inside a spike, else 1. Each hour bucket holds a spike with
 *               probability spike_prob_per_hour, starting at a hashed offset in the hour and
 *               lasting spike_minutes (it may run into the next hours).
 * Memory (MiB) is continuous and smoother: half the daily swing, no spikes, and noise of
 * amplitude noise / 2 interpolated smoothly (cosine) between hashed knots every
 * SIM_USAGE_MEM_KNOT_S seconds, so the working set drifts instead of jumping every sample.
 * The CPU counter (container_cpu_usage_seconds_total) is the exact integral of the step
 * function: a sum over the steps that [t0, t) covers of cpu_m / 1000 * overlap seconds. It is
 * monotone non-decreasing in t and additive (total(a, c) = total(a, b) + total(b, c) up to
 * rounding); its cost is one CPU evaluation per step covered, so long-lived callers keep a
 * running total and add total(prev, now).
 * Ownership: plain values; nothing is allocated. */
#ifndef KS_SIM_USAGE_H
#define KS_SIM_USAGE_H

#include <stdbool.h>
#include <stdint.h>

struct ks_err;

#define SIM_USAGE_CPU_STEP_S 10
#define SIM_USAGE_MEM_KNOT_S 300

struct sim_usage_curve {
	double base_cpu_m;      /* millicores at growth_origin_s, daily mean, >= 0 */
	double base_mem_mib;    /* MiB at growth_origin_s, daily mean, >= 0 */
	double daily_amp;       /* fraction in [0, 1): CPU swings +-daily_amp around the mean */
	int peak_hour;          /* 0..23, hour of the simulated UTC day with the daily peak */
	double noise;           /* fraction in [0, 1): CPU within +-noise of the smooth curve */
	double growth_per_day;  /* fraction > -1, compounding per simulated day */
	int64_t growth_origin_s;/* simulated time where growth is 1 */
	double spike_prob_per_hour; /* probability in [0, 1] that an hour bucket holds a spike */
	double spike_mult;      /* >= 0, CPU multiplier during a spike */
	double spike_minutes;   /* duration of a spike, (0, 1440] (needed when prob > 0) */
	uint64_t seed;
};

/* Check the ranges above; the functions below assume a curve that passes. */
int sim_usage_check(const struct sim_usage_curve *c, struct ks_err *err);

double sim_usage_cpu_m(const struct sim_usage_curve *c, int64_t sim_time_s);
double sim_usage_mem_mib(const struct sim_usage_curve *c, int64_t sim_time_s);
/* CPU seconds used in [t0, t); negative total(t, t0) when t < t0. */
double sim_usage_cpu_seconds_total(const struct sim_usage_curve *c, int64_t t0, int64_t t);
/* Whether sim_time_s lies inside a spike. */
bool sim_usage_spike_at(const struct sim_usage_curve *c, int64_t sim_time_s);

/* Simulated time = sim_start_s + (real_ms - real_start_ms) * scale / 1000, rounded down to
 * whole seconds; scale 1 is real time, 1440 one simulated day per real minute. */
struct sim_clock {
	double scale; /* > 0 */
	int64_t real_start_ms;
	int64_t sim_start_s;
};

int64_t sim_clock_now(const struct sim_clock *clock, int64_t real_ms);
/* The first real millisecond at which sim_clock_now reaches sim_s (for sleeping until then). */
int64_t sim_clock_real_ms(const struct sim_clock *clock, int64_t sim_s);

#endif
