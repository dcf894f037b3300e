/* benchclock.h — the clocks the benchmarks time their work with, and their process's memory
 * (static functions: each benchmark program includes it once). */
#ifndef KS_BENCH_CLOCK_H
#define KS_BENCH_CLOCK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of the process, milliseconds. */
static inline double bench_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Monotonic wall time, milliseconds. */
static inline double bench_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A "kB" field of /proc/self/status ("VmRSS", "VmHWM"), -1 when it cannot be read. */
static inline long bench_status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* A fixed pseudo-random sequence (xorshift64) in [0, 1): benchmarks are repeatable. */
static uint64_t bench_rng_state = 88172645463325252ull;
static inline double bench_rnd(void)
{
	bench_rng_state ^= bench_rng_state << 13;
	bench_rng_state ^= bench_rng_state >> 7;
	bench_rng_state ^= bench_rng_state << 17;
	return (double)(bench_rng_state >> 11) / 9007199254740992.0;
}

/* "--name VALUE" options: each opts[i].name sets *opts[i].l (strtol) or *opts[i].d (strtod);
 * other arguments are ignored. */
struct bench_opt {
	const char *name;
	long *l;
	double *d;
};

static inline void bench_parse_opts(int argc, char **argv, const struct bench_opt *opts,
				    size_t n)
{
	for (int i = 1; i + 1 < argc; i += 2)
		for (size_t k = 0; k < n; k++) {
			if (strcmp(argv[i], opts[k].name))
				continue;
			if (opts[k].l)
				*opts[k].l = strtol(argv[i + 1], NULL, 10);
			else
				*opts[k].d = strtod(argv[i + 1], NULL);
		}
}

#endif
