// SPDX-License-Identifier: GPL-2.0
/*
 * Block collector (bpf/block.bpf.c): latency and size of block requests per disk and
 * operation, as histograms, for the disks the disk collector reports.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "block.h"
#include "block.skel.h"
#include "collector.h"
#include "disk.h"
#include "filter.h"
#include "loader.h"
#include "log.h"

static unsigned int inflight_max = 16384;
static unsigned int hist_max = 1024;
static bool own_clock;

static const struct flag block_flags[] = {
	{"collector.block.inflight-max", FLAG_UINT, &inflight_max,
	 "requests timed at once; past that the one issued longest ago loses its start time "
	 "(counted in kpulse_block_io_untimed_total)"},
	{"collector.block.hist-max", FLAG_UINT, &hist_max,
	 "disk x operation histograms the kernel map holds; past that requests are counted in "
	 "kpulse_block_io_lost_total"},
	{"collector.block.own-clock", FLAG_BOOL, &own_clock,
	 "time every request with kpulse's own clock and in-flight map, also where the kernel "
	 "stamps the issue itself (a queue with writeback throttling, iolatency or iocost): "
	 "one more clock read and a map update and delete per request"},
	{NULL},
};

static const struct metric_desc latency = {
	"kpulse_block_io_latency_seconds",
	METRIC_HISTOGRAM,
	"device,op",
	"Time block requests took from issue to the driver to completion, by disk and operation "
	"(read, write, flush, discard, other); log2 buckets from 1 us (eBPF, block_rq_issue and "
	"block_rq_complete). Devices as the disk collector's filters choose them.",
};
static const struct metric_desc size = {
	"kpulse_block_io_size_bytes",
	METRIC_HISTOGRAM,
	"device,op",
	"Size of completed block requests, by disk and operation; log2 buckets from 512 bytes.",
};
static const struct metric_desc queue_time = {
	"kpulse_block_io_queue_seconds_total",
	METRIC_COUNTER,
	"device,op",
	"Time the requests counted in kpulse_block_io_latency_seconds spent in the block layer "
	"before issue (from allocation, the instant /proc/diskstats times from, when the kernel "
	"stamps it: a queue with iostats or an I/O scheduler).",
};
static const struct metric_desc untimed = {
	"kpulse_block_io_untimed_total",
	METRIC_COUNTER,
	"",
	"Block requests that completed without an issue time: issued before kpulse attached, or "
	"pushed out of a full in-flight map (--collector.block.inflight-max).",
};
static const struct metric_desc lost = {
	"kpulse_block_io_lost_total",
	METRIC_COUNTER,
	"",
	"Timed block requests not counted because the histogram map was full "
	"(--collector.block.hist-max).",
};

static const struct metric_desc *const block_metrics[] = {
	&latency, &size, &queue_time, &untimed, &lost, NULL,
};

static const char *const op_names[KPULSE_BLOCK_NOPS] = {"read", "write", "flush", "discard",
							"other"};

struct block {
	struct block_bpf *skel;
	const char *sysfs;
	const char *pin_path;
	struct filter filter;
	int ncpus;
	struct kpulse_block_hist *vals; /* one per possible CPU */
	struct kpulse_block_stats *stats;
	int queue_flag_stats, rqf_stats; /* bpf/block.bpf.c's rodata; -1: not in this kernel */
	double lat_bounds[KPULSE_BLOCK_LAT_BOUNDS];
	double size_bounds[KPULSE_BLOCK_SIZE_BOUNDS];
};

static int load_attach(void *ctx, bool *use_btf)
{
	struct block *b = ctx;
	struct block_bpf *skel;
	int err;

	/* Open BPF application */
	b->skel = skel = block_bpf__open();
	if (!skel)
		return -errno;
	/* Configure: one twin of each tracepoint, map sizes, pinned maps */
	*use_btf = loader__choose_twins(skel->obj, *use_btf);
	skel->rodata->queue_flag_stats = b->queue_flag_stats;
	skel->rodata->rqf_stats = b->rqf_stats;
	err = bpf_map__set_max_entries(skel->maps.block_inflight, inflight_max ? inflight_max : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.block_hist, hist_max ? hist_max : 1);
	if (!err)
		err = loader__pin_maps(skel->obj, b->pin_path);
	if (err)
		return err;
	/* Load & verify BPF programs */
	err = block_bpf__load(skel);
	if (err)
		return err;
	/* Attach both tracepoints */
	return block_bpf__attach(skel);
}

static void unload(void *ctx)
{
	struct block *b = ctx;

	block_bpf__destroy(b->skel);
	b->skel = NULL;
}

/*
 * Where the running kernel stamps a request's issue time itself (QUEUE_FLAG_STATS on its
 * queue, RQF_STATS on the request): the bits, from its BTF. Without them every request is
 * timed from the in-flight map, which costs a clock read and a map update per request.
 */
static void kernel_stamps(struct block *b)
{
	const struct btf *btf;
	long long q = -1, r = -1;

	b->queue_flag_stats = b->rqf_stats = -1;
	if (own_clock)
		return;
	btf = loader__vmlinux_btf();
	if (!btf)
		return;
	if (!loader__btf_enum_value(btf, "QUEUE_FLAG_STATS", &q) &&
	    !loader__btf_enum_value(btf, "__RQF_STATS", &r) && q >= 0 && q < 64 && r >= 0 &&
	    r < 32) {
		b->queue_flag_stats = (int)q;
		b->rqf_stats = (int)r;
	} else {
		log_info("this kernel's BTF has no QUEUE_FLAG_STATS/__RQF_STATS; every "
			 "request is timed from the in-flight map");
	}
}

