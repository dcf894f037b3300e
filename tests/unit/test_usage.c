/* test_usage.c — the simulator's usage model: determinism, daily cycle, growth, noise bounds,
 * spike rate, the CPU counter (monotone, additive, equal to the gauge's integral), memory
 * smoother than CPU, parameter checks, and the simulated clock. */
#include "testutil.h"

#include "sim/usage.h"

#include <math.h>
#include <string.h>

#define DAY 86400
/* 2026-11-21T00:00:00Z: a midnight, so hour-of-day arithmetic in the tests is plain. */
#define T0 1795219200LL

static struct sim_usage_curve web(void)
{
	struct sim_usage_curve c = {
		.base_cpu_m = 250,
		.base_mem_mib = 512,
		.daily_amp = 0.4,
		.peak_hour = 14,
		.noise = 0.1,
		.growth_per_day = 0.01,
		.growth_origin_s = T0,
		.spike_prob_per_hour = 0.05,
		.spike_mult = 3,
		.spike_minutes = 10,
		.seed = 42,
	};
	return c;
}

static void determinism(void **state)
{
	(void)state;
	struct sim_usage_curve a = web(), b = web();
	assert_int_equal(sim_usage_check(&a, NULL), 0);
	/* Evaluating in any order gives the same values (no hidden state). */
	for (int64_t t = T0 + 7 * DAY; t > T0 - DAY; t -= 3607) {
		assert_true(sim_usage_cpu_m(&a, t) == sim_usage_cpu_m(&b, t));
		assert_true(sim_usage_mem_mib(&a, t) == sim_usage_mem_mib(&b, t));
		assert_true(sim_usage_cpu_m(&a, t) >= 0 && sim_usage_mem_mib(&a, t) > 0);
	}
	double x = sim_usage_cpu_m(&a, T0 + 12345);
	for (int i = 0; i < 1000; i++)
		sim_usage_cpu_m(&a, T0 + i * 997);
	assert_true(sim_usage_cpu_m(&a, T0 + 12345) == x);
	/* Another seed gives another series. */
	b.seed = 43;
	int differ = 0;
	for (int i = 0; i < 100; i++)
		differ += sim_usage_cpu_m(&a, T0 + i * 60) != sim_usage_cpu_m(&b, T0 + i * 60);
	assert_true(differ > 90);
	/* CPU is constant within a step. */
	int64_t s = T0 + 10 * SIM_USAGE_CPU_STEP_S;
	for (int i = 1; i < SIM_USAGE_CPU_STEP_S; i++)
		assert_true(sim_usage_cpu_m(&a, s + i) == sim_usage_cpu_m(&a, s));
}

static void daily_peak(void **state)
{
	(void)state;
	/* Without noise, spikes and growth the peak is exactly at peak_hour:00. */
	struct sim_usage_curve c = web();
	c.noise = 0;
	c.spike_prob_per_hour = 0;
	c.growth_per_day = 0;
	int64_t best = 0;
	double max = -1, min = 1e300;
	for (int64_t t = T0 + 3 * DAY; t < T0 + 4 * DAY; t += SIM_USAGE_CPU_STEP_S) {
		double v = sim_usage_cpu_m(&c, t);
		if (v > max)
			max = v, best = t;
		min = fmin(min, v);
	}
	assert_int_equal(best, T0 + 3 * DAY + 14 * 3600);
	assert_true(fabs(max - 250 * 1.4) < 1e-9 && fabs(min - 250 * 0.6) < 1e-6);

	/* With noise, spikes and growth, the hourly means over 20 days still peak at 14:00. */
	c = web();
	double hourly[24] = {0};
	for (int64_t t = T0; t < T0 + 20 * DAY; t += 60)
		hourly[(t - T0) % DAY / 3600] += sim_usage_cpu_m(&c, t);
	int h = 0;
	for (int i = 1; i < 24; i++)
		if (hourly[i] > hourly[h])
			h = i;
	assert_true(h >= 13 && h <= 15);
	/* Memory follows the same hour. */
	double mh[24] = {0};
	for (int64_t t = T0; t < T0 + 20 * DAY; t += 60)
		mh[(t - T0) % DAY / 3600] += sim_usage_mem_mib(&c, t);
	h = 0;
	for (int i = 1; i < 24; i++)
		if (mh[i] > mh[h])
			h = i;
	assert_true(h >= 13 && h <= 15);
}

