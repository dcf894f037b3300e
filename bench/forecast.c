/* forecast.c — how long fitting the seasonal model takes.
 *   forecast [--series N] [--days D] [--step S]
 * N series (default 1,000) of D days (default 8) at S-second steps (default 300: 2,304
 * samples a series, a season of 288), each a daily cycle with its own level, amplitude,
 * trend and noise and 1% of samples missing; generating them is not timed. Times fc_hw_fit
 * over every series, then a day's forecast (fc_hw_forecast) and the anomaly scan
 * (fc_anomaly_detect, which fits twice). Prints one line of JSON, then a summary. */
#include "base/common.h"
#include "benchclock.h"
#include "forecast/anomaly.h"
#include "forecast/hw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


int main(int argc, char **argv)
{
	long series = 1000, days = 8;
	double step = 300;
	const struct bench_opt opts[] = {
		{"--series", &series, NULL}, {"--days", &days, NULL}, {"--step", NULL, &step}};
	bench_parse_opts(argc, argv, opts, sizeof opts / sizeof opts[0]);
	if (series < 1 || days < 1 || !(step >= 1)) {
		fprintf(stderr, "usage: forecast [--series N] [--days D] [--step S]\n");
		return 2;
	}
	const size_t m = (size_t)(86400 / step), n = (size_t)days * m;
	double *y = ks_calloc((size_t)series * n, sizeof *y);
	for (long s = 0; s < series; s++) {
		double level = 1 + 100 * bench_rnd(), amp = level * 0.5 * bench_rnd();
		double slope = level * (bench_rnd() - 0.3) * 1e-4, noise = level * 0.05 * bench_rnd();
		for (size_t t = 0; t < n; t++) {
			double u1 = bench_rnd() + 1e-12, u2 = bench_rnd();
			double g = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
			double phase = 2 * M_PI * (double)t / (double)m;
			double v = level + slope * (double)t + amp * sin(phase) + noise * g;
			y[(size_t)s * n + t] = bench_rnd() < 0.01 ? NAN : v;
		}
	}
	struct ks_err err = {0};
	long evals = 0, seasonal = 0, anomalies = 0;
	double w0 = bench_wall_ms(), c0 = bench_cpu_ms();
	for (long s = 0; s < series; s++) {
		struct fc_hw_model mod;
		if (fc_hw_fit(y + (size_t)s * n, n, m, &mod, &err)) {
			fprintf(stderr, "series %ld: %s\n", s, err.msg);
			return 1;
		}
		evals += mod.evaluations;
		seasonal += mod.seasonal;
		fc_hw_release(&mod);
	}
	double w1 = bench_wall_ms(), c1 = bench_cpu_ms();
	for (long s = 0; s < series; s++) {
		struct fc_hw_model mod;
		struct fc_forecast f;
		if (fc_hw_fit(y + (size_t)s * n, n, m, &mod, &err) ||
		    fc_hw_forecast(&mod, m, 0.95, &f, &err)) {
			fprintf(stderr, "series %ld: %s\n", s, err.msg);
			return 1;
		}
		fc_forecast_release(&f);
		fc_hw_release(&mod);
	}
	double w2 = bench_wall_ms(), c2 = bench_cpu_ms();
	for (long s = 0; s < series; s++) {
		struct fc_anomaly_result r;
		if (fc_anomaly_detect(y + (size_t)s * n, n, m, 0, &r, &err)) {
			fprintf(stderr, "series %ld: %s\n", s, err.msg);
			return 1;
		}
		anomalies += (long)r.n;
		fc_anomaly_result_release(&r);
	}
	double w3 = bench_wall_ms(), c3 = bench_cpu_ms();
	printf("{\"series\":%ld,\"samples\":%zu,\"period\":%zu,\"fit_wall_ms\":%.1f,"
	       "\"fit_cpu_ms\":%.1f,\"fit_forecast_wall_ms\":%.1f,\"anomaly_wall_ms\":%.1f,"
	       "\"evaluations_mean\":%.1f,\"seasonal\":%ld,\"anomalies\":%ld,"
	       "\"max_rss_kib\":%ld}\n",
	       series, n, m, w1 - w0, c1 - c0, w2 - w1, w3 - w2, (double)evals / (double)series,
	       seasonal, anomalies, bench_status_kb("VmHWM"));
	printf("fit %ld series of %zu samples: %.0f ms wall, %.0f ms CPU (%.2f ms a series, "
	       "%.0f SSE evaluations on average); fit + 1-day forecast %.0f ms; anomaly scan "
	       "%.0f ms (%ld anomalies)\n",
	       series, n, w1 - w0, c1 - c0, (w1 - w0) / (double)series,
	       (double)evals / (double)series, w2 - w1, w3 - w2, anomalies);
	(void)c2;
	(void)c3;
	free(y);
	return 0;
}
