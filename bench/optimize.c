/* optimize.c — the time and memory of `kswarm optimize` on a snapshot (docs/BENCHMARKS.md).
 *   optimize SNAPSHOT [--json-only]
 * Loads the snapshot into a world (timed apart, like bench/analyze), loads the instance
 * catalog (cost_catalog_default_path: set KSWARM_DATA_DIR=$PWD/data when running from
 * build/bench) with its built-in prices, then runs opt_run twice, without usage history,
 * spot policy "keep":
 *   1. first: what `kswarm optimize` does once (wall and CPU ms, the peak RSS during the run
 *      over the RSS before it — /proc/self/clear_refs resets the peak first);
 *   2. again: the steady state (opt_run keeps nothing between runs; the world's decoded
 *      objects and the allocator's pages are warm).
 * Where the time goes, from outside opt_run: the Makefile links this program with
 * -Wl,--wrap=cost_pack_solve, so every packing opt_run asks for passes through
 * __wrap_cost_pack_solve below, which adds up its wall time and the result's own split (the
 * LP: bound_ms; the heuristic: heuristic_ms), with the groups and types of the largest.
 * opt_run's time less the packings' is the model (pools, nodes, pods, groups, DaemonSet
 * overhead, workloads) and the report. (opt_opts.no_pack_bound cannot split it: the LP's
 * split and duals feed the heuristic, so it is always solved.)
 * Per NodePool (from run 1): pods, pod groups, candidates and the time their packings took,
 * current and recommended $/h, the lower bound, the gap of the recommendation (the report's)
 * and the smallest gap of a feasible candidate; in the JSON also each candidate's cost,
 * bound, gap and packing time (packings matched to candidates in order: see call_of).
 * Prints one JSON line (the only output with --json-only), then a table. */
#include "base/common.h"
#include "base/json.h"
#include "benchclock.h"
#include "cost/catalog.h"
#include "cost/optimize.h"
#include "cost/pack.h"
#include "cost/pricing.h"
#include "world/world.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Reset VmHWM to the current RSS (Linux 4.0+); false when the kernel refuses. */
static bool reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (!f)
		return false;
	bool ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

/* The packings of one opt_run, added up by the wrapper; the first MAX_CALLS one by one. */
#define MAX_CALLS 256
struct pack_call {
	size_t groups, types;
	double ms, bound_ms;
};
struct pack_stats {
	size_t calls;
	double ms, bound_ms, heuristic_ms, max_ms;
	size_t max_groups, max_types; /* of the slowest call */
	struct pack_call each[MAX_CALLS];
};
static struct pack_stats pack_now;

int __real_cost_pack_solve(const struct cost_pack_input *in, struct cost_pack_result *out,
			   struct ks_err *err);
int __wrap_cost_pack_solve(const struct cost_pack_input *in, struct cost_pack_result *out,
			   struct ks_err *err);

int __wrap_cost_pack_solve(const struct cost_pack_input *in, struct cost_pack_result *out,
			   struct ks_err *err)
{
	double t0 = bench_wall_ms();
	int rc = __real_cost_pack_solve(in, out, err);
	double ms = bench_wall_ms() - t0;
	pack_now.calls++;
	pack_now.ms += ms;
	if (!rc) {
		pack_now.bound_ms += out->bound_ms;
		pack_now.heuristic_ms += out->heuristic_ms;
	}
	if (pack_now.calls <= MAX_CALLS)
		pack_now.each[pack_now.calls - 1] = (struct pack_call){
			in->n_groups, in->n_types, ms, rc ? 0 : out->bound_ms};
	if (ms > pack_now.max_ms) {
		pack_now.max_ms = ms;
		pack_now.max_groups = in->n_groups;
		pack_now.max_types = in->n_types;
	}
	return rc;
}

struct timed_run {
	double wall_ms, cpu_ms;
	long rss_before_kb, rss_after_kb, peak_kb; /* peak: VmHWM after, -1 when not reset */
	struct pack_stats pack;
};

