/* rightsize.c — how long the right-sizing histogram work takes once samples are in memory.
 *   rightsize [--pods N] [--cpu-samples K] [--step S]
 * N pods (default 150,000) in Deployments of 10 replicas, one container each plus a sidecar
 * in every fourth pod; K CPU samples a container (default 192: 8 days at 1 h, the step
 * rs_fetch_prometheus picks for a cluster this size under its point budget; 2016 is 7 days at
 * 5 min) and one memory peak per 24 h interval (8), an OOM kill in every 100th container.
 * Samples come from a pool of 997 pre-generated series (daily cycle, noise, levels from 2m
 * to 2 cores), so generating them is not timed. Times: filling the set (CPU histograms,
 * memory peaks), then rs_recommend (memory histograms folded, every estimate). Prints one
 * line of JSON, then a summary. */
#include "base/common.h"
#include "benchclock.h"
#include "cost/rightsize.h"
#include "metrics/prom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define POOL 997
#define REF 1795132800.0

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}


static const char *workload_of(void *ctx, const char *ns, const char *pod)
{
	/* "w123-4" -> "w123": the pool of names is the caller's, kept in ctx. */
	char **names = ctx;
	long idx = strtol(pod + 1, NULL, 10);
	return names[idx];
}

int main(int argc, char **argv)
{
	long pods = 150000, k = 192;
	double step = 3600;
	const struct bench_opt opts[] = {
		{"--pods", &pods, NULL}, {"--cpu-samples", &k, NULL}, {"--step", NULL, &step}};
	bench_parse_opts(argc, argv, opts, sizeof opts / sizeof opts[0]);
	if (pods < 1 || k < 1 || !(step > 0)) {
		fprintf(stderr, "usage: rightsize [--pods N] [--cpu-samples K] [--step S]\n");
		return 2;
	}
	/* The pool: CPU series in cores, memory peaks in bytes. */
	struct prom_sample *cpu = ks_calloc((size_t)POOL * (size_t)k, sizeof(*cpu));
	struct prom_sample *mem = ks_calloc((size_t)POOL * RS_MEM_INTERVALS, sizeof(*mem));
	for (int p = 0; p < POOL; p++) {
		double level = 0.002 * pow(1000, bench_rnd()), mlevel = 16e6 * pow(250, bench_rnd());
		for (long j = 0; j < k; j++) {
			double t = REF - (double)(k - 1 - j) * step;
			double day = 2 * M_PI * fmod(t, 86400) / 86400;
			cpu[p * k + j] = (struct prom_sample){
				.t = t, .v = level * (1 + 0.5 * sin(day)) * (0.8 + 0.4 * bench_rnd())};
		}
		for (int j = 0; j < RS_MEM_INTERVALS; j++)
			mem[p * RS_MEM_INTERVALS + j] = (struct prom_sample){
				.t = REF - j * RS_MEM_INTERVAL_S - 1,
				.v = mlevel * (0.9 + 0.2 * bench_rnd())};
	}
	long deployments = (pods + 9) / 10;
	char **wl = ks_calloc((size_t)pods, sizeof(*wl));
	char **dep = ks_calloc((size_t)deployments, sizeof(*dep));
	char **pod_names = ks_calloc((size_t)pods, sizeof(*pod_names));
	for (long d = 0; d < deployments; d++)
		dep[d] = ks_asprintf("Deployment/d%ld", d);
	for (long p = 0; p < pods; p++) {
		wl[p] = dep[p / 10];
		pod_names[p] = ks_asprintf("p%ld-x7k2q", p);
	}
	long containers = pods + (pods + 3) / 4;
	struct rs_spec *specs = ks_calloc((size_t)deployments * 2, sizeof(*specs));
	size_t nspecs = 0;
	for (long d = 0; d < deployments; d++) {
		bool sidecar = false;
		for (long p = d * 10; p < d * 10 + 10 && p < pods; p++)
			sidecar |= p % 4 == 0;
		specs[nspecs++] = (struct rs_spec){
			.ns = "bench", .workload = dep[d], .container = "app",
			.pod_containers = sidecar ? 2 : 1, .cpu_request = 0.5,
			.mem_request = 512.0 * 1024 * 1024, .hpa_on_cpu = d % 7 == 0};
		if (sidecar)
			specs[nspecs++] = (struct rs_spec){
				.ns = "bench", .workload = dep[d], .container = "sidecar",
				.pod_containers = 2, .cpu_request = 0.05,
				.mem_request = 64.0 * 1024 * 1024};
	}
	long rss0 = max_rss_kib();

	double w0 = bench_wall_ms(), c0 = bench_cpu_ms();
	struct rs_set_opts so = {.ref_time = REF, .cpu_step_s = step, .workload_of = workload_of,
				 .workload_ctx = wl};
	struct rs_set *set = rs_set_new(&so);
	long n = 0;
	for (long p = 0; p < pods; p++) {
		for (int c = 0; c < (p % 4 == 0 ? 2 : 1); c++, n++) {
			const char *ctr = c ? "sidecar" : "app";
			long s = n % POOL;
			rs_set_add_cpu(set, "bench", pod_names[p], ctr, &cpu[s * k], (size_t)k);
			rs_set_add_memory(set, "bench", pod_names[p], ctr,
					  &mem[s * RS_MEM_INTERVALS], RS_MEM_INTERVALS);
			if (n % 100 == 0)
				rs_set_add_oom(set, "bench", pod_names[p], ctr, REF - 3600);
		}
	}
	double w1 = bench_wall_ms(), c1 = bench_cpu_ms();
	struct rs_rec *recs = NULL;
	struct ks_err err = {0};
	if (rs_recommend(set, specs, nspecs, &recs, &err)) {
		fprintf(stderr, "rightsize: %s\n", err.msg);
		return 1;
	}
	double w2 = bench_wall_ms(), c2 = bench_cpu_ms();
	long rss1 = max_rss_kib();
	size_t over = 0;
	for (size_t i = 0; i < nspecs; i++)
		over += recs[i].cpu.reason == RS_REASON_OVER_REQUESTED;
	double samples = (double)containers * (double)(k + RS_MEM_INTERVALS);
	printf("{\"pods\":%ld,\"containers\":%ld,\"aggregates\":%zu,\"cpu_samples_per_container\":"
	       "%ld,\"samples\":%.0f,\"fill_cpu_ms\":%.1f,\"fill_wall_ms\":%.1f,"
	       "\"recommend_cpu_ms\":%.1f,\"recommend_wall_ms\":%.1f,\"ns_per_sample\":%.1f,"
	       "\"set_rss_mib\":%.1f}\n",
	       pods, containers, rs_set_size(set), k, samples, c1 - c0, w1 - w0, c2 - c1, w2 - w1,
	       (c2 - c0) * 1e6 / samples, (double)(rss1 - rss0) / 1024);
	printf("%ld pods, %ld containers -> %zu aggregates (%zu recommendations, %zu CPU "
	       "over-requested): %.0f samples; fill %.0f ms CPU, recommend %.0f ms CPU: "
	       "%.0f ms in all (%.1f ns a sample)\n",
	       pods, containers, rs_set_size(set), nspecs, over, samples, c1 - c0, c2 - c1,
	       c2 - c0, (c2 - c0) * 1e6 / samples);
	free(recs);
	rs_set_free(set);
	for (long d = 0; d < deployments; d++)
		free(dep[d]);
	for (long p = 0; p < pods; p++)
		free(pod_names[p]);
	free(pod_names);
	free(dep);
	free(wl);
	free(specs);
	free(cpu);
	free(mem);
	return 0;
}
