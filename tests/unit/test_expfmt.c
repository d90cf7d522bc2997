// SPDX-License-Identifier: GPL-2.0
/* The metric model and the text encoder: escaping, numbers, ordering, histograms. */
#include <stdlib.h>
#include "expfmt.h"
#include "harness.h"
#include "metrics.h"

static const struct metric_desc g_a = {"test_a", METRIC_GAUGE, "", "A gauge."};
static const struct metric_desc g_b = {"test_b_total", METRIC_COUNTER, "cpu,mode",
				       "A counter\\with \"help\"\nover two lines."};
static const struct metric_desc g_v = {"test_label", METRIC_GAUGE, "v", "Label values."};
static const struct metric_desc h_lat = {"test_latency_seconds", METRIC_HISTOGRAM, "",
					 "A histogram."};

/* Render @s and return the text (static buffer owned by the caller's struct buf). */
static const char *render(struct mset *s, struct buf *b)
{
	buf__reset(b);
	CHECK_INT(expfmt__text(s, b), 0);
	return b->data ? b->data : "";
}

static const char *num(double v)
{
	static char out[32];

	expfmt__double(v, out);
	return out;
}

TEST(numbers)
{
	CHECK_STR(num(0), "0");
	CHECK_STR(num(1), "1");
	CHECK_STR(num(-3), "-3");
	CHECK_STR(num(0.5), "0.5");
	CHECK_STR(num(0.1), "0.1");
	CHECK_STR(num(1e-9), "1e-09");
	CHECK_STR(num(123456789012.0), "123456789012");
	CHECK_STR(num(1e21), "1e+21");
	CHECK_STR(num(1.0 / 3), "0.3333333333333333");
	CHECK_STR(num(INFINITY), "+Inf");
	CHECK_STR(num(-INFINITY), "-Inf");
	CHECK_STR(num(NAN), "NaN");
	CHECK_STR(num(18446744073709551615.0), "1.8446744073709552e+19");
}

TEST(escaping)
{
	struct mset *s = mset__new();
	struct buf b = {};

	mset__add(s, &g_v, 1, "back\\slash \"quoted\"\nnext");
	CHECK_STR(render(s, &b), "# HELP test_label Label values.\n# TYPE test_label gauge\n"
				 "test_label{v=\"back\\\\slash \\\"quoted\\\"\\nnext\"} 1\n");
	mset__reset(s);
	mset__add(s, &g_b, 2, "0", "user");
	CHECK_STR(render(s, &b),
		  "# HELP test_b_total A counter\\\\with \"help\"\\nover two lines.\n"
		  "# TYPE test_b_total counter\ntest_b_total{cpu=\"0\",mode=\"user\"} 2\n");
	mset__free(s);
	buf__free(&b);
}

TEST(hostile_label_text)
{
	struct mset *s = mset__new();
	struct buf b = {}, e = {};
	char longv[1000];

	/* Bytes that are not UTF-8 become U+FFFD; a valid multi-byte character stays. */
	metrics__escape_label(&e, "a\xff"
				  "b\xc3\xa9");
	CHECK_STR(e.data, "a\xef\xbf\xbd"
			  "b\xc3\xa9");
	buf__reset(&e);
	/* Overlong encodings and surrogates are not UTF-8 either. */
	metrics__escape_label(&e, "\xc0\xaf\xed\xa0\x80");
	CHECK_INT(e.len, 5 * 3);
	buf__reset(&e);
	/* Long values are cut at METRIC_VALUE_MAX bytes, never inside a character. */
	memset(longv, 'x', sizeof(longv));
	longv[METRIC_VALUE_MAX - 1] = '\xc3';
	longv[METRIC_VALUE_MAX] = '\xa9';
	longv[sizeof(longv) - 1] = '\0';
	metrics__escape_label(&e, longv);
	CHECK_INT(e.len, METRIC_VALUE_MAX - 1);
	CHECK(!strchr(e.data, '\xc3'));
	buf__reset(&e);
	/* CR, TAB and the other control characters have no escape: U+FFFD, like bad bytes. */
	metrics__escape_label(&e, "a\rb\tc\x01\x7f{}=\n");
	CHECK_STR(e.data, "a\xef\xbf\xbd"
			  "b\xef\xbf\xbd"
			  "c\xef\xbf\xbd\xef\xbf\xbd{}=\\n");
	mset__add(s, &g_v, 1, NULL);
	CHECK_STR(render(s, &b), "# HELP test_label Label values.\n# TYPE test_label gauge\n"
				 "test_label{v=\"\"} 1\n");
	buf__free(&e);
	buf__free(&b);
	mset__free(s);
}

