// SPDX-License-Identifier: GPL-2.0
/* Host collector: what the machine is (uname, CPU model, CPU count) and its load. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include "collector.h"
#include "cpus.h"
#include "log.h"
#include "procfs.h"

static const struct metric_desc host_info = {
	"kpulse_host_info",
	METRIC_INFO,
	"hostname,kernel,arch,cpu_model",
	"A metric with a constant '1' value labeled by the host name, kernel release and "
	"machine (uname) and the CPU model (/proc/cpuinfo).",
};
/* Not "kpulse_cpu_count": promtool rejects a _count suffix outside histograms and summaries. */
static const struct metric_desc cpu_count = {
	"kpulse_cpus_online",
	METRIC_GAUGE,
	"",
	"Number of online CPUs (<sysfs>/devices/system/cpu/online).",
};
static const struct metric_desc load1 = {
	"kpulse_load1",
	METRIC_GAUGE,
	"",
	"1-minute load average (/proc/loadavg).",
};
static const struct metric_desc load5 = {
	"kpulse_load5",
	METRIC_GAUGE,
	"",
	"5-minute load average (/proc/loadavg).",
};
static const struct metric_desc load15 = {
	"kpulse_load15",
	METRIC_GAUGE,
	"",
	"15-minute load average (/proc/loadavg).",
};
static const struct metric_desc boot_time = {
	"kpulse_boot_time_seconds",
	METRIC_GAUGE,
	"",
	"When the system booted, in seconds since the epoch (btime in /proc/stat).",
};

static const struct metric_desc *const host_metrics[] = {
	&host_info, &cpu_count, &load1, &load5, &load15, &boot_time, NULL,
};

/* Enough for any CPU number the kernel accepts on the machines we run on (NR_CPUS). */
#define HOST_MAX_CPUS 8192

enum host_warn {
	WARN_LOAD_FIELDS = 1u << 0,
};

struct host {
	const char *procfs, *sysfs;
	struct procfs_buf buf;	/* cpuinfo at start, then loadavg */
	struct procfs_buf stat; /* a buffer per file: each logs its own cut line once */
	char cpu_model[256];
	bool online[HOST_MAX_CPUS];
	uint32_t warned;
};

static int host_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct host *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return -ENOMEM;
	c->priv = h;
	h->procfs = cfg->procfs;
	h->sysfs = cfg->sysfs;
	/* The CPU model does not change while we run, and cpuinfo is long on big machines. */
	err = procfs__read(h->procfs, "cpuinfo", &h->buf);
	if (err)
		log_warn("failed to read %s/cpuinfo: %s; cpu_model is empty", h->procfs,
			 procfs__strerror(err));
	else if (cpuinfo__model(h->buf.data, h->cpu_model, sizeof(h->cpu_model)))
		log_warn("no CPU model line in %s/cpuinfo; cpu_model is empty", h->procfs);
	return 0;
}

static int host_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	static const struct metric_desc *const loads[3] = {&load1, &load5, &load15};
	struct host *h = c->priv;
	struct utsname u;
	const char *stat;
	double load[3];
	unsigned int ok;
	uint64_t btime;
	int err, ret = 0, i, n;

	if (!uname(&u))
		mset__add(out, &host_info, 1, u.nodename, u.release, u.machine, h->cpu_model);
	else
		ret = -errno;

	err = cpus__read_online(h->sysfs, h->online, HOST_MAX_CPUS);
	if (!err) {
		for (i = n = 0; i < HOST_MAX_CPUS; i++)
			n += h->online[i];
		mset__add(out, &cpu_count, n);
	} else {
		/* Each source alone: what the others read is still exported. */
		log__reason("failed to read online CPUs under %s: %s", h->sysfs,
			    procfs__strerror(err));
		ret = err;
	}

	err = procfs__read(h->procfs, "loadavg", &h->buf);
	if (!err) {
		ok = loadavg__parse(h->buf.data, load);
		for (i = 0; i < 3; i++)
			if (ok & (1u << i))
				mset__add(out, loads[i], load[i]);
		if (ok != 7)
			procfs__warn_once(&h->warned, WARN_LOAD_FIELDS,
					  "%s/loadavg: some load averages are missing or not "
					  "numbers; they are not exported",
					  h->procfs);
	} else {
		log__reason("failed to read %s/loadavg: %s", h->procfs, procfs__strerror(err));
		ret = err;
	}

	/* The cpu collector's read of this tick if there is one (it is sampled first). */
	stat = procstat__take(h->procfs, t->seq);
	err = stat ? 0 : procfs__read(h->procfs, "stat", &h->stat);
	if (!err)
		err = procstat__btime(stat ? stat : h->stat.data, &btime);
	if (!err) {
		mset__add(out, &boot_time, (double)btime);
	} else {
		log__reason("no boot time in %s/stat: %s", h->procfs, procfs__strerror(err));
		ret = err;
	}
	return ret;
}

static void host_destroy(struct collector *c)
{
	struct host *h = c->priv;

	if (!h)
		return;
	procfs__buf_free(&h->buf);
	procfs__buf_free(&h->stat);
	free(h);
	c->priv = NULL;
}

struct collector host_collector = {
	.name = "host",
	.help = "Host name, kernel, architecture, CPU model and count, load averages, boot time",
	.enabled = true,
	.metrics = host_metrics,
	.init = host_init,
	.sample = host_sample,
	.destroy = host_destroy,
};
