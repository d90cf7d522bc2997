// SPDX-License-Identifier: GPL-2.0
/* Rate math: jittery intervals, counter resets, nothing elapsed, CPU lists. */
#include "clock.h"
#include "cpus.h"
#include "harness.h"
#include "rate.h"

TEST(interval_shorter_than_nominal)
{
	double r;

	/* 930 events in 0.93 s is 1000/s, not 930/s: divide by the measured time. */
	CHECK(rate__per_second(1000, 1930, 930000000ull, &r));
	CHECK_NEAR(r, 1000.0, 1e-9);
}

TEST(interval_longer_than_nominal)
{
	double r;

	CHECK(rate__per_second(0, 1080, 1080000000ull, &r));
	CHECK_NEAR(r, 1000.0, 1e-9);
	/* 0.54 s busy in a 1.08 s interval is half busy. */
	CHECK(rate__ratio(10, 10 + 540000000ull, 1080000000ull, &r));
	CHECK_NEAR(r, 0.5, 1e-12);
}

TEST(counter_reset_is_never_negative)
{
	double r;

	/* A source that restarted reads lower than before: its new value is all new. */
	CHECK_INT(rate__delta(5000, 200), 200);
	CHECK(rate__per_second(5000, 200, 1000000000ull, &r));
	CHECK_NEAR(r, 200.0, 1e-9);
	CHECK(rate__ratio(900000000ull, 0, 1000000000ull, &r));
	CHECK_NEAR(r, 0.0, 0);
	/* Near the top of the range: no overflow into a negative or huge number. */
	CHECK_INT(rate__delta(UINT64_MAX - 10, UINT64_MAX), 10);
}

TEST(zero_elapsed_gives_no_rate)
{
	double r = -1;

	CHECK(!rate__per_second(1, 2, 0, &r));
	CHECK(!rate__ratio(1, 2, 0, &r));
	CHECK_NEAR(r, -1, 0); /* untouched */
}

TEST(first_interval_is_whole_or_none)
{
	const uint64_t s = 1000000000ull;

	/* No previous reading: no interval, no rate. */
	CHECK_INT(rate__elapsed(0, 5 * s, s), 0);
	/* A whole interval, a late one, a slightly early one: the measured time. */
	CHECK_INT(rate__elapsed(5 * s, 6 * s, s), s);
	CHECK_INT(rate__elapsed(5 * s, 8 * s, s), 3 * s);
	CHECK_INT(rate__elapsed(5 * s, 5 * s + s / 2, s), s / 2);
	/*
	 * A few milliseconds after the previous reading (a second tick right after the
	 * first): no rate rather than one over 5 ms.
	 */
	CHECK_INT(rate__elapsed(5 * s, 5 * s + 5000000, s), 0);
	CHECK_INT(rate__elapsed(5 * s, 5 * s + s / 2 - 1, s), 0);
	/* A clock that did not move, or went back: nothing. */
	CHECK_INT(rate__elapsed(5 * s, 5 * s, s), 0);
	CHECK_INT(rate__elapsed(5 * s, 4 * s, s), 0);
}

TEST(monotonic_clock)
{
	uint64_t a = mono_now_ns(), b = mono_now_ns();

	CHECK(a > 0);
	CHECK(b >= a);
}

TEST(ratio_clamped)
{
	double r;

	/* Busy and elapsed are read at slightly different instants: never above 1. */
	CHECK(rate__ratio(0, 1000001000ull, 1000000000ull, &r));
	CHECK_NEAR(r, 1.0, 0);
}

TEST(quantile_as_histogram_quantile)
{
	/* Worked by hand with Prometheus' bucketQuantile(): linear within the bucket. */
	static const double bounds[] = {1, 2, 4, 8};
	static const uint64_t zero[5] = {}, prev[5] = {5, 5, 5, 5, 5};
	static const uint64_t cur[5] = {15, 25, 35, 45, 5}, inf[5] = {5, 5, 5, 5, 15};
	double v;

	/* 100 new: 10, 20, 30, 40 in the buckets up to 1, 2, 4, 8; none above 8. */
	CHECK(rate__quantile(bounds, 4, prev, cur, 0.5, &v)); /* rank 50: 20 of 30 into (2, 4] */
	CHECK_NEAR(v, 2 + 2 * 20.0 / 30, 1e-12);
	CHECK(rate__quantile(bounds, 4, prev, cur, 0.99, &v)); /* rank 99: 39 of 40 into (4, 8] */
	CHECK_NEAR(v, 4 + 4 * 39.0 / 40, 1e-12);
	CHECK(rate__quantile(bounds, 4, prev, cur, 0.05, &v)); /* the first bucket starts at 0 */
	CHECK_NEAR(v, 0.5, 1e-12);
	/* Everything above the last bound: that bound, as histogram_quantile answers. */
	CHECK(rate__quantile(bounds, 4, prev, inf, 0.5, &v));
	CHECK_NEAR(v, 8, 0);
	/* Nothing new: no value. A bucket that went backwards counts what it has now. */
	CHECK(!rate__quantile(bounds, 4, prev, prev, 0.5, &v));
	CHECK(rate__quantile(bounds, 4, cur, zero, 0.5, &v) == false);
	CHECK(rate__quantile(bounds, 4, cur, prev, 0.5, &v));
	/* 5 new in each finite bucket, none above: rank 10 is the top of (1, 2]. */
	CHECK_NEAR(v, 2, 1e-12);
}

TEST(cpu_lists)
{
	bool on[8];

	CHECK_INT(cpus__parse_list("0-3,5,7\n", on, 8), 0);
	CHECK(on[0] && on[1] && on[2] && on[3] && !on[4] && on[5] && !on[6] && on[7]);
	CHECK_INT(cpus__parse_list("0", on, 8), 0);
	CHECK(on[0] && !on[1]);
	/* CPUs past the possible count are ignored, not written out of bounds. */
	CHECK_INT(cpus__parse_list("6-100", on, 8), 0);
	CHECK(on[6] && on[7] && !on[0]);
	CHECK(cpus__parse_list("3-1", on, 8) < 0);
	CHECK(cpus__parse_list("a", on, 8) < 0);
	CHECK(cpus__parse_list("1-", on, 8) < 0);
	CHECK(cpus__parse_list("1;2", on, 8) < 0);
}

int main(void)
{
	h_suite = "rate";
	RUN(interval_shorter_than_nominal);
	RUN(interval_longer_than_nominal);
	RUN(counter_reset_is_never_negative);
	RUN(zero_elapsed_gives_no_rate);
	RUN(first_interval_is_whole_or_none);
	RUN(monotonic_clock);
	RUN(ratio_clamped);
	RUN(quantile_as_histogram_quantile);
	RUN(cpu_lists);
	return DONE();
}