static const struct metric_desc g_max = {"test_ratio", METRIC_GAUGE, "name", "Worst.",
					 METRIC_MERGE_MAX};
static const struct metric_desc i_info = {"test_info", METRIC_INFO, "name", "Info."};
static const struct metric_desc h_name = {"test_wait_seconds", METRIC_HISTOGRAM, "name",
					  "Per name."};

/*
 * Names that differ only in what the escaper replaces or cuts render the same label set:
 * one series each, merged (strict parsers reject a repeated series).
 */
TEST(collided_series_merge)
{
	struct mset *s = mset__new();
	struct buf b = {};
	char a[400], c[400];
	const double bounds[] = {0.1, 1};
	const uint64_t c1[] = {1, 2, 3}, c2[] = {10, 20, 30};
	const double other[] = {0.5, 1};

	/* Two invalid UTF-8 names, the same U+FFFD text: a gauge sums, like a counter. */
	mset__add(s, &g_v, 3, "\xff\xfex");
	mset__add(s, &g_v, 4, "\xfe\xffx");
	mset__add(s, &g_v, 5, "plain");
	mset__add(s, &g_b, 1, "0", "a\rb");
	mset__add(s, &g_b, 2, "0", "a\tb");
	/* Values equal in their first 256 bytes. */
	memset(a, 'q', sizeof(a));
	memcpy(c, a, sizeof(c));
	a[sizeof(a) - 1] = c[sizeof(c) - 1] = '\0';
	c[300] = 'Z';
	mset__add(s, &g_max, 0.25, a);
	mset__add(s, &g_max, 0.75, c);
	mset__add(s, &g_max, 0.5, a);
	mset__add(s, &i_info, 1, "\x80");
	mset__add(s, &i_info, 1, "\x81");
	mset__histogram(s, &h_name, bounds, c1, 2, 1.5, "\xc0");
	mset__histogram(s, &h_name, bounds, c2, 2, 10, "\xc1");
	mset__histogram(s, &h_name, other, c2, 2, 99, "\xc2"); /* other buckets: kept out */
	CHECK_INT(s->nsamples, 6);
	memset(a, 'q', METRIC_VALUE_MAX);
	a[METRIC_VALUE_MAX] = '\0';
	render(s, &b);
	CHECK(strstr(b.data, "test_label{v=\"\xef\xbf\xbd\xef\xbf\xbdx\"} 7\n") != NULL);
	CHECK(strstr(b.data, "test_label{v=\"plain\"} 5\n") != NULL);
	CHECK(strstr(b.data, "test_b_total{cpu=\"0\",mode=\"a\xef\xbf\xbd"
			     "b\"} 3\n") != NULL);
	snprintf(c, sizeof(c), "test_ratio{name=\"%.*s\"} 0.75\n", METRIC_VALUE_MAX, a);
	CHECK(strstr(b.data, c) != NULL);
	CHECK(strstr(b.data, "test_info{name=\"\xef\xbf\xbd\"} 1\n") != NULL);
	CHECK(strstr(b.data, "test_wait_seconds_bucket{name=\"\xef\xbf\xbd\",le=\"0.1\"} 11\n"));
	CHECK(strstr(b.data, "test_wait_seconds_bucket{name=\"\xef\xbf\xbd\",le=\"+Inf\"} 66\n"));
	CHECK(strstr(b.data, "test_wait_seconds_sum{name=\"\xef\xbf\xbd\"} 11.5\n"));
	CHECK(strstr(b.data, "test_wait_seconds_count{name=\"\xef\xbf\xbd\"} 66\n"));
	/* After a reset the index starts over. */
	mset__reset(s);
	mset__add(s, &g_v, 1, "\xff");
	mset__add(s, &g_v, 1, "x");
	CHECK_INT(s->nsamples, 2);
	mset__free(s);
	buf__free(&b);
}

