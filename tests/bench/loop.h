/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the compiled bench workloads share: a monotonic clock, a run-for-a-duration loop
 * test that reads the clock only every 64 iterations (vDSO, no syscall), the options of a
 * loop run for a duration or a count, and one report line whose last field,
 * "<rate> <unit>/s", tests/bench/run parses.
 */
#ifndef KPULSE_BENCH_LOOP_H
#define KPULSE_BENCH_LOOP_H

#include <getopt.h>
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

/*
 * A loop run for @seconds from @t0 (set it when the loop starts), or exactly @count
 * iterations when @count is not 0.
 */
struct loop {
	double seconds, t0;
	unsigned long count;
};

/*
 * Parse [-d SECONDS | -n COUNT] (1 s by default) into @l, or exit(2) with @usage; the
 * operands start at optind.
 */
static inline void loop__options(struct loop *l, int argc, char **argv, const char *usage)
{
	int opt;

	l->seconds = 1;
	l->count = 0;
	while ((opt = getopt(argc, argv, "d:n:")) != -1) {
		switch (opt) {
		case 'd':
			l->seconds = loop__seconds(optarg, usage);
			break;
		case 'n':
			l->count = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "%s", usage);
			exit(2);
		}
	}
}

/* True while iteration @i is still to run. */
static inline int loop__more(const struct loop *l, unsigned long i)
{
	return l->count ? i < l->count : loop__running(i, l->t0 + l->seconds);
}

static inline void loop__report(const char *name, unsigned long ops, const char *what,
				double seconds, double rate, const char *unit)
{
	printf("%s: %lu %s in %.3f s: %.1f %s/s\n", name, ops, what, seconds, rate, unit);
	fflush(stdout);
}

#endif /* KPULSE_BENCH_LOOP_H */
