// SPDX-License-Identifier: GPL-2.0
/* OpenMetrics 1.0 rendering. */
#include <stdlib.h>
#include "expfmt.h"
#include "harness.h"
#include "metrics.h"

static const struct metric_desc c_req = {"test_requests_total", METRIC_COUNTER, "code",
					 "Requests \"served\", by code\\class."};
static const struct metric_desc c_bare = {"test_events", METRIC_COUNTER, "", "No suffix."};
static const struct metric_desc c_busy = {"test_busy_seconds_total", METRIC_COUNTER, "", "Busy."};
static const struct metric_desc g_temp = {"test_temperature_celsius", METRIC_GAUGE, "", "A gauge."};
static const struct metric_desc i_build = {"test_build_info", METRIC_INFO, "version", "Build."};
static const struct metric_desc h_lat = {"test_latency_seconds", METRIC_HISTOGRAM, "op",
					 "A histogram."};

static const struct metric_desc gh_rtt = {"test_rtt_seconds", METRIC_GAUGE_HISTOGRAM, "",
					  "A gauge histogram."};

static const char *om(struct mset *s, struct buf *b)
{
	buf__reset(b);
	CHECK_INT(expfmt__openmetrics(s, b), 0);
	return b->data ? b->data : "";
}

static const char *text(struct mset *s, struct buf *b)
{
	buf__reset(b);
	CHECK_INT(expfmt__text(s, b), 0);
	return b->data ? b->data : "";
}

TEST(empty_set_is_just_eof)
{
	struct mset *s = mset__new();
	struct buf b = {};

	CHECK_STR(om(s, &b), "# EOF\n");
	mset__free(s);
	buf__free(&b);
}

TEST(counter_family_drops_total)
{
	struct mset *s = mset__new();
	struct buf b = {};

	mset__add(s, &c_req, 3, "200");
	mset__add(s, &c_bare, 1.5);
	/* Family names without _total, samples with it; HELP escapes the quote too. */
	CHECK_STR(om(s, &b), "# TYPE test_events counter\n"
			     "# HELP test_events No suffix.\n"
			     "test_events_total 1.5\n"
			     "# TYPE test_requests counter\n"
			     "# HELP test_requests Requests \\\"served\\\", by code\\\\class.\n"
			     "test_requests_total{code=\"200\"} 3\n"
			     "# EOF\n");
	/* The text format keeps the full names and does not escape quotes in HELP. */
	CHECK_STR(text(s, &b), "# HELP test_events No suffix.\n"
			       "# TYPE test_events counter\n"
			       "test_events 1.5\n"
			       "# HELP test_requests_total Requests \"served\", by code\\\\class.\n"
			       "# TYPE test_requests_total counter\n"
			       "test_requests_total{code=\"200\"} 3\n");
	mset__free(s);
	buf__free(&b);
}

TEST(gauge_and_info)
{
	struct mset *s = mset__new();
	struct buf b = {};

	mset__add(s, &g_temp, -1.25);
	mset__add(s, &i_build, 1, "1.2.3");
	CHECK_STR(om(s, &b), "# TYPE test_build info\n"
			     "# HELP test_build Build.\n"
			     "test_build_info{version=\"1.2.3\"} 1\n"
			     "# TYPE test_temperature_celsius gauge\n"
			     "# UNIT test_temperature_celsius celsius\n"
			     "# HELP test_temperature_celsius A gauge.\n"
			     "test_temperature_celsius -1.25\n"
			     "# EOF\n");
	/* Text 0.0.4 has no info type: a gauge named _info, as client_golang does. */
	CHECK_STR(text(s, &b), "# HELP test_build_info Build.\n"
			       "# TYPE test_build_info gauge\n"
			       "test_build_info{version=\"1.2.3\"} 1\n"
			       "# HELP test_temperature_celsius A gauge.\n"
			       "# TYPE test_temperature_celsius gauge\n"
			       "test_temperature_celsius -1.25\n");
	mset__free(s);
	buf__free(&b);
}

