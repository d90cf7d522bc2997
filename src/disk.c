// SPDX-License-Identifier: GPL-2.0
/* Disk collector: block device I/O from /proc/diskstats, counters and per-interval rates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collector.h"
#include "disk.h"
#include "filter.h"
#include "log.h"
#include "procfs.h"
#include "rate.h"
#include "strindex.h"

static const struct metric_desc read_bytes = {
	"kpulse_disk_read_bytes_total",
	METRIC_COUNTER,
	"device",
	"Bytes read from the device (sectors read x 512: diskstats counts 512-byte units "
	"whatever the device's sector size).",
};
static const struct metric_desc written_bytes = {
	"kpulse_disk_written_bytes_total",
	METRIC_COUNTER,
	"device",
	"Bytes written to the device (sectors written x 512).",
};
static const struct metric_desc reads_completed = {
	"kpulse_disk_reads_completed_total",
	METRIC_COUNTER,
	"device",
	"Reads completed successfully.",
};
static const struct metric_desc writes_completed = {
	"kpulse_disk_writes_completed_total",
	METRIC_COUNTER,
	"device",
	"Writes completed successfully.",
};
static const struct metric_desc read_time = {
	"kpulse_disk_read_time_seconds_total",
	METRIC_COUNTER,
	"device",
	"Time spent by all reads, summed over reads that overlap.",
};
static const struct metric_desc write_time = {
	"kpulse_disk_write_time_seconds_total",
	METRIC_COUNTER,
	"device",
	"Time spent by all writes, summed over writes that overlap.",
};
static const struct metric_desc io_time = {
	"kpulse_disk_io_time_seconds_total",
	METRIC_COUNTER,
	"device",
	"Time the device had at least one I/O in flight.",
};
static const struct metric_desc io_now = {
	"kpulse_disk_io_now",
	METRIC_GAUGE,
	"device",
	"I/Os in flight right now.",
};
static const struct metric_desc read_bps = {
	"kpulse_disk_read_bytes_per_second",
	METRIC_GAUGE,
	"device",
	"Bytes read per second over the last sampler interval.",
	METRIC_HISTORY,
};
static const struct metric_desc write_bps = {
	"kpulse_disk_write_bytes_per_second",
	METRIC_GAUGE,
	"device",
	"Bytes written per second over the last sampler interval.",
	METRIC_HISTORY,
};
static const struct metric_desc reads_ps = {
	"kpulse_disk_reads_per_second",
	METRIC_GAUGE,
	"device",
	"Reads completed per second over the last sampler interval.",
};
static const struct metric_desc writes_ps = {
	"kpulse_disk_writes_per_second",
	METRIC_GAUGE,
	"device",
	"Writes completed per second over the last sampler interval.",
};
static const struct metric_desc utilization = {
	"kpulse_disk_utilization_ratio",
	METRIC_GAUGE,
	"device",
	"Share of the last sampler interval the device had I/O in flight (io time / elapsed), "
	"0..1.",
	METRIC_HISTORY | METRIC_MERGE_MAX,
};

static const struct metric_desc *const disk_metrics[] = {
	&read_bytes,  &written_bytes, &reads_completed, &writes_completed, &read_time, &write_time,
	&io_time,     &io_now,	      &read_bps,	&write_bps,	   &reads_ps,  &writes_ps,
	&utilization, NULL,
};

/* node_exporter's default, in POSIX ERE: partitions, loop, (z)ram and floppy devices. */
static const char default_exclude[] = "(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme[0-9]+n[0-9]+p)[0-9]+";
static const char *device_include = "";
static const char *device_exclude = default_exclude;
static unsigned int max_devices = 4096;

static const struct flag disk_flags[] = {
	{"collector.disk.device-include", FLAG_STRING, &device_include,
	 "Regular expression of devices to report (whole name); when set, the default exclude "
	 "is dropped"},
	{"collector.disk.device-exclude", FLAG_STRING, &device_exclude,
	 "Regular expression of devices not to report (whole name)"},
	{"collector.disk.max-devices", FLAG_UINT, &max_devices,
	 "Most devices reported (the first in /proc/diskstats); the rest are left out and "
	 "logged once"},
	{NULL},
};

