/* benchclock.h — the clocks the benchmarks time their work with (static functions: each
 * benchmark program includes it once). */
#ifndef KS_BENCH_CLOCK_H
#define KS_BENCH_CLOCK_H

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

#endif
