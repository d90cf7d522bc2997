/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny in-tree test harness: TEST() functions, CHECK*() assertions that say what was
 * expected, one "PASS suite/name" or "FAIL suite/name: why" line per test for tests/run.
 */
#ifndef KPULSE_HARNESS_H
#define KPULSE_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *h_suite = "unit";
static int h_failed_now, h_pass, h_fail;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("  %s:%d: expected %s\n", __FILE__, __LINE__, #cond);               \
			h_failed_now = 1;                                                          \
		}                                                                                  \
	} while (0)

/* CHECK with its own words: a table-driven test names the row that failed and why. */
#define CHECKF(cond, fmt, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("  %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);             \
			h_failed_now = 1;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_INT(got, want)                                                                       \
	do {                                                                                       \
		long long g_ = (got), w_ = (want);                                                 \
		if (g_ != w_) {                                                                    \
			printf("  %s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, #got,   \
			       g_, w_);                                                            \
			h_failed_now = 1;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!g_ || strcmp(g_, w_)) {                                                       \
			printf("  %s:%d: %s is\n    \"%s\"\n  expected\n    \"%s\"\n", __FILE__,   \
			       __LINE__, #got, g_ ? g_ : "(null)", w_);                            \
			h_failed_now = 1;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_NEAR(got, want, eps)                                                                 \
	do {                                                                                       \
		double g_ = (got), w_ = (want);                                                    \
		if (!(fabs(g_ - w_) <= (eps))) {                                                   \
			printf("  %s:%d: %s is %.17g, expected %.17g ± %g\n", __FILE__, __LINE__,  \
			       #got, g_, w_, (double)(eps));                                       \
			h_failed_now = 1;                                                          \
		}                                                                                  \
	} while (0)

#define TEST(name) static void name(void)

#define RUN(name)                                                                                  \
	do {                                                                                       \
		h_failed_now = 0;                                                                  \
		name();                                                                            \
		printf("%s %s/%s\n", h_failed_now ? "FAIL" : "PASS", h_suite, #name);              \
		if (h_failed_now)                                                                  \
			h_fail++;                                                                  \
		else                                                                               \
			h_pass++;                                                                  \
	} while (0)

#define DONE() (printf("%s: %d passed, %d failed\n", h_suite, h_pass, h_fail), h_fail != 0)

#endif /* KPULSE_HARNESS_H */
