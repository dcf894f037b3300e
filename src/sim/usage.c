/* usage.c — see usage.h.
 * Design: randomness is a counter-based hash (splitmix64's finalizer applied to the seed mixed
 * with a stream constant, then to the bucket index), so any bucket's random number is computed
 * directly, without state and in any order. Streams: CPU noise per step, spike presence and
 * offset per hour, memory noise per knot. The CPU curve is a step function so that its
 * integral, the CPU seconds counter, is an exact finite sum (monotone and additive by
 * construction) rather than an approximation that could disagree with the gauge. */
#include "base/common.h"
#include "sim/usage.h"

#include <math.h>

#define STREAM_CPU_NOISE 0x6370756e6f697365ULL
#define STREAM_SPIKE 0x7370696b65686f75ULL
#define STREAM_SPIKE_OFF 0x7370696b656f6666ULL
#define STREAM_MEM 0x6d656d6e6f697365ULL

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Uniform in [0, 1) for bucket idx of a stream. */
static double hash01(uint64_t seed, uint64_t stream, int64_t idx)
{
	uint64_t h = mix64(mix64(seed ^ stream) ^ (uint64_t)idx);
	return (double)(h >> 11) * 0x1p-53;
}

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int sim_usage_check(const struct sim_usage_curve *c, struct ks_err *err)
{
	if (!(isfinite(c->base_cpu_m) && c->base_cpu_m >= 0))
		return ks_err_set(err, KS_EINVAL, "usage curve: base cpu %g is not >= 0",
				  c->base_cpu_m);
	if (!(isfinite(c->base_mem_mib) && c->base_mem_mib >= 0))
		return ks_err_set(err, KS_EINVAL, "usage curve: base memory %g is not >= 0",
				  c->base_mem_mib);
	if (!(c->daily_amp >= 0 && c->daily_amp < 1))
		return ks_err_set(err, KS_EINVAL,
				  "usage curve: daily amplitude %g is not in [0, 1)", c->daily_amp);
	if (c->peak_hour < 0 || c->peak_hour > 23)
		return ks_err_set(err, KS_EINVAL, "usage curve: peak hour %d is not in 0..23",
				  c->peak_hour);
	if (!(c->noise >= 0 && c->noise < 1))
		return ks_err_set(err, KS_EINVAL, "usage curve: noise %g is not in [0, 1)",
				  c->noise);
	if (!(isfinite(c->growth_per_day) && c->growth_per_day > -1))
		return ks_err_set(err, KS_EINVAL, "usage curve: growth per day %g is not > -1",
				  c->growth_per_day);
	if (!(c->spike_prob_per_hour >= 0 && c->spike_prob_per_hour <= 1))
		return ks_err_set(err, KS_EINVAL,
				  "usage curve: spike probability %g is not in [0, 1]",
				  c->spike_prob_per_hour);
	if (c->spike_prob_per_hour > 0) {
		if (!(isfinite(c->spike_mult) && c->spike_mult >= 0))
			return ks_err_set(err, KS_EINVAL,
					  "usage curve: spike multiplier %g is not >= 0",
					  c->spike_mult);
		if (!(c->spike_minutes > 0 && c->spike_minutes <= 1440))
			return ks_err_set(err, KS_EINVAL,
					  "usage curve: spike duration %g minutes is not in "
					  "(0, 1440]",
					  c->spike_minutes);
	}
	return 0;
}

static double growth(const struct sim_usage_curve *c, int64_t t)
{
	if (c->growth_per_day == 0)
		return 1;
	double days = (double)(t - c->growth_origin_s) / 86400.0;
	return exp(days * log1p(c->growth_per_day));
}

/* 1 + amp * cos(2 pi (hour - peak) / 24), with the hour of the UTC day as a fraction. */
static double daily(const struct sim_usage_curve *c, int64_t t, double amp)
{
	int64_t sod = t - floordiv(t, 86400) * 86400;
	double phase = (double)(sod - (int64_t)c->peak_hour * 3600) / 86400.0;
	return 1 + amp * cos(2 * M_PI * phase);
}