/* One reading of the devices that pass the filter, kept as the next tick's previous one. */
struct disk_reading {
	struct diskstat *st;
	size_t n, cap;
	struct strindex index; /* name -> position in st */
};

struct disk {
	const char *procfs;
	struct procfs_buf buf;
	struct filter filter;
	struct disk_reading cur, prev; /* swapped after each tick; prev empty after a failure */
	uint32_t warned;
};

enum disk_warn {
	WARN_LINE = 1u << 1,
	WARN_FIELDS = 1u << 2,
	WARN_TWICE = 1u << 3,
	WARN_MAX = 1u << 4,
};

int disk__filter_init(struct filter *f, char *err, size_t errlen)
{
	const char *exclude = device_exclude;

	/* An include list names what the user wants, partitions included. */
	if (*device_include && exclude == default_exclude)
		exclude = "";
	return filter__init(f, device_include, exclude, err, errlen);
}

static int disk_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct disk *d = calloc(1, sizeof(*d));
	char err[512];

	if (!d)
		return -ENOMEM;
	c->priv = d;
	d->procfs = cfg->procfs;
	if (disk__filter_init(&d->filter, err, sizeof(err))) {
		log__reason("--collector.disk.device-include/-exclude: %s", err);
		return -EINVAL;
	}
	return 0;
}

static bool has(const struct diskstat *s, int f)
{
	return s->present & (1u << f);
}

/* A per-second rate of field @f (times @scale), only when both readings have it. */
static void add_rate(struct mset *out, const struct metric_desc *desc, const struct diskstat *a,
		     const struct diskstat *b, int f, double scale, uint64_t elapsed_ns)
{
	double r;

	if (has(a, f) && has(b, f) && rate__per_second(a->v[f], b->v[f], elapsed_ns, &r))
		mset__add(out, desc, r * scale, b->name);
}

/* Counters of @s, and rates against @a, its previous reading (NULL for a new device). */
static void add_device(struct mset *out, const struct diskstat *s, const struct diskstat *a,
		       uint64_t elapsed_ns)
{
	const char *dev = s->name;

	if (has(s, DISK_SECTORS_READ))
		mset__add(out, &read_bytes, (double)s->v[DISK_SECTORS_READ] * 512, dev);
	if (has(s, DISK_SECTORS_WRITTEN))
		mset__add(out, &written_bytes, (double)s->v[DISK_SECTORS_WRITTEN] * 512, dev);
	if (has(s, DISK_READS))
		mset__add(out, &reads_completed, (double)s->v[DISK_READS], dev);
	if (has(s, DISK_WRITES))
		mset__add(out, &writes_completed, (double)s->v[DISK_WRITES], dev);
	if (has(s, DISK_READ_MS))
		mset__add(out, &read_time, (double)s->v[DISK_READ_MS] / 1e3, dev);
	if (has(s, DISK_WRITE_MS))
		mset__add(out, &write_time, (double)s->v[DISK_WRITE_MS] / 1e3, dev);
	if (has(s, DISK_IO_MS))
		mset__add(out, &io_time, (double)s->v[DISK_IO_MS] / 1e3, dev);
	if (has(s, DISK_IOS_NOW))
		mset__add(out, &io_now, (double)s->v[DISK_IOS_NOW], dev);
	if (!a || !elapsed_ns)
		return;
	add_rate(out, &read_bps, a, s, DISK_SECTORS_READ, 512, elapsed_ns);
	add_rate(out, &write_bps, a, s, DISK_SECTORS_WRITTEN, 512, elapsed_ns);
	add_rate(out, &reads_ps, a, s, DISK_READS, 1, elapsed_ns);
	add_rate(out, &writes_ps, a, s, DISK_WRITES, 1, elapsed_ns);
	if (has(a, DISK_IO_MS) && has(s, DISK_IO_MS)) {
		/* Milliseconds of I/O over nanoseconds elapsed; clamped to 1 because io_ticks
		 * is updated at jiffy granularity. */
		double r = (double)rate__delta(a->v[DISK_IO_MS], s->v[DISK_IO_MS]) * 1e6 /
			   (double)elapsed_ns;

		mset__add(out, &utilization, r > 1 ? 1 : r, dev);
	}
}

