// SPDX-License-Identifier: GPL-2.0
/*
 * What the history adds to one sampler tick: recording the METRIC_HISTORY samples, adding
 * the <family>_max peaks, and rendering those extra samples in the four bodies (text,
 * OpenMetrics, each gzip-compressed), on a tick shaped like this machine's and like a
 * large host's. Prints one line per shape.
 *
 * usage: history_tick [ticks]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "expfmt.h"
#include "gzip.h"
#include "history.h"
#include "metrics.h"

static const struct metric_desc busy = {"kpulse_cpu_busy_ratio", METRIC_GAUGE, "cpu", "b",
					METRIC_HISTORY};
static const struct metric_desc busy_all = {"kpulse_cpu_busy_ratio_all", METRIC_GAUGE, "", "b",
					    METRIC_HISTORY};
static const struct metric_desc modes = {"kpulse_cpu_mode_ratio", METRIC_GAUGE, "mode", "m",
					 METRIC_HISTORY};
static const struct metric_desc mem = {"kpulse_memory_used_ratio", METRIC_GAUGE, "", "m",
				       METRIC_HISTORY};
static const struct metric_desc net[4] = {
	{"kpulse_network_receive_bytes_per_second", METRIC_GAUGE, "device", "n", METRIC_HISTORY},
	{"kpulse_network_transmit_bytes_per_second", METRIC_GAUGE, "device", "n", METRIC_HISTORY},
	{"kpulse_network_receive_packets_per_second", METRIC_GAUGE, "device", "n", METRIC_HISTORY},
	{"kpulse_network_transmit_packets_per_second", METRIC_GAUGE, "device", "n", METRIC_HISTORY},
};
static const struct metric_desc disk[3] = {
	{"kpulse_disk_read_bytes_per_second", METRIC_GAUGE, "device", "d", METRIC_HISTORY},
	{"kpulse_disk_write_bytes_per_second", METRIC_GAUGE, "device", "d", METRIC_HISTORY},
	{"kpulse_disk_utilization_ratio", METRIC_GAUGE, "device", "d", METRIC_HISTORY},
};
static const struct metric_desc other = {"kpulse_other_total", METRIC_COUNTER, "cpu,what",
					 "Everything else a tick exports."};

struct shape {
	const char *name;
	int cpus, devices, disks, others;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void fill(struct mset *m, const struct shape *sh, unsigned int t)
{
	static const char *const mode[] = {"user",   "nice", "system",	"idle",
					   "iowait", "irq",  "softirq", "steal"};
	char a[32], b[32];
	int i, j;

	mset__reset(m);
	for (i = 0; i < sh->cpus; i++) {
		snprintf(a, sizeof(a), "%d", i);
		mset__add(m, &busy, (double)((t * 7 + i) % 100) / 100, a);
	}
	mset__add(m, &busy_all, (double)(t % 100) / 100);
	for (i = 0; i < 8; i++)
		mset__add(m, &modes, (double)((t + i) % 13) / 13, mode[i]);
	mset__add(m, &mem, 0.4);
	for (i = 0; i < sh->devices; i++) {
		snprintf(a, sizeof(a), i ? "veth%08x" : "lo", i * 2654435761u);
		for (j = 0; j < 4; j++)
			mset__add(m, &net[j], (double)(t * 1000 + i * j), a);
	}
	for (i = 0; i < sh->disks; i++) {
		snprintf(a, sizeof(a), "nvme%dn1", i);
		for (j = 0; j < 3; j++)
			mset__add(m, &disk[j], (double)(t * 4096 + i), a);
	}
	for (i = 0; i < sh->others; i++) {
		snprintf(a, sizeof(a), "%d", i % 64);
		snprintf(b, sizeof(b), "w%d", i);
		mset__add(m, &other, (double)t * i, a, b);
	}
}

/* The four bodies, as a scraped tick renders them (exporter/snapshot.c). */
static void render(struct mset *m)
{
	struct buf b = {};
	char *gz;
	size_t len;

	expfmt__text(m, &b);
	if (!gzip__compress(b.data, b.len, &gz, &len))
		free(gz);
	buf__reset(&b);
	expfmt__openmetrics(m, &b);
	if (!gzip__compress(b.data, b.len, &gz, &len))
		free(gz);
	buf__free(&b);
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Medians over @ticks ticks, each measured both ways in the same tick (the load of the
 * machine cancels out): the history's own work (record, peaks), and what rendering the
 * four bodies costs more with the peaks than without them.
 */
static void run(const struct shape *sh, struct history *h, unsigned int ticks, double *hist,
		double *extra, double *base)
{
	int64_t *a = calloc(ticks, sizeof(*a)), *d = calloc(ticks, sizeof(*d));
	int64_t *r = calloc(ticks, sizeof(*r));
	struct mset *m = mset__new();
	uint64_t t0, t1, t2, t3, t4;
	unsigned int t;

	for (t = 0; t < ticks; t++) {
		fill(m, sh, t);
		t0 = now_ns();
		history__record(h, m, 1700000000000ll + t * 1000ll);
		t1 = now_ns();
		render(m);
		t2 = now_ns();
		history__add_peaks(h, m);
		t3 = now_ns();
		render(m);
		t4 = now_ns();
		a[t] = (t1 - t0) + (t3 - t2);
		d[t] = (int64_t)(t4 - t3) - (int64_t)(t2 - t1);
		r[t] = t2 - t1;
	}
	qsort(a, ticks, sizeof(*a), cmp);
	qsort(d, ticks, sizeof(*d), cmp);
	qsort(r, ticks, sizeof(*r), cmp);
	*hist = a[ticks / 2];
	*extra = d[ticks / 2];
	*base = r[ticks / 2];
	free(a);
	free(d);
	free(r);
	mset__free(m);
}

/*
 * What /api/v1/history costs on a full ring: the copy made under the ring's lock (the
 * sampler waits for it), and rendering the whole answer as the server streams it.
 */
static void query_all(struct history *h, double *copy_ms, double *render_ms, size_t *bytes,
		      size_t *points)
{
	struct history_query q = {.start_ms = INT64_MIN, .end_ms = INT64_MAX};
	int64_t c[5], r[5];
	char out[32 * 1024];
	unsigned int k;

	for (k = 0; k < 5; k++) {
		uint64_t t0 = now_ns(), t1;
		struct history_result *res = history__query(h, &q);
		ssize_t n;

		t1 = now_ns();
		*bytes = 0;
		*points = res ? history_result__points(res, NULL) : 0;
		while (res && (n = history_result__read(res, out, sizeof(out))) > 0)
			*bytes += n;
		r[k] = now_ns() - t1;
		c[k] = t1 - t0;
		history_result__free(res);
	}
	qsort(c, 5, sizeof(*c), cmp);
	qsort(r, 5, sizeof(*r), cmp);
	*copy_ms = c[2] / 1e6;
	*render_ms = r[2] / 1e6;
}

int main(int argc, char **argv)
{
	static const struct shape shapes[] = {
		/* This test machine: 2 CPUs, 4 network devices, one disk; ~600 other samples. */
		{"2 CPUs, 4 devices, 1 disk", 2, 4, 1, 600},
		/* A large host: 64 CPUs, 20 network devices, 8 disks; ~3000 other samples. */
		{"64 CPUs, 20 devices, 8 disks", 64, 20, 8, 3000},
		/* The bound: as many series as --history.max-series (1024) lets in. */
		{"2 CPUs, 253 devices, 1 disk", 2, 253, 1, 600},
	};
	unsigned int ticks = argc > 1 ? atoi(argv[1]) : 2000, i;
	struct history_opts o = {
		.duration_ns = 900 * 1000000000ull,
		.peak_window_ns = 15 * 1000000000ull,
		.interval_ns = 1000000000ull,
		.max_series = 1024,
	};

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct history *h = history__new(&o);
		double rec, extra, base, copy, rend;
		size_t bytes, n, body, points;

		/* Fill the ring first: the steady state is a full ring. */
		run(&shapes[i], h, 900, &rec, &extra, &base);
		run(&shapes[i], h, ticks, &rec, &extra, &base);
		n = history__series(h, &bytes);
		printf("%s: %zu series, %zu bytes; per tick: record + peaks %.1f us, rendering "
		       "their _max %.1f us more than the %.1f us of the rest; %.4f%% of a core "
		       "at 1 Hz\n",
		       shapes[i].name, n, bytes, rec / 1e3, extra / 1e3, base / 1e3,
		       (rec + extra) / 1e9 * 100);
		query_all(h, &copy, &rend, &body, &points);
		printf("  /api/v1/history of the whole window: %zu points, %zu bytes; the copy "
		       "under "
		       "the ring's lock %.2f ms, rendering it %.1f ms\n",
		       points, body, copy, rend);
		history__free(h);
	}
	return 0;
}