bool sim_usage_spike_at(const struct sim_usage_curve *c, int64_t t)
{
	if (!(c->spike_prob_per_hour > 0))
		return false;
	double dur = c->spike_minutes * 60;
	if (dur > 86400)
		dur = 86400;
	int64_t h = floordiv(t, 3600);
	for (int64_t k = h - (int64_t)ceil(dur / 3600); k <= h; k++) {
		if (hash01(c->seed, STREAM_SPIKE, k) >= c->spike_prob_per_hour)
			continue;
		int64_t start = k * 3600 + (int64_t)(hash01(c->seed, STREAM_SPIKE_OFF, k) * 3600);
		if (t >= start && (double)(t - start) < dur)
			return true;
	}
	return false;
}

/* The CPU value of step k, evaluated at the step's start. */
static double cpu_step(const struct sim_usage_curve *c, int64_t k)
{
	int64_t s = k * SIM_USAGE_CPU_STEP_S;
	double u = 2 * hash01(c->seed, STREAM_CPU_NOISE, k) - 1;
	double v = c->base_cpu_m * growth(c, s) * daily(c, s, c->daily_amp) * (1 + c->noise * u);
	if (sim_usage_spike_at(c, s))
		v *= c->spike_mult;
	return v;
}

double sim_usage_cpu_m(const struct sim_usage_curve *c, int64_t sim_time_s)
{
	return cpu_step(c, floordiv(sim_time_s, SIM_USAGE_CPU_STEP_S));
}

double sim_usage_mem_mib(const struct sim_usage_curve *c, int64_t t)
{
	int64_t k = floordiv(t, SIM_USAGE_MEM_KNOT_S);
	double f = (double)(t - k * SIM_USAGE_MEM_KNOT_S) / SIM_USAGE_MEM_KNOT_S;
	double w = (1 - cos(M_PI * f)) / 2;
	double a = 2 * hash01(c->seed, STREAM_MEM, k) - 1;
	double b = 2 * hash01(c->seed, STREAM_MEM, k + 1) - 1;
	double n = a + (b - a) * w;
	return c->base_mem_mib * growth(c, t) * daily(c, t, c->daily_amp / 2) *
	       (1 + c->noise / 2 * n);
}

/* Sum in time order: each term is >= 0, so the result only grows with t (see usage.h). */
double sim_usage_cpu_seconds_total(const struct sim_usage_curve *c, int64_t t0, int64_t t)
{
	if (t < t0)
		return -sim_usage_cpu_seconds_total(c, t, t0);
	double sum = 0;
	int64_t s = t0;
	while (s < t) {
		int64_t k = floordiv(s, SIM_USAGE_CPU_STEP_S);
		int64_t end = (k + 1) * SIM_USAGE_CPU_STEP_S;
		if (end > t)
			end = t;
		sum += cpu_step(c, k) * (double)(end - s) / 1000.0;
		s = end;
	}
	return sum;
}

/* (real_ms - real_start_ms) * scale / 1000 with products that should land on a whole second
 * (1440 * 60000 / 1000) kept there despite binary rounding. */
int64_t sim_clock_now(const struct sim_clock *clock, int64_t real_ms)
{
	double x = (double)(real_ms - clock->real_start_ms) * clock->scale / 1000.0;
	double r = nearbyint(x);
	if (fabs(x - r) <= 1e-9 * fmax(1, fabs(x)))
		x = r;
	return clock->sim_start_s + (int64_t)floor(x);
}

int64_t sim_clock_real_ms(const struct sim_clock *clock, int64_t sim_s)
{
	double d = (double)(sim_s - clock->sim_start_s) * 1000.0 / clock->scale;
	int64_t r = clock->real_start_ms + (int64_t)ceil(d);
	/* Settle on the first millisecond exactly, whatever the rounding above did. */
	while (sim_clock_now(clock, r) < sim_s)
		r++;
	while (sim_clock_now(clock, r - 1) >= sim_s)
		r--;
	return r;
}