TEST(histogram)
{
	static const double bounds[] = {0.5, 1};
	static const uint64_t counts[] = {2, 0, 1};
	struct mset *s = mset__new();
	struct buf b = {};

	mset__histogram(s, &h_lat, bounds, counts, 2, 3.25, "read");
	CHECK_STR(om(s, &b), "# TYPE test_latency_seconds histogram\n"
			     "# UNIT test_latency_seconds seconds\n"
			     "# HELP test_latency_seconds A histogram.\n"
			     "test_latency_seconds_bucket{op=\"read\",le=\"0.5\"} 2\n"
			     "test_latency_seconds_bucket{op=\"read\",le=\"1.0\"} 2\n"
			     "test_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 3\n"
			     "test_latency_seconds_sum{op=\"read\"} 3.25\n"
			     "test_latency_seconds_count{op=\"read\"} 3\n"
			     "# EOF\n");
	mset__free(s);
	buf__free(&b);
}

TEST(gauge_histogram)
{
	static const double bounds[] = {0.001};
	static const uint64_t counts[] = {2, 1};
	struct mset *s = mset__new();
	struct buf b = {};

	mset__histogram(s, &gh_rtt, bounds, counts, 1, 0.05);
	/* OpenMetrics: gaugehistogram, whose sum and count are _gsum and _gcount. */
	CHECK_STR(om(s, &b), "# TYPE test_rtt_seconds gaugehistogram\n"
			     "# UNIT test_rtt_seconds seconds\n"
			     "# HELP test_rtt_seconds A gauge histogram.\n"
			     "test_rtt_seconds_bucket{le=\"0.001\"} 2\n"
			     "test_rtt_seconds_bucket{le=\"+Inf\"} 3\n"
			     "test_rtt_seconds_gsum 0.05\n"
			     "test_rtt_seconds_gcount 3\n"
			     "# EOF\n");
	/* Text 0.0.4 has no such type: a histogram, as client_python writes one. */
	CHECK_STR(text(s, &b), "# HELP test_rtt_seconds A gauge histogram.\n"
			       "# TYPE test_rtt_seconds histogram\n"
			       "test_rtt_seconds_bucket{le=\"0.001\"} 2\n"
			       "test_rtt_seconds_bucket{le=\"+Inf\"} 3\n"
			       "test_rtt_seconds_sum 0.05\n"
			       "test_rtt_seconds_count 3\n");
	mset__free(s);
	buf__free(&b);
}

TEST(unit_from_the_name)
{
	struct mset *s = mset__new();
	struct buf b = {};

	/* The unit is the family name's suffix, _total aside. */
	mset__add(s, &c_busy, 2);
	CHECK_STR(om(s, &b), "# TYPE test_busy_seconds counter\n"
			     "# UNIT test_busy_seconds seconds\n"
			     "# HELP test_busy_seconds Busy.\n"
			     "test_busy_seconds_total 2\n"
			     "# EOF\n");
	mset__free(s);
	buf__free(&b);
}

TEST(canonical_le)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{0, "0.0"},
		{0.001, "0.001"},
		{0.002, "0.002"},
		{0.01, "0.01"},
		{0.1, "0.1"},
		{0.9, "0.9"},
		{0.95, "0.95"},
		{0.99, "0.99"},
		{0.999, "0.999"},
		{1, "1.0"},
		{1.7, "1.7"},
		{10, "10.0"},
		{1e-10, "1e-10"},
		{1e-9, "1e-09"},
		{1e-5, "1e-05"},
		{1e-4, "0.0001"},
		{100000, "100000.0"},
		{1e6, "1e+06"},
		{1e10, "1e+10"},
		{2.5e-6, "2.5e-06"},
		{1048576, "1.048576e+06"},
		{0.000512, "0.000512"},
		{-1, "-1.0"},
	};
	char out[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expfmt__canonical(cases[i].v, out);
		CHECK_STR(out, cases[i].want);
	}
}

int main(void)
{
	h_suite = "openmetrics";
	RUN(empty_set_is_just_eof);
	RUN(counter_family_drops_total);
	RUN(gauge_and_info);
	RUN(histogram);
	RUN(gauge_histogram);
	RUN(unit_from_the_name);
	RUN(canonical_le);
	return DONE();
}