static int block_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct block *b = calloc(1, sizeof(*b));
	char why[512];
	int err, i;

	if (!b)
		return -ENOMEM;
	c->priv = b;
	b->sysfs = cfg->sysfs;
	b->pin_path = cfg->pin_path;
	if (disk__filter_init(&b->filter, why, sizeof(why))) {
		log__reason("--collector.disk.device-include/-exclude: %s", why);
		return -EINVAL;
	}
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0)
		return b->ncpus ? b->ncpus : -EINVAL;
	b->vals = calloc(b->ncpus, sizeof(*b->vals));
	b->stats = calloc(b->ncpus, sizeof(*b->stats));
	if (!b->vals || !b->stats)
		return -ENOMEM;
	for (i = 0; i < KPULSE_BLOCK_LAT_BOUNDS; i++)
		b->lat_bounds[i] = ldexp(1e-6, i);
	for (i = 0; i < KPULSE_BLOCK_SIZE_BOUNDS; i++)
		b->size_bounds[i] = ldexp(1, KPULSE_BLOCK_SIZE_MIN_SHIFT + i);
	kernel_stamps(b);
	err = loader__load_twins(load_attach, unload, b, NULL);
	if (err)
		log__reason("failed to load and attach the programs: %s", strerror(-err));
	return err;
}

/* The name of block device @dev (kernel dev_t encoding) from sysfs; -errno if it is gone. */
static int dev_name(const char *sysfs, __u32 dev, char *out, size_t len)
{
	char path[256], link[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs, dev >> 20, dev & 0xfffff);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

/* By disk, then operation: the keys of one disk are next to each other. */
static int cmp_key(const void *a, const void *b)
{
	const struct kpulse_block_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* One disk x operation: its histograms, summed over CPUs, into @out. */
static void add_device(struct block *b, const struct kpulse_block_key *key, const char *name,
		       struct mset *out)
{
	uint64_t lat[KPULSE_BLOCK_LAT_SLOTS] = {}, sz[KPULSE_BLOCK_SIZE_SLOTS] = {};
	uint64_t sum_ns = 0, bytes = 0, queue_ns = 0;
	int cpu, i;

	for (cpu = 0; cpu < b->ncpus; cpu++) {
		const struct kpulse_block_hist *h = &b->vals[cpu];

		for (i = 0; i < KPULSE_BLOCK_LAT_SLOTS; i++)
			lat[i] += h->lat_slots[i];
		for (i = 0; i < KPULSE_BLOCK_SIZE_SLOTS; i++)
			sz[i] += h->size_slots[i];
		sum_ns += h->lat_sum_ns;
		queue_ns += h->queue_sum_ns;
		bytes += h->bytes;
	}
	mset__histogram(out, &latency, b->lat_bounds, lat, KPULSE_BLOCK_LAT_BOUNDS,
			(double)sum_ns / 1e9, name, op_names[key->op]);
	mset__histogram(out, &size, b->size_bounds, sz, KPULSE_BLOCK_SIZE_BOUNDS, (double)bytes,
			name, op_names[key->op]);
	mset__add(out, &queue_time, (double)queue_ns / 1e9, name, op_names[key->op]);
}

static int block_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct block *b = c->priv;
	struct bpf_map *map = b->skel->maps.block_hist;
	struct kpulse_block_key key, *keys;
	uint64_t untimed_n = 0, lost_n = 0;
	size_t n = 0, i;
	char name[64];
	__u32 zero = 0;
	bool named = false;
	int err, cpu;

	if (bpf_map__lookup_elem(b->skel->maps.block_stats, &zero, sizeof(zero), b->stats,
				 sizeof(*b->stats) * b->ncpus, 0))
		return -errno;
	for (cpu = 0; cpu < b->ncpus; cpu++) {
		untimed_n += b->stats[cpu].untimed;
		lost_n += b->stats[cpu].lost;
	}
	mset__add(out, &untimed, (double)untimed_n);
	mset__add(out, &lost, (double)lost_n);

	/* Keys first: entries of vanished disks are deleted below, which would restart a walk. */
	keys = calloc(bpf_map__max_entries(map), sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	loader__for_each_entry(map, &key, NULL, 0, err)
	{
		if (n == bpf_map__max_entries(map))
			break;
		keys[n++] = key;
	}
	/* One sysfs lookup per disk, not per disk and operation. */
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (i = 0; i < n; i++) {
		if (!i || keys[i].dev != keys[i - 1].dev)
			named = !dev_name(b->sysfs, keys[i].dev, name, sizeof(name));
		if (keys[i].op >= KPULSE_BLOCK_NOPS)
			continue;
		if (!named) {
			/* The disk is gone: so are its histograms (a new one starts afresh). */
			bpf_map__delete_elem(map, &keys[i], sizeof(keys[i]), 0);
			continue;
		}
		if (!filter__match(&b->filter, name) ||
		    bpf_map__lookup_elem(map, &keys[i], sizeof(keys[i]), b->vals,
					 sizeof(*b->vals) * b->ncpus, 0))
			continue;
		add_device(b, &keys[i], name, out);
	}
	free(keys);
	return 0;
}

static void block_destroy(struct collector *c)
{
	struct block *b = c->priv;

	if (!b)
		return;
	block_bpf__destroy(b->skel);
	filter__free(&b->filter);
	free(b->vals);
	free(b->stats);
	free(b);
	c->priv = NULL;
}

struct collector block_collector = {
	.name = "block",
	.help = "Block I/O latency and size per disk and operation, from block_rq_issue and "
		"block_rq_complete (eBPF)",
	.enabled = true,
	.needs_bpf = true,
	.flags = block_flags,
	.metrics = block_metrics,
	.init = block_init,
	.sample = block_sample,
	.destroy = block_destroy,
};
