/* analyze.c — the time and memory of `kswarm analyze` on a snapshot (docs/BENCHMARKS.md).
 *   analyze SNAPSHOT [--runs N] [--filter ANALYZERS]
 * Loads the snapshot into a world (timed), then runs every default analyzer N times (3 by
 * default) on it, each run on a fresh report, and prints one JSON line: objects, pods, load
 * time, the first analysis (what `kswarm analyze` does once) and the median of the later
 * ones (decoded objects cached), raw and grouped findings, peak RSS (VmHWM) and the RSS the
 * loaded world takes. */
#include "base/common.h"
#include "base/timeutil.h"
#include "benchclock.h"
#include "diag/diag.h"
#include "world/world.h"

#include <stdio.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: analyze SNAPSHOT [--runs N]\n");
		return 2;
	}
	int runs = 3;
	const char *filter = NULL;
	for (int i = 2; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--runs"))
			runs = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--filter"))
			filter = argv[++i];
	if (runs < 1 || runs > 100)
		runs = 3;
	long rss0 = bench_status_kb("VmRSS");
	struct world *w = world_new();
	struct ks_err err = {0};
	int64_t t0 = ks_mono_ms();
	if (world_load_snapshot(w, argv[1], &err)) {
		fprintf(stderr, "analyze: %s\n", err.msg);
		return 1;
	}
	int64_t load_ms = ks_mono_ms() - t0;
	long rss_world = bench_status_kb("VmRSS") - rss0;
	double ms[100];
	size_t raw = 0, found = 0, scanned = 0;
	for (int r = 0; r < runs; r++) {
		struct diag_opts o = {.min_severity = DIAG_INFO, .filter = filter};
		struct diag_report rep = {0};
		if (diag_run(w, &o, &rep, &err)) {
			fprintf(stderr, "analyze: %s\n", err.msg);
			return 1;
		}
		ms[r] = rep.stats.analysis_ms;
		raw = rep.stats.raw_findings;
		found = rep.n;
		scanned = rep.stats.objects_scanned;
		diag_report_free(&rep);
	}
	double first = ms[0];
	/* the median of the later runs (all of them when there is one) */
	double *later = runs > 1 ? ms + 1 : ms;
	int nlater = runs > 1 ? runs - 1 : 1;
	qsort(later, (size_t)nlater, sizeof ms[0], cmp_double);
	double median = later[nlater / 2];
	qsort(ms, (size_t)runs, sizeof ms[0], cmp_double);
	struct world_stats ws;
	world_get_stats(w, &ws);
	printf("{\"snapshot\":\"%s\",\"objects\":%llu,\"pods\":%zu,\"load_ms\":%lld,"
	       "\"analysis_ms_first\":%.1f,\"analysis_ms_median_later\":%.1f,"
	       "\"analysis_ms_min\":%.1f,\"analysis_ms_max\":%.1f,"
	       "\"runs\":%d,\"objects_scanned\":%zu,\"raw_findings\":%zu,\"findings\":%zu,"
	       "\"world_rss_kb\":%ld,\"peak_rss_kb\":%ld}\n",
	       argv[1], (unsigned long long)ws.objects, world_count(w, WK_POD),
	       (long long)load_ms, first, median, ms[0], ms[runs - 1], runs, scanned, raw, found,
	       rss_world, bench_status_kb("VmHWM"));
	world_free(w);
	return 0;
}
