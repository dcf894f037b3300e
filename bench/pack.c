/* pack.c — time, memory and the LP gap of the node-mix packing (src/cost/pack.h) on
 * synthetic clusters (docs/PACKING.md).
 *   pack [--pods N] [--shapes S] [--seed X] [--families m6i,c6i,r6i] [--catalog FILE]
 *        [--exact-ms MS] [--amd64-only PCT] [--spread PCT]
 *        (--families all: every type of the catalog)
 * Draws S distinct pod shapes (cpu log-uniform 50m-4 cores in 50m steps, 1% of shapes large
 * at 8 cores; 1, 2, 4 or 8 GiB per core, weighted towards 2-4, in 64 MiB steps), spreads N
 * pods over them with Zipf-like replica counts, adds a DaemonSet overhead (250m, 400 MiB,
 * 4 pods) and packs them onto the catalog's types of the given families (metal sizes left
 * out: they duplicate the largest size) at on-demand prices. Prints one JSON line: pods,
 * shapes, types, the LP and heuristic times, peak RSS, nodes, cost, bound and gap; with
 * --exact-ms, also GLPK's exact optimum (cost_pack_exact) within that time, for small N.
 * --amd64-only PCT: each shape, with probability PCT%, may only use amd64 types (an allowed
 * matrix, cost_pack_input.allowed; the others go anywhere), drawn after the shapes, so the
 * pods are those of the same seed without it. --spread PCT: each shape, with probability
 * PCT%, may run at most 1, 2 or 3 pods on one node (cost_pack_group.max_per_node, a
 * hostname spread or anti-affinity), drawn after the matrix, likewise. */
