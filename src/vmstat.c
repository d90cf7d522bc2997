// SPDX-License-Identifier: GPL-2.0
/*
 * vmstat collector: the /proc/vmstat event counters that say a host is short of memory:
 * major faults, swapping, reclaim scans and steals by who reclaimed, workingset refaults
 * and the kernel's own count of OOM kills.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "collector.h"
#include "kstat.h"
#include "log.h"
#include "procfs.h"

static const struct metric_desc page_faults = {
	"kpulse_memory_page_faults_total",
	METRIC_COUNTER,
	"",
	"Page faults, minor and major (/proc/vmstat pgfault).",
};
static const struct metric_desc major_faults = {
	"kpulse_memory_major_faults_total",
	METRIC_COUNTER,
	"",
	"Page faults that had to read from disk or swap (/proc/vmstat pgmajfault).",
};
static const struct metric_desc swap_in = {
	"kpulse_memory_swap_in_bytes_total",
	METRIC_COUNTER,
	"",
	"Memory read back from swap (/proc/vmstat pswpin x page size).",
};
static const struct metric_desc swap_out = {
	"kpulse_memory_swap_out_bytes_total",
	METRIC_COUNTER,
	"",
	"Memory written out to swap (/proc/vmstat pswpout x page size).",
};
static const struct metric_desc reclaim_scanned = {
	"kpulse_memory_reclaim_scanned_pages_total",
	METRIC_COUNTER,
	"by",
	"Pages page reclaim looked at, by who reclaimed: direct (an allocating task, which "
	"stalls), kswapd (in the background) or khugepaged (/proc/vmstat pgscan_<by>).",
};
static const struct metric_desc reclaim_stolen = {
	"kpulse_memory_reclaim_stolen_pages_total",
	METRIC_COUNTER,
	"by",
	"Pages page reclaim freed, by who reclaimed (/proc/vmstat pgsteal_<by>).",
};
static const struct metric_desc refaults = {
	"kpulse_memory_workingset_refaults_total",
	METRIC_COUNTER,
	"type",
	"Pages faulted back in soon after reclaim evicted them (thrashing), anon or file "
	"(/proc/vmstat workingset_refault_<type>).",
};
static const struct metric_desc oom_kills = {
	"kpulse_oom_kills_total",
	METRIC_COUNTER,
	"",
	"Processes the OOM killer killed, host-wide, global and cgroup OOMs alike (/proc/vmstat "
	"oom_kill); kpulse_cgroup_oom_kills_total says which cgroup.",
};

static const struct metric_desc *const vmstat_metrics[] = {
	&page_faults,	 &major_faults, &swap_in,   &swap_out, &reclaim_scanned,
	&reclaim_stolen, &refaults,	&oom_kills, NULL,
};

/* What each /proc/vmstat key becomes: family, label value, scale (page size or 1). */
static const struct {
	const char *key;
	const struct metric_desc *desc;
	const char *label;
	bool pages_to_bytes;
} fields[] = {
	{"pgfault", &page_faults},
	{"pgmajfault", &major_faults},
	{"pswpin", &swap_in, NULL, true},
	{"pswpout", &swap_out, NULL, true},
	{"pgscan_direct", &reclaim_scanned, "direct"},
	{"pgscan_kswapd", &reclaim_scanned, "kswapd"},
	{"pgscan_khugepaged", &reclaim_scanned, "khugepaged"},
	{"pgsteal_direct", &reclaim_stolen, "direct"},
	{"pgsteal_kswapd", &reclaim_stolen, "kswapd"},
	{"pgsteal_khugepaged", &reclaim_stolen, "khugepaged"},
	{"workingset_refault_anon", &refaults, "anon"}, /* since 5.9 */
	{"workingset_refault_file", &refaults, "file"},
	{"oom_kill", &oom_kills}, /* since 4.13 */
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

struct vmstat {
	const char *procfs;
	struct procfs_buf buf;
	const char *keys[NFIELDS];
	double page_size;
	uint32_t warned_missing; /* 1u << field: reported missing */
};

static int vmstat_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct vmstat *v = calloc(1, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	c->priv = v;
	v->procfs = cfg->procfs;
	v->page_size = (double)sysconf(_SC_PAGESIZE);
	for (i = 0; i < NFIELDS; i++)
		v->keys[i] = fields[i].key;
	return 0;
}

static int vmstat_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct vmstat *v = c->priv;
	uint64_t vals[NFIELDS];
	uint32_t found;
	size_t i;
	int err;

	err = procfs__read(v->procfs, "vmstat", &v->buf);
	if (err) {
		log__reason("failed to read %s/vmstat: %s", v->procfs, procfs__strerror(err));
		return err;
	}
	found = kv__parse(v->buf.data, v->keys, NFIELDS, vals);
	if (!found) {
		log__reason("%s/vmstat has none of the counters kpulse exports", v->procfs);
		return -ENODATA;
	}
	for (i = 0; i < NFIELDS; i++) {
		double x = (double)vals[i];

		if (!(found & (1u << i))) {
			/* An older kernel lacks some keys: say so once, export the rest. */
			if (!(v->warned_missing & (1u << i)))
				log_debug("no %s in %s/vmstat; %s%s%s is not exported",
					  fields[i].key, v->procfs, fields[i].desc->name,
					  fields[i].label ? " for " : "",
					  fields[i].label ? fields[i].label : "");
			v->warned_missing |= 1u << i;
			continue;
		}
		if (fields[i].pages_to_bytes)
			x *= v->page_size;
		if (fields[i].label)
			mset__add(out, fields[i].desc, x, fields[i].label);
		else
			mset__add(out, fields[i].desc, x);
	}
	return 0;
}

static void vmstat_destroy(struct collector *c)
{
	struct vmstat *v = c->priv;

	if (!v)
		return;
	procfs__buf_free(&v->buf);
	free(v);
	c->priv = NULL;
}

struct collector vmstat_collector = {
	.name = "vmstat",
	.help = "Major faults, swapping, reclaim, workingset refaults and OOM kills from "
		"/proc/vmstat",
	.enabled = true,
	.metrics = vmstat_metrics,
	.init = vmstat_init,
	.sample = vmstat_sample,
	.destroy = vmstat_destroy,
};