static double day_mean_cpu(const struct sim_usage_curve *c, int64_t day_start)
{
	double s = 0;
	int n = 0;
	for (int64_t t = day_start; t < day_start + DAY; t += SIM_USAGE_CPU_STEP_S, n++)
		s += sim_usage_cpu_m(c, t);
	return s / n;
}

static void growth(void **state)
{
	(void)state;
	struct sim_usage_curve c = web();
	c.spike_prob_per_hour = 0;
	/* Daily means: noise averages out over 8640 steps, the cosine over a whole day. */
	double d0 = day_mean_cpu(&c, T0), d30 = day_mean_cpu(&c, T0 + 30 * DAY);
	double want = pow(1.01, 30); /* 1.3478 */
	assert_true(fabs(d30 / d0 - want) < 0.01 * want);
	/* Day 0's mean is the base, within the growth over that day and the noise. */
	assert_true(fabs(d0 - 250) < 250 * 0.01);
	/* Memory without noise grows exactly by the compounding factor at the same instant. */
	c.noise = 0;
	double m0 = sim_usage_mem_mib(&c, T0 + 5000);
	double m30 = sim_usage_mem_mib(&c, T0 + 30 * DAY + 5000);
	assert_true(fabs(m30 / m0 - want) < 1e-9);
	/* Shrinking works too, and before the origin the curve is smaller. */
	c.growth_per_day = -0.02;
	assert_true(fabs(sim_usage_mem_mib(&c, T0 + 10 * DAY) / sim_usage_mem_mib(&c, T0) -
			 pow(0.98, 10)) < 1e-9);
	c.growth_per_day = 0.01;
	assert_true(sim_usage_mem_mib(&c, T0 - DAY) < sim_usage_mem_mib(&c, T0));
}

static void noise_bounded(void **state)
{
	(void)state;
	struct sim_usage_curve c = web(), smooth = web();
	c.spike_prob_per_hour = smooth.spike_prob_per_hour = 0;
	smooth.noise = 0;
	double lo = 1e9, hi = -1e9, mlo = 1e9, mhi = -1e9;
	for (int64_t t = T0; t < T0 + 10 * DAY; t += 7) {
		double r = sim_usage_cpu_m(&c, t) / sim_usage_cpu_m(&smooth, t);
		lo = fmin(lo, r), hi = fmax(hi, r);
		double m = sim_usage_mem_mib(&c, t) / sim_usage_mem_mib(&smooth, t);
		mlo = fmin(mlo, m), mhi = fmax(mhi, m);
	}
	/* CPU within +-10% and using most of that range; memory within +-5%. */
	assert_true(lo >= 0.9 - 1e-12 && hi < 1.1);
	assert_true(lo < 0.905 && hi > 1.095);
	assert_true(mlo >= 0.95 - 1e-12 && mhi <= 1.05 + 1e-12);
	assert_true(mlo < 0.96 && mhi > 1.04);
}

static void spikes(void **state)
{
	(void)state;
	struct sim_usage_curve c = web();
	const int hours = 20000;
	int spiky_hours = 0;
	long spiky_seconds = 0;
	for (int64_t h = 0; h < hours; h++) {
		bool any = false;
		for (int64_t t = T0 + h * 3600; t < T0 + (h + 1) * 3600; t += 60) {
			bool s = sim_usage_spike_at(&c, t);
			any |= s;
			spiky_seconds += s ? 60 : 0;
		}
		spiky_hours += any;
	}
	/* Expected 5% of 20000 hours hold a spike start: 1000, sd ~31; a spike running over an
	 * hour boundary marks two hours (about 1/6 of spikes of 10 minutes). Bound: 5 sd. */
	double starts = 0.05 * hours, expect_hours = starts * (1 + 10.0 / 60);
	assert_true(fabs(spiky_hours - expect_hours) < 5 * sqrt(expect_hours));
	/* Time in spikes: 10 minutes per spike. */
	double expect_s = starts * 600;
	assert_true(fabs((double)spiky_seconds - expect_s) < 0.1 * expect_s);

	/* A spike multiplies CPU by spike_mult; memory is unaffected. */
	struct sim_usage_curve calm = c;
	calm.spike_prob_per_hour = 0;
	int seen = 0;
	for (int64_t t = T0; t < T0 + 200 * 3600 && seen < 20; t += SIM_USAGE_CPU_STEP_S) {
		if (!sim_usage_spike_at(&c, t))
			continue;
		seen++;
		assert_true(fabs(sim_usage_cpu_m(&c, t) - 3 * sim_usage_cpu_m(&calm, t)) < 1e-9);
		assert_true(sim_usage_mem_mib(&c, t) == sim_usage_mem_mib(&calm, t));
	}
	assert_int_equal(seen, 20);

	/* Probability 0 and 1. */
	c.spike_prob_per_hour = 0;
	for (int64_t t = T0; t < T0 + DAY; t += 600)
		assert_false(sim_usage_spike_at(&c, t));
	c.spike_prob_per_hour = 1;
	for (int64_t h = 0; h < 24; h++) {
		bool any = false;
		for (int64_t t = T0 + h * 3600; t < T0 + (h + 1) * 3600 && !any; t++)
			any = sim_usage_spike_at(&c, t);
		assert_true(any);
	}
}

