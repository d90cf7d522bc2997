/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the compiled bench workloads share: a monotonic clock, a run-for-a-duration loop
 * test that reads the clock only every 64 iterations (vDSO, no syscall), and one report
 * line whose last field, "<rate> <unit>/s", tests/bench/run parses.
 */
#ifndef KPULSE_BENCH_LOOP_H
#define KPULSE_BENCH_LOOP_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double loop__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* True while iteration @i lies before @end (seconds on loop__now()'s clock). */
static inline int loop__running(unsigned long i, double end)
{
	return (i & 63) || loop__now() < end;
}

/* A duration in seconds from the command line, or exit with @usage. */
static inline double loop__seconds(const char *arg, const char *usage)
{
	char *rest;
	double s = strtod(arg, &rest);

	if (*rest || s <= 0 || s > 3600) {
		fprintf(stderr, "%s", usage);
		exit(2);
	}
	return s;
}

static inline void loop__report(const char *name, unsigned long ops, const char *what,
				double seconds, double rate, const char *unit)
{
	printf("%s: %lu %s in %.3f s: %.1f %s/s\n", name, ops, what, seconds, rate, unit);
	fflush(stdout);
}

#endif /* KPULSE_BENCH_LOOP_H */