TEST(families_sorted_and_grouped)
{
	struct mset *s = mset__new();
	struct buf b = {};

	/* Samples of two families interleaved, added in reverse name order. */
	mset__add(s, &g_b, 1, "0", "user");
	mset__add(s, &g_a, 7);
	mset__add(s, &g_b, 2, "1", "user");
	CHECK_STR(render(s, &b),
		  "# HELP test_a A gauge.\n# TYPE test_a gauge\ntest_a 7\n"
		  "# HELP test_b_total A counter\\\\with \"help\"\\nover two lines.\n"
		  "# TYPE test_b_total counter\n"
		  "test_b_total{cpu=\"0\",mode=\"user\"} 1\n"
		  "test_b_total{cpu=\"1\",mode=\"user\"} 2\n");
	/* A reset set renders nothing, and reuses its memory. */
	mset__reset(s);
	CHECK_STR(render(s, &b), "");
	mset__free(s);
	buf__free(&b);
}

TEST(histogram_cumulative)
{
	static const double bounds[] = {0.001, 0.002, 0.004};
	static const uint64_t counts[] = {1, 0, 5, 2};
	struct mset *s = mset__new();
	struct buf b = {};

	mset__histogram(s, &h_lat, bounds, counts, 3, 0.5);
	CHECK_STR(render(s, &b), "# HELP test_latency_seconds A histogram.\n"
				 "# TYPE test_latency_seconds histogram\n"
				 "test_latency_seconds_bucket{le=\"0.001\"} 1\n"
				 "test_latency_seconds_bucket{le=\"0.002\"} 1\n"
				 "test_latency_seconds_bucket{le=\"0.004\"} 6\n"
				 "test_latency_seconds_bucket{le=\"+Inf\"} 8\n"
				 "test_latency_seconds_sum 0.5\n"
				 "test_latency_seconds_count 8\n");
	/* A histogram family refuses a plain sample's shape and vice versa. */
	CHECK(mset__histogram(s, &g_a, bounds, counts, 3, 0) < 0);
	mset__free(s);
	buf__free(&b);
}

TEST(many_samples)
{
	struct mset *s = mset__new();
	struct buf b = {};
	char cpu[16];
	int i;

	for (i = 0; i < 5000; i++) {
		snprintf(cpu, sizeof(cpu), "%d", i);
		CHECK_INT(mset__add(s, &g_b, i, cpu, "idle"), 0);
	}
	/* The same label sets again: found through the index however it grew, and added. */
	for (i = 0; i < 5000; i++) {
		snprintf(cpu, sizeof(cpu), "%d", i);
		CHECK_INT(mset__add(s, &g_b, 1, cpu, "idle"), 0);
	}
	CHECK_INT(s->nsamples, 5000);
	render(s, &b);
	CHECK(strstr(b.data, "test_b_total{cpu=\"4999\",mode=\"idle\"} 5000\n") != NULL);
	CHECK(strstr(b.data, "test_b_total{cpu=\"0\",mode=\"idle\"} 1\n") != NULL);
	mset__free(s);
	buf__free(&b);
}

int main(void)
{
	h_suite = "expfmt";
	RUN(numbers);
	RUN(escaping);
	RUN(hostile_label_text);
	RUN(collided_series_merge);
	RUN(families_sorted_and_grouped);
	RUN(histogram_cumulative);
	RUN(many_samples);
	return DONE();
}