static void counter(void **state)
{
	(void)state;
	struct sim_usage_curve c = web();
	int64_t first_spike = T0;
	while (!sim_usage_spike_at(&c, first_spike))
		first_spike++;
	const int64_t start = first_spike - 3 * 3600 - 3;
	/* Monotone, second by second, over six hours (spikes included: the seed has some). */
	double prev = 0;
	int spiky = 0;
	for (int64_t t = start; t <= start + 6 * 3600; t++) {
		spiky += sim_usage_spike_at(&c, t);
		double v = sim_usage_cpu_seconds_total(&c, start, t);
		assert_true(v >= prev);
		prev = v;
	}
	assert_true(spiky > 0);
	assert_true(sim_usage_cpu_seconds_total(&c, start, start) == 0);
	/* Additive at arbitrary split points, within 1e-9 relative. */
	const int64_t t2 = start + 30 * DAY + 17;
	double whole = sim_usage_cpu_seconds_total(&c, start, t2);
	int64_t splits[] = {start + 1, start + 9, start + 12345, start + 7 * DAY + 5,
			    start + 29 * DAY + 3599, t2 - 1};
	for (size_t i = 0; i < KS_ARRAY_LEN(splits); i++) {
		double a = sim_usage_cpu_seconds_total(&c, start, splits[i]);
		double b = sim_usage_cpu_seconds_total(&c, splits[i], t2);
		assert_true(fabs(a + b - whole) <= 1e-9 * whole);
	}
	/* Incremental accumulation (how a live simulator scrapes) equals the total. */
	double acc = 0;
	for (int64_t t = start; t < t2; t += 86399)
		acc += sim_usage_cpu_seconds_total(&c, t, t + 86399 < t2 ? t + 86399 : t2);
	assert_true(fabs(acc - whole) <= 1e-9 * whole);
	/* Reversed bounds are negative. */
	assert_true(sim_usage_cpu_seconds_total(&c, start + 100, start) ==
		    -sim_usage_cpu_seconds_total(&c, start, start + 100));
	/* The counter's rate is the gauge: over one step, total = cpu_m / 1000 * 10 s. */
	int64_t s = T0 + 100 * SIM_USAGE_CPU_STEP_S;
	assert_true(fabs(sim_usage_cpu_seconds_total(&c, s, s + SIM_USAGE_CPU_STEP_S) -
			 sim_usage_cpu_m(&c, s) / 1000 * SIM_USAGE_CPU_STEP_S) < 1e-12);
	/* A day at ~250m and +1%/day: about 0.25 * 86400 * 1.005 cpu seconds. */
	double day = sim_usage_cpu_seconds_total(&c, T0, T0 + DAY);
	assert_true(day > 0.25 * DAY && day < 0.25 * DAY * 1.2);
}