#include "base/common.h"
#include "base/timeutil.h"
#include "cost/catalog.h"
#include "cost/pack.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define MIB 1048576LL

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static bool family_listed(const char *families, const char *family)
{
	if (!strcmp(families, "all"))
		return true;
	size_t n = strlen(family);
	for (const char *p = families; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && !strncmp(p, family, n))
			return true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

int main(int argc, char **argv)
{
	long pods = 10000, shapes = 200;
	uint64_t seed = 1;
	const char *families = "m6i,c6i,r6i";
	const char *catalog_path = NULL;
	long exact_ms = 0;
	double amd64_only_pct = 0, spread_pct = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--exact-ms"))
			exact_ms = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--amd64-only"))
			amd64_only_pct = strtod(argv[i + 1], NULL);
		else if (!strcmp(argv[i], "--spread"))
			spread_pct = strtod(argv[i + 1], NULL);
		else if (!strcmp(argv[i], "--pods"))
			pods = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--shapes"))
			shapes = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--families"))
			families = argv[i + 1];
		else if (!strcmp(argv[i], "--catalog"))
			catalog_path = argv[i + 1];
		else {
			fprintf(stderr, "usage: pack [--pods N] [--shapes S] [--seed X] "
					"[--families a,b] [--catalog FILE] [--exact-ms MS] "
					"[--amd64-only PCT] [--spread PCT]\n");
			return 2;
		}
	}
	if (pods < 1 || shapes < 1 || shapes > pods || shapes > 100000) {
		fprintf(stderr, "pack: need 1 <= shapes <= pods\n");
		return 2;
	}
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;

	char *path = catalog_path ? ks_strdup(catalog_path) : cost_catalog_default_path();
	struct cost_catalog *cat = NULL;
	struct ks_err err = {0};
	if (cost_catalog_load(path, &cat, &err)) {
		fprintf(stderr, "pack: %s\n", err.msg);
		free(path);
		return 1;
	}
	free(path);
	struct cost_pack_type *types = ks_calloc(cost_catalog_count(cat), sizeof *types);
	size_t nt = 0;
	for (size_t i = 0; i < cost_catalog_count(cat); i++) {
		const struct cost_instance_type *it = cost_catalog_at(cat, i);
		if (family_listed(families, it->family) && strncmp(it->size, "metal", 5))
			types[nt++] = (struct cost_pack_type){
				.it = it, .price_usd_hr = it->od_price_usd_hr,
				.max_nodes = COST_PACK_UNLIMITED};
	}
	if (!nt) {
		fprintf(stderr, "pack: no instance types in families %s\n", families);
		return 1;
	}

	struct cost_pack_group *groups = ks_calloc((size_t)shapes, sizeof *groups);
	double wsum = 0;
	for (long s = 0; s < shapes; s++)
		wsum += 1.0 / pow((double)(s + 1), 0.8);
	long placed = 0;
	for (long s = 0; s < shapes; s++) {
		struct cost_pack_group *g = &groups[s];
		int64_t cpu = (int64_t)(50.0 * pow(80.0, rnd01())); /* 50m .. 4000m */
		if (rnd01() < 0.01)
			cpu = 8000;
		cpu = cpu < 50 ? 50 : cpu / 50 * 50;
		double u = rnd01(), gib_per_core = u < 0.15 ? 1 : u < 0.55 ? 2 : u < 0.9 ? 4 : 8;
		int64_t mem = (int64_t)((double)cpu / 1000.0 * gib_per_core * 1024.0 *
					(0.75 + 0.5 * rnd01()));
		mem = (mem < 64 ? 64 : mem / 64 * 64) * MIB;
		long n = (long)((double)pods / pow((double)(s + 1), 0.8) / wsum);
		if (n < 1)
			n = 1;
		if (s == shapes - 1 || placed + n > pods - (shapes - s - 1))
			n = pods - placed - (shapes - s - 1);
		placed += n;
		*g = (struct cost_pack_group){.cpu_millis = cpu, .memory_bytes = mem, .count = n};
	}
	struct cost_pack_input in = {
		.groups = groups, .n_groups = (size_t)shapes, .types = types, .n_types = nt,
		.overhead_cpu_millis = 250, .overhead_memory_bytes = 400 * MIB, .overhead_pods = 4};
	uint8_t *allowed = NULL;
	long amd64_only = 0;
	if (amd64_only_pct > 0) {
		allowed = ks_calloc((size_t)shapes * nt, 1);
		for (long s = 0; s < shapes; s++) {
			bool pinned = rnd01() * 100 < amd64_only_pct;
			amd64_only += pinned;
			for (size_t t = 0; t < nt; t++)
				allowed[(size_t)s * nt + t] =
					!pinned || types[t].it->arch == COST_ARCH_AMD64;
		}
		in.allowed = allowed;
	}
	long capped = 0;
	for (long s = 0; spread_pct > 0 && s < shapes; s++)
		if (rnd01() * 100 < spread_pct) {
			groups[s].max_per_node = 1 + (int64_t)(rnd() % 3);
			capped++;
		}

	int64_t t0 = ks_mono_ms();
	struct cost_pack_result r;
	if (cost_pack_solve(&in, &r, &err)) {
		fprintf(stderr, "pack: %s\n", err.msg);
		return 1;
	}
	int64_t total_ms = ks_mono_ms() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	long peak = ru.ru_maxrss; /* KiB on Linux */
	int64_t cpu_req = 0, mem_req = 0;
	for (long s = 0; s < shapes; s++) {
		cpu_req += groups[s].cpu_millis * groups[s].count;
		mem_req += groups[s].memory_bytes * groups[s].count;
	}
	printf("{\"pods\":%ld,\"shapes\":%ld,\"types\":%zu,\"families\":\"%s\","
	       "\"cpu_requested_cores\":%.1f,\"memory_requested_gib\":%.1f,"
	       "\"bound_ms\":%.0f,\"heuristic_ms\":%.0f,\"total_ms\":%lld,"
	       "\"peak_rss_kb\":%ld,\"nodes\":%lld,\"node_shapes\":%zu,"
	       "\"hourly_usd\":%.4f,\"lower_bound_usd_hr\":%.4f,\"gap_pct\":%.3f,"
	       "\"unplaced_pods\":%lld,\"amd64_only_shapes\":%ld,\"capped_shapes\":%ld",
	       pods, shapes, nt, families, (double)cpu_req / 1000, (double)mem_req / (1024.0 * MIB),
	       r.bound_ms, r.heuristic_ms, (long long)total_ms, peak, (long long)r.nodes,
	       r.n_shapes, r.hourly_usd, r.lower_bound_usd_hr, r.gap * 100,
	       (long long)r.unplaced_pods, amd64_only, capped);
	/* --exact-ms: GLPK's exact optimum too, when the patterns fit and it finishes in time */
	if (exact_ms > 0) {
		double opt = 0;
		int64_t e0 = ks_mono_ms();
		int erc = cost_pack_exact(&in, r.hourly_usd, (int)exact_ms, 2000000, &opt, NULL,
					  &err);
		if (erc)
			printf(",\"exact\":\"%s\"", err.msg);
		else
			printf(",\"exact_usd_hr\":%.4f,\"exact_ms\":%lld,"
			       "\"heuristic_over_exact_pct\":%.3f",
			       opt, (long long)(ks_mono_ms() - e0),
			       100 * (r.hourly_usd - opt) / opt);
	}
	printf("}\n");
	if (getenv("PACK_BENCH_MIX")) {
		double ccap = 0, mcap = 0, pcap = 0;
		for (size_t t = 0; t < nt; t++) {
			double n = (double)r.nodes_per_type[t];
			ccap += n * (double)(types[t].it->alloc_cpu_millis - 250);
			mcap += n * (double)(types[t].it->alloc_memory_mib - 400) * MIB;
			pcap += n * (types[t].it->max_pods - 4);
		}
		fprintf(stderr, "utilisation: cpu %.1f%% memory %.1f%% pods %.1f%%\n",
			100.0 * (double)cpu_req / ccap, 100.0 * (double)mem_req / mcap,
			100.0 * (double)pods / pcap);
	}
	if (getenv("PACK_BENCH_MIX"))
		for (size_t t = 0; t < nt; t++)
			if (r.nodes_per_type[t])
				fprintf(stderr, "  %-14s %6lld nodes  $%.4f/h\n", types[t].it->name,
					(long long)r.nodes_per_type[t], types[t].price_usd_hr);
	cost_pack_result_release(&r);
	free(allowed);
	free(groups);
	free(types);
	cost_catalog_free(cat);
	return 0;
}