static int run_once(struct world *w, const struct opt_opts *o, struct opt_report *rep,
		    struct timed_run *t, struct ks_err *err)
{
	t->rss_before_kb = bench_status_kb("VmRSS");
	bool reset = reset_peak_rss();
	pack_now = (struct pack_stats){0};
	double c0 = bench_cpu_ms(), w0 = bench_wall_ms();
	int rc = opt_run(w, o, rep, err);
	t->wall_ms = bench_wall_ms() - w0;
	t->cpu_ms = bench_cpu_ms() - c0;
	t->peak_kb = reset ? bench_status_kb("VmHWM") : -1;
	t->rss_after_kb = bench_status_kb("VmRSS");
	t->pack = pack_now;
	return rc;
}

/* A cost the report gives as < 0 when there is none, as NAN. */
static double hourly_or_null(double usd) { return usd < 0 ? NAN : usd; }

static void add_num(cJSON *o, const char *k, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, round(v * 1e4) / 1e4);
}

/* The smallest gap among the pool's feasible candidates (NAN: none has a bound). */
static double best_gap(const struct opt_pool *p)
{
	double g = NAN;
	for (size_t i = 0; i < p->n_cands; i++) {
		const struct opt_candidate *c = &p->cands[i];
		if (c->feasible && !isnan(c->gap_pct) && (isnan(g) || c->gap_pct < g))
			g = c->gap_pct;
	}
	return g;
}

/* The packing of candidate c of pool p, when the calls match the report's candidates one to
 * one, in order (opt_run packs each candidate once, pools in order; checked by the counts and
 * the number of types), else NULL. */
static const struct pack_call *call_of(const struct opt_report *r, const struct pack_stats *ps,
				       size_t p, size_t c)
{
	size_t k = 0, at = 0;
	for (size_t i = 0; i < r->n_pools; i++)
		for (size_t j = 0; j < r->pools[i].n_cands; j++, k++) {
			if (k >= ps->calls || k >= MAX_CALLS ||
			    ps->each[k].types != r->pools[i].cands[j].types_considered)
				return NULL;
			if (i == p && j == c)
				at = k;
		}
	return k == ps->calls ? &ps->each[at] : NULL;
}

static cJSON *pool_json(const struct opt_report *r, const struct pack_stats *ps, size_t pi)
{
	const struct opt_pool *p = &r->pools[pi];
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", p->name);
	cJSON_AddNumberToObject(j, "pods", (double)p->pods);
	cJSON_AddNumberToObject(j, "pending_pods", (double)p->pending_pods);
	cJSON_AddNumberToObject(j, "current_nodes", (double)p->current.nodes);
	add_num(j, "current_usd_hr", p->current.hourly_usd);
	cJSON_AddNumberToObject(j, "recommended_nodes", (double)p->recommended.nodes);
	add_num(j, "recommended_usd_hr", p->recommended.hourly_usd);
	add_num(j, "lower_bound_usd_hr",
		hourly_or_null(p->lower_bound_monthly_usd) / OPT_HOURS_PER_MONTH);
	add_num(j, "gap_pct", p->gap_pct);
	add_num(j, "best_candidate_gap_pct", best_gap(p));
	cJSON_AddStringToObject(j, "chosen", p->chosen >= 0 ? p->cands[p->chosen].name : "keep");
	const struct pack_call *first = p->n_cands ? call_of(r, ps, pi, 0) : NULL;
	if (first)
		cJSON_AddNumberToObject(j, "groups", (double)first->groups);
	cJSON *cands = cJSON_AddArrayToObject(j, "candidates");
	for (size_t i = 0; i < p->n_cands; i++) {
		const struct opt_candidate *c = &p->cands[i];
		cJSON *cj = cJSON_CreateObject();
		cJSON_AddStringToObject(cj, "name", c->name);
		cJSON_AddBoolToObject(cj, "feasible", c->feasible);
		cJSON_AddNumberToObject(cj, "types", (double)c->types_considered);
		cJSON_AddNumberToObject(cj, "nodes", (double)c->mix.nodes);
		add_num(cj, "usd_hr", c->mix.hourly_usd);
		add_num(cj, "lower_bound_usd_hr", hourly_or_null(c->lower_bound_usd_hr));
		add_num(cj, "gap_pct", c->gap_pct);
		const struct pack_call *pc = call_of(r, ps, pi, i);
		if (pc) {
			add_num(cj, "pack_ms", pc->ms);
			add_num(cj, "pack_lp_ms", pc->bound_ms);
		}
		cJSON_AddItemToArray(cands, cj);
	}
	return j;
}