static void memory_smoother(void **state)
{
	(void)state;
	struct sim_usage_curve c = web();
	c.spike_prob_per_hour = 0;
	/* Mean absolute relative step between 15 s samples. */
	double dcpu = 0, dmem = 0;
	int n = 0;
	for (int64_t t = T0 + 15; t < T0 + 3 * DAY; t += 15, n++) {
		dcpu += fabs(sim_usage_cpu_m(&c, t) / sim_usage_cpu_m(&c, t - 15) - 1);
		dmem += fabs(sim_usage_mem_mib(&c, t) / sim_usage_mem_mib(&c, t - 15) - 1);
	}
	dcpu /= n, dmem /= n;
	assert_true(dmem * 10 < dcpu);
	/* Memory is continuous: no jump at a knot boundary. */
	int64_t k = T0 + 7 * SIM_USAGE_MEM_KNOT_S;
	double jump = fabs(sim_usage_mem_mib(&c, k) - sim_usage_mem_mib(&c, k - 1));
	assert_true(jump < 512 * 0.001);
}

static void check_params(void **state)
{
	(void)state;
	struct ks_err e = {0};
	struct sim_usage_curve c = web();
	assert_int_equal(sim_usage_check(&c, &e), 0);
	c.daily_amp = 1;
	assert_int_equal(sim_usage_check(&c, &e), KS_EINVAL);
	assert_contains(e.msg, "daily amplitude 1 is not in [0, 1)");
	c = web();
	c.peak_hour = 24;
	assert_int_equal(sim_usage_check(&c, &e), KS_EINVAL);
	c = web();
	c.noise = NAN;
	assert_int_equal(sim_usage_check(&c, &e), KS_EINVAL);
	c = web();
	c.growth_per_day = -1;
	assert_int_equal(sim_usage_check(&c, &e), KS_EINVAL);
	c = web();
	c.spike_minutes = 0;
	assert_int_equal(sim_usage_check(&c, &e), KS_EINVAL);
	assert_contains(e.msg, "spike duration");
	c.spike_prob_per_hour = 0; /* duration is not needed without spikes */
	assert_int_equal(sim_usage_check(&c, &e), 0);
}

static void clock_mapping(void **state)
{
	(void)state;
	struct sim_clock day_per_min = {1440, 1000000, T0};
	assert_int_equal(sim_clock_now(&day_per_min, 1000000), T0);
	assert_int_equal(sim_clock_now(&day_per_min, 1000000 + 60000), T0 + DAY);
	assert_int_equal(sim_clock_now(&day_per_min, 1000000 + 1000), T0 + 1440);
	assert_int_equal(sim_clock_now(&day_per_min, 1000001), T0 + 1);     /* 1.44 s */
	assert_int_equal(sim_clock_now(&day_per_min, 999999), T0 - 2);      /* -1.44 s */
	assert_int_equal(sim_clock_now(&day_per_min, 1000000 + 30 * 60000), T0 + 30 * DAY);
	struct sim_clock real = {1, 5000, 100};
	assert_int_equal(sim_clock_now(&real, 5999), 100);
	assert_int_equal(sim_clock_now(&real, 6000), 101);
	assert_int_equal(sim_clock_now(&real, 4999), 99);
	struct sim_clock tenth = {0.1, 0, 0};
	assert_int_equal(sim_clock_now(&tenth, 10000), 1);
	assert_int_equal(sim_clock_now(&tenth, 9999), 0);
	assert_int_equal(sim_clock_now(&tenth, 30000), 3);

	/* sim_clock_real_ms is the first real millisecond that reaches a simulated second. */
	struct sim_clock *clocks[] = {&day_per_min, &real, &tenth};
	for (size_t i = 0; i < KS_ARRAY_LEN(clocks); i++) {
		for (int64_t d = -50; d < 5000; d += 7) {
			int64_t s = clocks[i]->sim_start_s + d;
			int64_t r = sim_clock_real_ms(clocks[i], s);
			assert_true(sim_clock_now(clocks[i], r) >= s);
			assert_true(sim_clock_now(clocks[i], r - 1) < s);
		}
	}
	assert_int_equal(sim_clock_real_ms(&day_per_min, T0 + DAY), 1000000 + 60000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(determinism),     cmocka_unit_test(daily_peak),
		cmocka_unit_test(growth),          cmocka_unit_test(noise_bounded),
		cmocka_unit_test(spikes),          cmocka_unit_test(counter),
		cmocka_unit_test(memory_smoother), cmocka_unit_test(check_params),
		cmocka_unit_test(clock_mapping),
	};
	return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
