// SPDX-License-Identifier: GPL-2.0
/* The history ring, its peaks and its JSON; PromQL selectors; JSON string escaping. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <zlib.h>
#include "gzip.h"
#include "harness.h"
#include "history.h"
#include "json.h"
#include "metrics.h"
#include "selector.h"

static const struct metric_desc busy = {"test_busy_ratio", METRIC_GAUGE, "cpu", "Busy.",
					METRIC_HISTORY};
static const struct metric_desc all = {"test_all_ratio", METRIC_GAUGE, "", "All.", METRIC_HISTORY};
static const struct metric_desc other = {"test_total", METRIC_COUNTER, "cpu", "Not kept."};
static const struct metric_desc comm = {"test_comm_ratio", METRIC_GAUGE, "name", "Hostile.",
					METRIC_HISTORY};

#define T0 1700000000000ll /* ms since the epoch of the first tick */

#if defined(__SANITIZE_ADDRESS__)
/* libasan's (sanitizer/allocator_interface.h, which GCC does not install). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes the allocator has handed out now, by its own accounting (ASan's when it is in). */
static size_t allocated(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

static struct history *ring(unsigned int duration_s, unsigned int peak_s, unsigned int max)
{
	struct history_opts o = {
		.duration_ns = duration_s * 1000000000ull,
		.peak_window_ns = peak_s * 1000000000ull,
		.interval_ns = 1000000000ull,
		.max_series = max,
	};

	return history__new(&o);
}

/* The whole answer, read @chunk bytes at a time. */
static char *answer(struct history *h, const char *const *match, size_t nmatch, int64_t start,
		    int64_t end, size_t chunk)
{
	struct selector sel[4];
	struct history_query q = {.sel = sel, .nsel = nmatch, .start_ms = start, .end_ms = end};
	struct history_result *r;
	struct buf b = {};
	char *tmp = malloc(chunk), err[128];
	ssize_t n;
	size_t i, len;

	for (i = 0; i < nmatch; i++)
		CHECK_INT(selector__parse(&sel[i], match[i], err, sizeof(err)), 0);
	r = history__query(h, &q);
	CHECK(r != NULL);
	while (r && (n = history_result__read(r, tmp, chunk)) > 0)
		buf__append(&b, tmp, n);
	history_result__free(r);
	for (i = 0; i < nmatch; i++)
		selector__free(&sel[i]);
	free(tmp);
	return buf__steal(&b, &len);
}

static const char *json_of(const char *s, size_t n)
{
	static struct buf b;

	buf__reset(&b);
	json__string(&b, s, n);
	return b.data;
}

TEST(json_escaping)
{
	CHECK_STR(json_of("plain", 5), "\"plain\"");
	CHECK_STR(json_of("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	CHECK_STR(json_of("l1\nl2\tx\r", 8), "\"l1\\nl2\\tx\\r\"");
	CHECK_STR(json_of("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
	CHECK_STR(json_of("</script><b>&", 13), "\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\"");
	/* U+2028 and U+2029 end a JavaScript string; other UTF-8 passes as it is. */
	CHECK_STR(json_of("\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9", 8), "\"\\u2028\\u2029\xc3\xa9\"");
	/* Not UTF-8: a lone continuation byte, a cut sequence, an overlong '/'. */
	CHECK_STR(json_of("\x80x\xe2\x80", 4), "\"\\ufffdx\\ufffd\\ufffd\"");
	CHECK_STR(json_of("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
	CHECK_STR(json_of("a\0b", 3), "\"a\\u0000b\"");
}

/* Selector text, 0 or -EINVAL, and for valid ones the matchers as "label op value;". */
static const struct {
	const char *text;
	int rc;
	const char *want;
} selectors[] = {
	{"kpulse_cpu_busy_ratio", 0, "__name__=kpulse_cpu_busy_ratio;"},
	{"  a:b_c  ", 0, "__name__=a:b_c;"},
	{"x{}", 0, "__name__=x;"},
	{"x{cpu=\"0\"}", 0, "__name__=x;cpu=0;"},
	{"{__name__=\"x\", cpu!='1',}", 0, "__name__=x;cpu!=1;"},
	{"x{ device =~ \"eth.*\" , mode !~ `id\\le` }", 0,
	 "__name__=x;device=~eth.*;mode!~id\\le;"},
	{"x{v=\"a\\\"b\\\\c\\n\\u00e9\\x41\"}", 0,
	 "__name__=x;v=a\"b\\c\n\xc3\xa9"
	 "A;"},
	{"", -EINVAL, NULL},
	{"{}", -EINVAL, NULL},
	{"x{", -EINVAL, NULL},
	{"x{cpu}", -EINVAL, NULL},
	{"x{cpu=0}", -EINVAL, NULL},
	{"x{cpu=\"0}", -EINVAL, NULL},
	{"x{cpu==\"0\"}", -EINVAL, NULL},
	{"x{cpu=\"0\"} y", -EINVAL, NULL},
	{"x{9a=\"0\"}", -EINVAL, NULL},
	{"x{a=\"\\q\"}", -EINVAL, NULL},
	{"x{a=\"\\ud800\"}", -EINVAL, NULL},
	{"x{a=~\"(\"}", -EINVAL, NULL},
	/* Found by fuzz_history_query: glibc's regcomp copies under each '+', exponentially. */
	{"{name=~\"a.*|<+++++++++++++++++++++++++++++++++++++++++++++++++/sc2\"}", -EINVAL, NULL},
	{"x{a=~\"((a{999}){999}){999}\"}", -EINVAL, NULL},
	{"x{a=~\"[{+]+x+\"}", 0, "__name__=x;a=~[{+]+x+;"},
	/* Found by a long fuzz_history_query run: minutes in regcomp with 8 '+'. */
	{"{name=~\"a.,+++????????????????????????????????????????????????????????+++++4\"}",
	 -EINVAL, NULL},
	{"x{a=~\"(((((a)+?)+?)+?)+?)+?\"}", -EINVAL, NULL},
	{"x{a=~\"((((a)+)?)+)?\"}", -EINVAL, NULL},
	{"x{a=~\"a+?+\"}", -EINVAL, NULL},
	{"{me=~\"a********************+***********nam\"}", -EINVAL, NULL},
	{"x{a=~\"a+?\"}", -EINVAL, NULL},
	{"x{a=~\"a**\"}", -EINVAL, NULL},
	{"x{a=~\"(((((a)*)*)*)*)*\"}", -EINVAL, NULL},
	/* Up to 4 nested repetitions, one '+' among them, are cheap, and accepted. */
	{"x{a=~\"((a+)?b*(c+)*)?|d+e+\\\\+\"}", 0, "__name__=x;a=~((a+)?b*(c+)*)?|d+e+\\+;"},
	{"x{a=~\"((((a)*)+)*)?|.*x*\"}", 0, "__name__=x;a=~((((a)*)+)*)?|.*x*;"},
	{"x{a=\"1\",a=\"2\",a=\"3\",a=\"4\",a=\"5\",a=\"6\",a=\"7\",a=\"8\",a=\"9\",a=\"10\","
	 "a=\"11\",a=\"12\",a=\"13\",a=\"14\",a=\"15\",a=\"16\"}",
	 -EINVAL, NULL},
};

TEST(selector_parse)
{
	static const char *const ops[] = {"=", "!=", "=~", "!~"};
	struct selector s;
	struct buf b = {};
	char err[128];
	size_t i, j;

	for (i = 0; i < sizeof(selectors) / sizeof(selectors[0]); i++) {
		int rc = selector__parse(&s, selectors[i].text, err, sizeof(err));

		CHECKF(rc == selectors[i].rc, "selector '%s': got %d (%s), expected %d",
		       selectors[i].text, rc, rc ? err : "", selectors[i].rc);
		if (rc != selectors[i].rc)
			continue;
		if (rc) {
			CHECK(err[0] != '\0');
			continue;
		}
		buf__reset(&b);
		for (j = 0; j < s.n; j++)
			buf__printf(&b, "%s%s%s;", s.m[j].label, ops[s.m[j].op], s.m[j].value);
		CHECK_STR(b.data, selectors[i].want);
		selector__free(&s);
	}
	buf__free(&b);
}

static bool matches(const char *sel, const char *name, const char *l, const char *v)
{
	const char *names[] = {l}, *values[] = {v};
	struct selector s;
	char err[128];
	bool m;

	CHECK_INT(selector__parse(&s, sel, err, sizeof(err)), 0);
	m = selector__match(&s, name, names, values, l ? 1 : 0);
	selector__free(&s);
	return m;
}

TEST(selector_match)
{
	CHECK(matches("x", "x", "cpu", "0"));
	CHECK(!matches("x", "xy", "cpu", "0"));
	CHECK(matches("x{cpu=\"0\"}", "x", "cpu", "0"));
	CHECK(!matches("x{cpu=\"0\"}", "x", "cpu", "1"));
	CHECK(matches("{cpu!=\"1\"}", "x", "cpu", "0"));
	/* Regexes are anchored at both ends, as in PromQL. */
	CHECK(matches("{__name__=~\"x|y\"}", "y", NULL, NULL));
	CHECK(!matches("{__name__=~\"x\"}", "xx", NULL, NULL));
	CHECK(matches("x{cpu=~\"[0-9]+\"}", "x", "cpu", "12"));
	CHECK(!matches("x{cpu!~\"[0-9]+\"}", "x", "cpu", "12"));
	/* A label the series lacks is "". */
	CHECK(matches("x{mode=\"\"}", "x", "cpu", "0"));
	CHECK(!matches("x{mode=\"user\"}", "x", "cpu", "0"));
}

/* One tick: CPU 0 and 1 busy, an unlabelled gauge, a counter that is not kept. */
static void tick(struct history *h, struct mset *m, int64_t ms, double v0, double v1, bool cpu1)
{
	mset__reset(m);
	mset__add(m, &busy, v0, "0");
	if (cpu1)
		mset__add(m, &busy, v1, "1");
	mset__add(m, &all, (v0 + v1) / 2);
	mset__add(m, &other, 5, "0");
	CHECK_INT(history__record(h, m, ms), 0);
}

TEST(ring_answers_the_window)
{
	struct history *h = ring(5, 0, 16);
	struct mset *m = mset__new();
	const char *match[] = {"test_busy_ratio{cpu=\"1\"}"};
	char *a;
	int i;

	/* 8 ticks, 1 s apart; CPU 1 missing at tick 6. A 5 s ring keeps ticks 3..7. */
	for (i = 0; i < 8; i++)
		tick(h, m, T0 + i * 1000, i / 10.0, i / 100.0, i != 6);
	CHECK_INT(history__series(h, NULL), 3);
	a = answer(h, match, 1, 0, INT64_MAX, 4096);
	CHECK_STR(a, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		     "{\"metric\":{\"__name__\":\"test_busy_ratio\",\"cpu\":\"1\"},\"values\":["
		     "[1700000003,\"0.03\"],[1700000004,\"0.04\"],[1700000005,\"0.05\"],"
		     "[1700000007,\"0.07\"]]}]}}\n");
	free(a);
	/* start and end are inclusive; series come sorted by name, then labels. */
	a = answer(h, NULL, 0, T0 + 4000, T0 + 5000, 4096);
	CHECK_STR(a, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		     "{\"metric\":{\"__name__\":\"test_all_ratio\"},\"values\":["
		     "[1700000004,\"0.22\"],[1700000005,\"0.275\"]]},"
		     "{\"metric\":{\"__name__\":\"test_busy_ratio\",\"cpu\":\"0\"},\"values\":["
		     "[1700000004,\"0.4\"],[1700000005,\"0.5\"]]},"
		     "{\"metric\":{\"__name__\":\"test_busy_ratio\",\"cpu\":\"1\"},\"values\":["
		     "[1700000004,\"0.04\"],[1700000005,\"0.05\"]]}]}}\n");
	free(a);
	/* Nothing in range: an empty matrix, not an error. */
	a = answer(h, NULL, 0, T0 + 100000, T0 + 200000, 4096);
	CHECK_STR(a,
		  "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}\n");
	free(a);
	mset__free(m);
	history__free(h);
}

TEST(read_in_small_chunks)
{
	struct history *h = ring(900, 15, 64);
	struct mset *m = mset__new();
	char *whole, *bits;
	int i;

	for (i = 0; i < 1000; i++)
		tick(h, m, T0 + i * 1000 + 7, i * 1.5, 1e-9 * i, true);
	whole = answer(h, NULL, 0, 0, INT64_MAX, 1 << 20);
	bits = answer(h, NULL, 0, 0, INT64_MAX, 7);
	CHECK(whole && bits && strlen(whole) > 900 * 3 * 20);
	CHECK_STR(bits, whole);
	/* Milliseconds as Prometheus writes them. */
	CHECK(strstr(whole, "[1700000999.007,\"1498.5\"]") != NULL);
	free(whole);
	free(bits);
	mset__free(m);
	history__free(h);
}

static ssize_t result_bytes(void *cls, char *buf, size_t max)
{
	return history_result__read(cls, buf, max);
}

static void result_free(void *cls)
{
	history_result__free(cls);
}

TEST(gzip_streamed_answer)
{
	struct history *h = ring(900, 15, 64);
	struct history_query q = {.start_ms = 0, .end_ms = INT64_MAX};
	struct mset *m = mset__new();
	struct gzip_stream *g;
	struct buf gz = {};
	char *plain, chunk[100];
	unsigned char *back;
	z_stream z = {};
	ssize_t n;
	int i;

	for (i = 0; i < 900; i++)
		tick(h, m, T0 + i * 1000, i * 0.001, i * 2.5, true);
	plain = answer(h, NULL, 0, 0, INT64_MAX, 4096);
	g = gzip_stream__new(result_bytes, result_free, history__query(h, &q));
	CHECK(g != NULL);
	while (g && (n = gzip_stream__read(g, chunk, sizeof(chunk))) > 0)
		buf__append(&gz, chunk, n);
	gzip_stream__free(g);
	/* It inflates to the plain answer, several times smaller. */
	back = malloc(strlen(plain) + 1);
	CHECK_INT(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz.data;
	z.avail_in = gz.len;
	z.next_out = back;
	z.avail_out = strlen(plain) + 1;
	CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
	CHECK_INT(z.total_out, strlen(plain));
	CHECK(!memcmp(back, plain, strlen(plain)));
	CHECK(gz.len * 2 < strlen(plain));
	inflateEnd(&z);
	free(back);
	free(plain);
	buf__free(&gz);
	mset__free(m);
	history__free(h);
}

TEST(departed_series_age_out)
{
	struct history *h = ring(10, 0, 16);
	struct mset *m = mset__new();
	size_t before, after, peak;
	int i;

	tick(h, m, T0, 0.1, 0.2, false);
	history__series(h, &before);
	for (i = 1; i < 5; i++)
		tick(h, m, T0 + i * 1000, 0.1, 0.2, true);
	CHECK_INT(history__series(h, &peak), 3);
	CHECK(peak > before);
	/* CPU 1 leaves: kept while any of the 10 slots holds a sample of it, then forgotten. */
	for (i = 5; i < 13; i++)
		tick(h, m, T0 + i * 1000, 0.1, 0, false);
	CHECK_INT(history__series(h, NULL), 3);
	tick(h, m, T0 + 13 * 1000, 0.1, 0, false);
	CHECK_INT(history__series(h, NULL), 3);
	tick(h, m, T0 + 14 * 1000, 0.1, 0, false);
	CHECK_INT(history__series(h, &after), 2);
	CHECK_INT(after, before);
	mset__free(m);
	history__free(h);
}

TEST(series_are_bounded)
{
	struct history *h = ring(60, 15, 4);
	struct mset *m = mset__new();
	char name[16];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "%d", i);
		mset__add(m, &busy, i, name);
	}
	CHECK_INT(history__record(h, m, T0), 6);
	CHECK_INT(history__series(h, NULL), 4);
	mset__free(m);
	history__free(h);
}

static double peak(struct mset *m, const char *name, const char *labels)
{
	size_t i;
	uint32_t j;

	for (i = 0; i < m->nfams; i++) {
		if (strcmp(m->fams[i].desc->name, name))
			continue;
		for (j = m->fams[i].head; j != MSAMPLE_END; j = m->samples[j].next)
			if (!strcmp(m->text.data + m->samples[j].labels, labels))
				return m->samples[j].value;
	}
	return NAN;
}

TEST(peaks_cover_the_window)
{
	struct history *h = ring(900, 15, 16);
	struct mset *m = mset__new();
	const struct metric_desc *d = NULL;
	char help[512];
	size_t i;
	int t;

	/* A 2-tick burst to 0.98 at ticks 3 and 4, then 0.01. */
	for (t = 0; t < 40; t++) {
		double v = t == 3 || t == 4 ? 0.98 : 0.01;

		tick(h, m, T0 + t * 1000, v, 0.5, true);
		CHECK_INT(history__add_peaks(h, m), 0);
		/* Ticks 3..18 see the burst among their last 15 ticks; later ones do not. */
		CHECK_NEAR(peak(m, "test_busy_ratio_max", "cpu=\"0\""),
			   t >= 3 && t <= 18 ? 0.98 : 0.01, 0);
		CHECK_NEAR(peak(m, "test_busy_ratio_max", "cpu=\"1\""), 0.5, 0);
	}
	CHECK(isnan(peak(m, "test_total_max", "cpu=\"0\"")));
	for (i = 0; i < m->nfams; i++)
		if (!strcmp(m->fams[i].desc->name, "test_busy_ratio_max"))
			d = m->fams[i].desc;
	CHECK(d && d->type == METRIC_GAUGE && !strcmp(d->labels, "cpu") && !d->flags);
	history__peak_help(&busy, 15000000000ull, help, sizeof(help));
	CHECK_STR(d ? d->help : NULL, help);
	CHECK_STR(help, "Highest value of test_busy_ratio at any tick of the last 15s "
			"(--history.peak-window).");
	mset__free(m);
	history__free(h);
}

/*
 * The window wraps around the ring's end: at every tick the peak is the highest of the
 * last min(window, ticks so far) values, whether the ring is as long as the window or
 * longer (the window then ends anywhere in it), NaN gaps left out.
 */
TEST(peaks_across_the_ring_end)
{
	static const unsigned int shape[][2] = {{0, 5}, {7, 5}, {5, 1}, {3, 3}};
	struct mset *m = mset__new();
	double seen[40];
	size_t si;
	int t, k;

	for (si = 0; si < sizeof(shape) / sizeof(shape[0]); si++) {
		struct history *h = ring(shape[si][0], shape[si][1], 16);
		int window = (int)shape[si][1];

		for (t = 0; t < 40; t++) {
			double want = NAN;

			seen[t] = (double)((t * 7) % 11) / 10;
			/* CPU 1 has a gap every 4th tick: its peak leaves the gap out. */
			tick(h, m, T0 + t * 1000, seen[t], seen[t], t % 4 != 2);
			CHECK_INT(history__add_peaks(h, m), 0);
			for (k = t; k >= 0 && k > t - window; k--)
				if (isnan(want) || seen[k] > want)
					want = seen[k];
			CHECKF(peak(m, "test_busy_ratio_max", "cpu=\"0\"") == want,
			       "ring %us, window %us, tick %d: peak %g, expected %g", shape[si][0],
			       shape[si][1], t, peak(m, "test_busy_ratio_max", "cpu=\"0\""), want);
			want = NAN;
			for (k = t; k >= 0 && k > t - window; k--)
				if (k % 4 != 2 && (isnan(want) || seen[k] > want))
					want = seen[k];
			if (isnan(want))
				CHECK(isnan(peak(m, "test_busy_ratio_max", "cpu=\"1\"")));
			else
				CHECK_NEAR(peak(m, "test_busy_ratio_max", "cpu=\"1\""), want, 0);
		}
		history__free(h);
	}
	mset__free(m);
}

TEST(off_means_off)
{
	struct history *h = ring(0, 0, 16);

	CHECK(h == NULL);
	CHECK_INT(errno, 0);
	/* Peaks without a served history: the ring is the peak window long. */
	h = ring(0, 15, 16);
	CHECK(h && !history__serves(h));
	CHECK_INT(history__slots(h), 15);
	history__free(h);
	h = ring(900, 0, 16);
	CHECK(h && history__serves(h));
	CHECK_INT(history__slots(h), 900);
	history__free(h);
}

TEST(hostile_labels_in_json)
{
	struct history *h = ring(60, 0, 16);
	struct mset *m = mset__new();
	const char *match[] = {"test_comm_ratio{name=\"a\\\"b\\\\c\\n</script>\\u2028\"}"};
	char *a;

	mset__add(m, &comm, 0.5, "a\"b\\c\n</script>\xe2\x80\xa8");
	mset__add(m, &comm, 0.25, "ok");
	history__record(h, m, T0);
	a = answer(h, match, 1, 0, INT64_MAX, 4096);
	CHECK_STR(a, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		     "{\"metric\":{\"__name__\":\"test_comm_ratio\",\"name\":"
		     "\"a\\\"b\\\\c\\n\\u003c/script\\u003e\\u2028\"},"
		     "\"values\":[[1700000000,\"0.5\"]]}]}}\n");
	free(a);
	mset__free(m);
	history__free(h);
}

TEST(readers_are_bounded)
{
	struct history *h = ring(60, 0, 16);
	struct history_query q = {.start_ms = 0, .end_ms = INT64_MAX};
	struct history_result *r[HISTORY_MAX_READERS + 1];
	int i;

	for (i = 0; i < HISTORY_MAX_READERS; i++)
		CHECK((r[i] = history__query(h, &q)) != NULL);
	r[i] = history__query(h, &q);
	CHECK(r[i] == NULL && errno == EBUSY);
	history_result__free(r[0]);
	r[0] = history__query(h, &q);
	CHECK(r[0] != NULL);
	for (i = 0; i < HISTORY_MAX_READERS; i++)
		history_result__free(r[i]);
	history__free(h);
}

/*
 * The README's bound, bytes = S x (8 N + 88 + 2 x label text) + 8 N + 24 x max-series, and
 * kpulse_history_memory_bytes (history__series), against the allocator's own count of what
 * the ring took: 40 series at the defaults (900 slots, 15 s peaks, 1024 series at most).
 * Tolerance: 2 % of the ring plus 2 KiB (the ring's own header, one peak family per
 * family, malloc's chunk headers); and all of it comes back when the ring is freed (to the
 * byte under ASan; glibc counts chunks parked in its per-thread cache as in use).
 */
TEST(memory_is_what_the_readme_says)
{
	struct mset *m = mset__new();
	struct history *h;
	size_t base, took, bytes, text = 0, S = 40, N = 900, formula;
	char name[16];
	int i;

	for (i = 0; i < (int)S - 1; i++) {
		snprintf(name, sizeof(name), "%d", i);
		mset__add(m, &busy, 0.5, name);
		text += strlen("cpu=\"\"") + strlen(name);
	}
	mset__add(m, &all, 0.5);
	base = allocated();
	h = ring(900, 15, 1024);
	CHECK(h != NULL);
	CHECK_INT(history__slots(h), N);
	CHECK_INT(history__record(h, m, T0), 0);
	CHECK_INT(history__series(h, &bytes), S);
	took = allocated() - base;
	formula = S * (8 * N + 88) + 2 * text + 8 * N + 24 * 1024;
	printf("  %zu series: kpulse_history_memory_bytes %zu, README formula %zu, allocator %zu\n",
	       S, bytes, formula, took);
	CHECK_NEAR((double)bytes, (double)took, 0.02 * took + 2048);
	CHECK_NEAR((double)formula, (double)took, 0.02 * took + 2048);
	history__free(h);
#if defined(__SANITIZE_ADDRESS__)
	CHECK_INT(allocated(), base);
#else
	CHECK_NEAR((double)allocated(), (double)base, 1024);
#endif
	mset__free(m);
}

int main(void)
{
	h_suite = "history";
	RUN(json_escaping);
	RUN(selector_parse);
	RUN(selector_match);
	RUN(ring_answers_the_window);
	RUN(read_in_small_chunks);
	RUN(gzip_streamed_answer);
	RUN(departed_series_age_out);
	RUN(series_are_bounded);
	RUN(peaks_cover_the_window);
	RUN(peaks_across_the_ring_end);
	RUN(off_means_off);
	RUN(hostile_labels_in_json);
	RUN(readers_are_bounded);
	RUN(memory_is_what_the_readme_says);
	return DONE();
}