static void table(const struct opt_report *r, const struct pack_stats *ps)
{
	printf("\n%-14s %7s %6s %5s %8s %6s %10s %10s %10s %7s %7s  %s\n", "pool", "pods",
	       "groups", "cands", "pack ms", "nodes", "current/h", "recomm./h", "bound/h", "gap%",
	       "best%", "chosen");
	for (size_t i = 0; i < r->n_pools; i++) {
		const struct opt_pool *p = &r->pools[i];
		double ms = 0;
		long groups = -1;
		for (size_t c = 0; c < p->n_cands; c++) {
			const struct pack_call *pc = call_of(r, ps, i, c);
			ms += pc ? pc->ms : NAN;
			groups = pc ? (long)pc->groups : -1;
		}
		printf("%-14s %7lld %6ld %5zu %8.0f %6lld %10.4f %10.4f %10.4f %7.2f %7.2f  %s\n",
		       p->name, (long long)p->pods, groups, p->n_cands, ms,
		       (long long)p->recommended.nodes,
		       p->current.hourly_usd, p->recommended.hourly_usd,
		       hourly_or_null(p->lower_bound_monthly_usd) / OPT_HOURS_PER_MONTH, p->gap_pct,
		       best_gap(p),
		       p->chosen >= 0 ? p->cands[p->chosen].name : "keep");
	}
	printf("groups: pod groups packed (-1: the packings did not match the candidates); pack "
	       "ms: every candidate's packing;\ngap%%: the recommendation (or the kept current "
	       "mix) over the LP bound of the chosen types; best%%: the smallest gap of a "
	       "feasible candidate\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || (argc > 2 && strcmp(argv[2], "--json-only")) || argc > 3) {
		fprintf(stderr, "usage: optimize SNAPSHOT [--json-only]\n");
		return 2;
	}
	bool json_only = argc == 3;
	struct ks_err err = {0};
	char *path = cost_catalog_default_path();
	struct cost_catalog *cat = NULL;
	if (cost_catalog_load(path, &cat, &err)) {
		fprintf(stderr, "optimize: %s (set KSWARM_DATA_DIR=$PWD/data)\n", err.msg);
		free(path);
		return 1;
	}
	free(path);
	struct cost_prices *prices = cost_prices_from_catalog(cat);

	long rss0 = bench_status_kb("VmRSS");
	struct world *w = world_new();
	struct opt_report first = {0}, again = {0};
	int status = 1;
	double t0 = bench_wall_ms();
	if (world_load_snapshot(w, argv[1], &err)) {
		fprintf(stderr, "optimize: %s\n", err.msg);
		goto out;
	}
	double load_ms = bench_wall_ms() - t0;
	long rss_world = bench_status_kb("VmRSS") - rss0;

	struct opt_opts o = {.cat = cat, .prices = prices, .spot = OPT_SPOT_KEEP};
	struct timed_run t1, t2;
	if (run_once(w, &o, &first, &t1, &err) || run_once(w, &o, &again, &t2, &err)) {
		fprintf(stderr, "optimize: %s\n", err.msg);
		goto out;
	}

	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "snapshot", argv[1]);
	cJSON_AddNumberToObject(j, "pods", (double)world_count(w, WK_POD));
	cJSON_AddNumberToObject(j, "nodes", (double)first.nodes);
	cJSON_AddNumberToObject(j, "pools", (double)first.n_pools);
	cJSON_AddNumberToObject(j, "workloads", (double)first.n_workloads);
	cJSON_AddNumberToObject(j, "load_ms", round(load_ms));
	add_num(j, "optimize_ms_first", t1.wall_ms);
	add_num(j, "optimize_cpu_ms_first", t1.cpu_ms);
	add_num(j, "optimize_ms_again", t2.wall_ms);
	add_num(j, "optimize_cpu_ms_again", t2.cpu_ms);
	cJSON_AddNumberToObject(j, "packings", (double)t1.pack.calls);
	add_num(j, "pack_ms", t1.pack.ms);
	add_num(j, "pack_lp_ms", t1.pack.bound_ms);
	add_num(j, "pack_heuristic_ms", t1.pack.heuristic_ms);
	add_num(j, "model_and_report_ms", t1.wall_ms - t1.pack.ms);
	add_num(j, "slowest_pack_ms", t1.pack.max_ms);
	cJSON_AddNumberToObject(j, "slowest_pack_groups", (double)t1.pack.max_groups);
	cJSON_AddNumberToObject(j, "slowest_pack_types", (double)t1.pack.max_types);
	/* each packing in the order opt_run asked: [groups, types, ms, LP ms] */
	cJSON *calls = cJSON_AddArrayToObject(j, "pack_calls");
	for (size_t i = 0; i < t1.pack.calls && i < MAX_CALLS; i++) {
		const struct pack_call *c = &t1.pack.each[i];
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)c->groups));
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)c->types));
		cJSON_AddItemToArray(a, cJSON_CreateNumber(round(c->ms * 10) / 10));
		cJSON_AddItemToArray(a, cJSON_CreateNumber(round(c->bound_ms * 10) / 10));
		cJSON_AddItemToArray(calls, a);
	}
	cJSON_AddNumberToObject(j, "world_rss_kb", (double)rss_world);
	cJSON_AddNumberToObject(j, "rss_before_kb", (double)t1.rss_before_kb);
	cJSON_AddNumberToObject(j, "optimize_peak_rss_kb", (double)t1.peak_kb);
	cJSON_AddNumberToObject(j, "optimize_peak_delta_kb",
				t1.peak_kb < 0 ? -1 : (double)(t1.peak_kb - t1.rss_before_kb));
	/* what the first run leaves behind: the world's cache of decoded objects (world_json) */
	cJSON_AddNumberToObject(j, "rss_kept_kb", (double)(t1.rss_after_kb - t1.rss_before_kb));
	cJSON_AddNumberToObject(j, "optimize_peak_delta_again_kb",
				t2.peak_kb < 0 ? -1 : (double)(t2.peak_kb - t2.rss_before_kb));
	add_num(j, "current_usd_hr", first.current_hourly_usd);
	add_num(j, "recommended_usd_hr", first.recommended_hourly_usd);
	double worst = NAN;
	for (size_t i = 0; i < first.n_pools; i++) {
		double g = first.pools[i].gap_pct;
		if (!isnan(g) && (isnan(worst) || g > worst))
			worst = g;
	}
	add_num(j, "max_gap_pct", worst);
	cJSON *pools = cJSON_AddArrayToObject(j, "per_pool");
	for (size_t i = 0; i < first.n_pools; i++)
		cJSON_AddItemToArray(pools, pool_json(&first, &t1.pack, i));
	char *line = ks_json_print(j);
	printf("%s\n", line);
	free(line);
	cJSON_Delete(j);

	if (!json_only) {
		printf("\n%zu pods, %lld nodes, %zu NodePools: load %.0f ms (world %ld MiB)\n",
		       world_count(w, WK_POD), (long long)first.nodes, first.n_pools, load_ms,
		       rss_world / 1024);
		printf("opt_run first %.0f ms wall, %.0f ms CPU; again %.0f ms; peak RSS during "
		       "the run +%ld MiB (again +%ld MiB), kept after it +%ld MiB\n", t1.wall_ms,
		       t1.cpu_ms, t2.wall_ms,
		       t1.peak_kb < 0 ? -1 : (t1.peak_kb - t1.rss_before_kb) / 1024,
		       t2.peak_kb < 0 ? -1 : (t2.peak_kb - t2.rss_before_kb) / 1024,
		       (t1.rss_after_kb - t1.rss_before_kb) / 1024);
		printf("  %zu packings %.0f ms (LP %.0f ms, heuristic %.0f ms; slowest %.0f ms: "
		       "%zu groups x %zu types); model and report %.0f ms\n",
		       t1.pack.calls, t1.pack.ms, t1.pack.bound_ms, t1.pack.heuristic_ms,
		       t1.pack.max_ms, t1.pack.max_groups, t1.pack.max_types,
		       t1.wall_ms - t1.pack.ms);
		table(&first, &t1.pack);
	}
	status = 0;
out:
	opt_report_free(&first);
	opt_report_free(&again);
	world_free(w);
	cost_prices_free(prices);
	cost_catalog_free(cat);
	return status;
}