/* Parse diskstats into d->cur: the devices that pass the filter, each name once. */
static int read_devices(struct disk *d)
{
	struct disk_reading *r = &d->cur;
	const char *line;
	size_t i, j;

	r->n = 0;
	for (line = d->buf.len ? d->buf.data : NULL; line && *line;) {
		const char *eol = strchr(line, '\n');

		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 16;
			struct diskstat *st = realloc(r->st, cap * sizeof(*st));

			if (!st)
				return -ENOMEM;
			r->st = st;
			r->cap = cap;
		}
		if (diskstats__parse_line(line, &r->st[r->n])) {
			if (*line != '\n')
				procfs__warn_once(&d->warned, WARN_LINE,
						  "%s/diskstats: skipping a line without major, "
						  "minor and device name",
						  d->procfs);
		} else if (filter__match(&d->filter, r->st[r->n].name)) {
			/* The 11 fields after the name exist since 2.6; fewer means a cut line. */
			if (r->st[r->n].present != (1u << DISK_NFIELDS) - 1)
				procfs__warn_once(&d->warned, WARN_FIELDS,
						  "%s/diskstats: device %s lacks fields or has "
						  "values that are not numbers; those are not "
						  "exported",
						  d->procfs, r->st[r->n].name);
			r->n++;
		}
		line = eol ? eol + 1 : NULL;
	}
	/* Index the names (the array no longer moves); a name seen twice keeps its first line. */
	strindex__clear(&r->index);
	for (i = j = 0; i < r->n; i++) {
		size_t k;

		if (strindex__get(&r->index, r->st[i].name, &k)) {
			procfs__warn_once(&d->warned, WARN_TWICE,
					  "%s/diskstats: device %s is listed twice; only its first "
					  "line counts",
					  d->procfs, r->st[i].name);
			continue;
		}
		if (j == max_devices) {
			/* Bounded: 100 000 devices would be 1.3 million series (50 MB a scrape). */
			procfs__warn_once(&d->warned, WARN_MAX,
					  "%s/diskstats: more than %u devices; only the first %u "
					  "are reported (--collector.disk.max-devices, or narrow "
					  "--collector.disk.device-include)",
					  d->procfs, max_devices, max_devices);
			break;
		}
		if (j != i)
			r->st[j] = r->st[i];
		if (strindex__put(&r->index, r->st[j].name, j))
			return -ENOMEM;
		j++;
	}
	r->n = j;
	return 0;
}

static int disk_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct disk *d = c->priv;
	struct disk_reading swap;
	size_t i, k;
	int err;

	err = procfs__read(d->procfs, "diskstats", &d->buf);
	if (err == -ENODATA)
		err = 0; /* no block device at all is a valid answer */
	if (err) {
		log__reason("failed to read %s/diskstats: %s", d->procfs, procfs__strerror(err));
		d->prev.n = 0;
		strindex__clear(&d->prev.index);
		return err;
	}
	err = read_devices(d);
	if (err)
		return err;
	/*
	 * Rates divide by the sampler's measured interval since this collector's previous
	 * sample (0 on the first: no rate), not the nominal one.
	 */
	for (i = 0; i < d->cur.n; i++) {
		const struct diskstat *s = &d->cur.st[i];

		add_device(out, s,
			   strindex__get(&d->prev.index, s->name, &k) ? &d->prev.st[k] : NULL,
			   t->elapsed_ns);
	}
	/*
	 * This reading becomes the previous one: a device that went away is forgotten, so
	 * one that comes back starts afresh. The index keys point into the array they index.
	 */
	swap = d->prev;
	d->prev = d->cur;
	d->cur = swap;
	return 0;
}

static void disk_destroy(struct collector *c)
{
	struct disk *d = c->priv;

	if (!d)
		return;
	filter__free(&d->filter);
	procfs__buf_free(&d->buf);
	free(d->cur.st);
	free(d->prev.st);
	strindex__free(&d->cur.index);
	strindex__free(&d->prev.index);
	free(d);
	c->priv = NULL;
}

struct collector disk_collector = {
	.name = "disk",
	.help = "Block device I/O from /proc/diskstats",
	.enabled = true,
	.flags = disk_flags,
	.metrics = disk_metrics,
	.init = disk_init,
	.sample = disk_sample,
	.destroy = disk_destroy,
};
