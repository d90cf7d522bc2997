// SPDX-License-Identifier: GPL-2.0
/* Memory collector: the /proc/meminfo lines a node dashboard starts with, in bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "collector.h"
#include "log.h"
#include "procfs.h"

#define MEM_GAUGE(var, name, help)                                                                 \
	static const struct metric_desc var = {"kpulse_memory_" name "_bytes", METRIC_GAUGE, "",   \
					       help}

MEM_GAUGE(mem_total, "total", "Usable RAM (MemTotal in /proc/meminfo).");
MEM_GAUGE(mem_free, "free", "RAM not used for anything (MemFree).");
MEM_GAUGE(mem_available, "available",
	  "Estimate of RAM available for new work without swapping (MemAvailable).");
MEM_GAUGE(mem_buffers, "buffers", "Block device buffers (Buffers).");
MEM_GAUGE(mem_cached, "cached", "Page cache, without swap cache (Cached).");
MEM_GAUGE(mem_swap_total, "swap_total", "Total swap space (SwapTotal).");
MEM_GAUGE(mem_swap_free, "swap_free", "Unused swap space (SwapFree).");
MEM_GAUGE(mem_dirty, "dirty", "Memory waiting to be written back to disk (Dirty).");
MEM_GAUGE(mem_writeback, "writeback", "Memory being written back to disk now (Writeback).");
MEM_GAUGE(mem_shmem, "shmem", "Shared memory and tmpfs pages (Shmem).");
MEM_GAUGE(mem_slab, "slab", "Kernel slab allocations (Slab).");
static const struct metric_desc mem_used_ratio = {
	"kpulse_memory_used_ratio",
	METRIC_GAUGE,
	"",
	"1 - MemAvailable / MemTotal: the share of RAM not available for new work.",
	METRIC_HISTORY,
};

/* In the order of enum meminfo_field. */
static const struct metric_desc *const field_desc[MEMINFO_NFIELDS] = {
	&mem_total,	&mem_free,  &mem_available, &mem_buffers, &mem_cached, &mem_swap_total,
	&mem_swap_free, &mem_dirty, &mem_writeback, &mem_shmem,	  &mem_slab,
};

static const struct metric_desc *const memory_metrics[] = {
	&mem_total,	 &mem_free,	  &mem_available, &mem_buffers,	  &mem_cached,
	&mem_swap_total, &mem_swap_free,  &mem_dirty,	  &mem_writeback, &mem_shmem,
	&mem_slab,	 &mem_used_ratio, NULL,
};

struct memory {
	const char *procfs;
	struct procfs_buf buf;
	uint32_t warned_missing; /* 1u << field: reported missing or not a number */
};

static int memory_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct memory *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->procfs = cfg->procfs;
	c->priv = m;
	return 0;
}

static int memory_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct memory *m = c->priv;
	struct meminfo mi;
	int err, i;

	err = procfs__read(m->procfs, "meminfo", &m->buf);
	if (err) {
		log__reason("failed to read %s/meminfo: %s", m->procfs, procfs__strerror(err));
		return err;
	}
	if (meminfo__parse(m->buf.data, &mi)) {
		/* Say what is wrong with the file: it was read, it just holds nothing usable. */
		log__reason("%s/meminfo has no line kpulse exports (MemTotal, MemFree, ...) in the "
			    "form 'Key: <number> kB'",
			    m->procfs);
		return -EBADMSG;
	}
	for (i = 0; i < MEMINFO_NFIELDS; i++) {
		if (mi.present & (1u << i)) {
			/* kB is 1024 bytes here (the kernel shifts pages by PAGE_SHIFT - 10). */
			mset__add(out, field_desc[i], (double)mi.kb[i] * 1024);
			continue;
		}
		procfs__warn_once(&m->warned_missing, 1u << i,
				  "meminfo: %s is %s; %s is not exported", meminfo__key(i),
				  mi.bad & (1u << i) ? "not a number" : "missing",
				  field_desc[i]->name);
	}
	if ((mi.present & (1u << MEMINFO_TOTAL)) && (mi.present & (1u << MEMINFO_AVAILABLE)) &&
	    mi.kb[MEMINFO_TOTAL] && mi.kb[MEMINFO_AVAILABLE] <= mi.kb[MEMINFO_TOTAL])
		mset__add(out, &mem_used_ratio,
			  1.0 - (double)mi.kb[MEMINFO_AVAILABLE] / (double)mi.kb[MEMINFO_TOTAL]);
	return 0;
}

static void memory_destroy(struct collector *c)
{
	struct memory *m = c->priv;

	if (!m)
		return;
	procfs__buf_free(&m->buf);
	free(m);
	c->priv = NULL;
}

struct collector memory_collector = {
	.name = "memory",
	.help = "Memory and swap usage from /proc/meminfo",
	.enabled = true,
	.metrics = memory_metrics,
	.init = memory_init,
	.sample = memory_sample,
	.destroy = memory_destroy,
};
