// SPDX-License-Identifier: GPL-2.0
/*
 * Pressure collector: pressure stall information (PSI) of the host, from
 * /proc/pressure/{cpu,memory,io,irq}, and of each cgroup v2 down to the labelled depth, from
 * its {cpu,memory,io,irq}.pressure. The kernel's own stall totals, so no hook and exact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cgroup.h"
#include "collector.h"
#include "filter.h"
#include "kstat.h"
#include "log.h"
#include "procfs.h"
#include "rate.h"
#include "sampler.h"

static unsigned int cg_depth = 3;
static const char *cg_include = "";
static const char *cg_exclude = "";
static unsigned int cg_max = 512;

static const struct flag pressure_flags[] = {
	{"collector.pressure.cgroup-depth", FLAG_UINT, &cg_depth,
	 "export the pressure of cgroups down to this depth (0: only the root), as the sched "
	 "collector labels them; a cgroup's pressure covers its descendants"},
	{"collector.pressure.cgroup-include", FLAG_STRING, &cg_include,
	 "regex of cgroup paths whose pressure is exported (empty: all)"},
	{"collector.pressure.cgroup-exclude", FLAG_STRING, &cg_exclude,
	 "regex of cgroup paths whose pressure is not exported"},
	{"collector.pressure.cgroup-max", FLAG_UINT, &cg_max,
	 "most cgroups whose pressure is read per tick; more are left out (logged once). Each "
	 "costs 3 file reads and 12 series a tick (~70 us of CPU on a 2-CPU VM: 512 cgroups "
	 "~40 ms a tick)"},
	{NULL},
};

static const struct metric_desc stalled_seconds = {
	"kpulse_pressure_stalled_seconds_total",
	METRIC_COUNTER,
	"resource,kind",
	"Time some (kind=some) or all (kind=full) non-idle tasks were stalled waiting for the "
	"resource (/proc/pressure/<resource> total=). CPU full is not defined host-wide and "
	"reads 0.",
};
static const struct metric_desc stalled_ratio = {
	"kpulse_pressure_stalled_ratio",
	METRIC_GAUGE,
	"resource,kind",
	"Share of the last sampler interval some or all non-idle tasks were stalled on the "
	"resource (the growth of the total over the time between two reads), 0..1.",
};
static const struct metric_desc cg_stalled_seconds = {
	"kpulse_cgroup_pressure_stalled_seconds_total",
	METRIC_COUNTER,
	"cgroup,resource,kind",
	"Time some or all non-idle tasks of the cgroup v2 (and its descendants) were stalled on "
	"the resource (<cgroup>/<resource>.pressure); starts again from 0 if the cgroup is "
	"re-created.",
};
static const struct metric_desc cg_stalled_ratio = {
	"kpulse_cgroup_pressure_stalled_ratio",
	METRIC_GAUGE,
	"cgroup,resource,kind",
	"Share of the last sampler interval some or all non-idle tasks of the cgroup were "
	"stalled on the resource, 0..1.",
	METRIC_MERGE_MAX,
};

static const struct metric_desc *const pressure_metrics[] = {
	&stalled_seconds, &stalled_ratio, &cg_stalled_seconds, &cg_stalled_ratio, NULL,
};

enum psi_resource {
	RES_CPU,
	RES_MEMORY,
	RES_IO,
	RES_IRQ, /* CONFIG_IRQ_TIME_ACCOUNTING only; its absence is normal */
	RES_N,
};

static const char *const res_names[RES_N] = {"cpu", "memory", "io", "irq"};

/* The previous reading of one pressure file. */
struct psi_prev {
	struct psi psi;
	uint64_t read_ns; /* the tick's now_ns when it was read */
	bool valid;
};

struct cg_entry {
	char *path;
	struct psi_prev res[RES_N];
	struct procfs_kept kept[RES_N]; /* its files kept open, within PRESSURE_MAX_KEPT */
	bool seen;			/* walked this tick */
};

/*
 * Pressure files kept open between ticks: a pread of a kept file costs a third of an open,
 * read and close. Bounded, as every descriptor counts against RLIMIT_NOFILE (often 1024):
 * the cgroups past it are opened at each read, as before.
 */
#define PRESSURE_MAX_KEPT 96

/* Warned-once bits. */
enum {
	WARN_NO_PSI = 1u << 0,
	WARN_READ = 1u << 1,
	WARN_NO_CGROUP2 = 1u << 2,
	WARN_CG_MAX = 1u << 3,
	WARN_CG_WALK = 1u << 4,
	WARN_CG_OFF = 1u << 5,
	WARN_RES = 1u << 8, /* << resource: one bit per missing host resource */
};

struct pressure {
	const char *procfs;
	struct procfs_buf buf;
	struct psi_prev sys[RES_N];
	struct procfs_kept sys_kept[RES_N];
	size_t nkept;	   /* cgroup files kept open */
	uint32_t host_res; /* bit r: /proc/pressure/<r> was read this tick */
	/* Per cgroup; cg_ok false without a cgroup2 mount. */
	bool cg_ok;
	char mount[4096];
	struct filter filter;
	struct cg_entry *cgs; /* sorted by path */
	size_t ncg, capcg;
	size_t walked; /* cgroups read in this tick */
	struct mset *out;
	uint64_t now_ns; /* this tick's */
	uint32_t warned;
};

static int pressure_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct pressure *p = calloc(1, sizeof(*p));
	char err[512];
	int rc;

	if (!p)
		return -ENOMEM;
	c->priv = p;
	p->procfs = cfg->procfs;
	if (filter__init(&p->filter, cg_include, cg_exclude, err, sizeof(err))) {
		log__reason("--collector.pressure.cgroup-include/-exclude: %s", err);
		return -EINVAL;
	}
	rc = cgroup__find_mount(cfg->procfs, p->mount, sizeof(p->mount));
	p->cg_ok = !rc;
	if (rc)
		log_warn("no per-cgroup pressure: no cgroup2 mount in %s/self/mountinfo "
			 "(%s); host-wide pressure is still exported",
			 cfg->procfs, strerror(-rc));
	return 0;
}

/*
 * Read one pressure file into counters (and ratios against @prev) labelled @l0.. (the
 * resource and kind come last). -errno if it cannot be read or parsed; @prev is then
 * invalid, so the next good read gives counters only.
 */
static int read_psi(struct pressure *p, struct procfs_kept *kept, const char *root, const char *rel,
		    struct psi_prev *prev, const struct metric_desc *total,
		    const struct metric_desc *ratio, const char *cgroup, const char *res)
{
	uint64_t now = p->now_ns;
	struct psi cur;
	int err, k;

	err = procfs__read_kept(kept, root, rel, &p->buf);
	if (!err)
		err = psi__parse(p->buf.data, &cur);
	if (err) {
		prev->valid = false;
		return err;
	}
	for (k = 0; k < PSI_NKINDS; k++) {
		const char *kind = psi_kind__name(k);
		double r;

		if (!(cur.present & (1u << k)))
			continue;
		if (cgroup)
			mset__add(p->out, total, (double)cur.total_us[k] / 1e6, cgroup, res, kind);
		else
			mset__add(p->out, total, (double)cur.total_us[k] / 1e6, res, kind);
		if (!prev->valid || !(prev->psi.present & (1u << k)) || now <= prev->read_ns ||
		    !rate__ratio(prev->psi.total_us[k] * 1000, cur.total_us[k] * 1000,
				 now - prev->read_ns, &r))
			continue;
		if (cgroup)
			mset__add(p->out, ratio, r, cgroup, res, kind);
		else
			mset__add(p->out, ratio, r, res, kind);
	}
	prev->psi = cur;
	prev->read_ns = now;
	prev->valid = true;
	return 0;
}

static int sample_host(struct pressure *p)
{
	char rel[64];
	int r, err, ok = 0;

	p->host_res = 0;
	for (r = 0; r < RES_N; r++) {
		snprintf(rel, sizeof(rel), "pressure/%s", res_names[r]);
		err = read_psi(p, &p->sys_kept[r], p->procfs, rel, &p->sys[r], &stalled_seconds,
			       &stalled_ratio, NULL, res_names[r]);
		if (!err) {
			p->host_res |= 1u << r;
			ok++;
			continue;
		}
		if (err == -ENOENT && r == RES_IRQ) {
			if (!(p->warned & (WARN_RES << r)))
				log_debug("no %s/%s (a kernel without "
					  "CONFIG_IRQ_TIME_ACCOUNTING): no irq pressure",
					  p->procfs, rel);
			p->warned |= WARN_RES << r;
			continue;
		}
		if (err == -ENOENT || err == -EOPNOTSUPP)
			continue; /* PSI off: reported once below */
		procfs__warn_once(&p->warned, WARN_RES << r, "failed to read %s/%s: %s", p->procfs,
				  rel, procfs__strerror(err));
	}
	return ok;
}

static int cmp_path(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cg_entry *)elem)->path);
}

/* The entry of @path, created (in sorted position) if it is new; NULL on ENOMEM. */
static struct cg_entry *cg_entry(struct pressure *p, const char *path)
{
	size_t lo = 0, hi = p->ncg;
	struct cg_entry *e;

	e = p->ncg ? bsearch(path, p->cgs, p->ncg, sizeof(*p->cgs), cmp_path) : NULL;
	if (e)
		return e;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(p->cgs[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (p->ncg == p->capcg) {
		size_t cap = p->capcg ? p->capcg * 2 : 32;
		void *n = realloc(p->cgs, cap * sizeof(*p->cgs));

		if (!n)
			return NULL;
		p->cgs = n;
		p->capcg = cap;
	}
	if (lo < p->ncg)
		memmove(&p->cgs[lo + 1], &p->cgs[lo], (p->ncg - lo) * sizeof(*p->cgs));
	e = &p->cgs[lo];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	if (!e->path) {
		if (lo < p->ncg)
			memmove(&p->cgs[lo], &p->cgs[lo + 1], (p->ncg - lo) * sizeof(*p->cgs));
		return NULL;
	}
	p->ncg++;
	return e;
}

/* cgroup__walk callback: read the pressure files of one cgroup. */
static int sample_cgroup(const char *path, void *ctx)
{
	struct pressure *p = ctx;
	struct procfs_kept *kept;
	struct cg_entry *e;
	char rel[4200];
	int r, err, had;

	if (!filter__match(&p->filter, path))
		return 0;
	if (p->walked >= cg_max) {
		procfs__warn_once(&p->warned, WARN_CG_MAX,
				  "more than %u cgroups down to depth %u; the rest are "
				  "not exported: raise --collector.pressure.cgroup-max or narrow "
				  "--collector.pressure.cgroup-include",
				  cg_max, cg_depth);
		return 0;
	}
	p->walked++;
	e = cg_entry(p, path);
	if (!e)
		return -ENOMEM;
	e->seen = true;
	for (r = 0; r < RES_N; r++) {
		/*
		 * A resource the host does not account (irq without IRQ time accounting) has
		 * no file in any cgroup either: not looked for, 1 open less per cgroup.
		 */
		if (!(p->host_res & (1u << r)))
			continue;
		/*
		 * A missing file is PSI switched off for this cgroup (cgroup.pressure 0) or
		 * for all cgroups (cgroup_disable=pressure).
		 */
		snprintf(rel, sizeof(rel), "%s/%s.pressure", strcmp(path, "/") ? path : "",
			 res_names[r]);
		kept = e->kept[r].fd || p->nkept < PRESSURE_MAX_KEPT ? &e->kept[r] : &p->buf.kept;
		had = kept->fd;
		err = read_psi(p, kept, p->mount, rel, &e->res[r], &cg_stalled_seconds,
			       &cg_stalled_ratio, path, res_names[r]);
		if (kept != &p->buf.kept && !had && kept->fd)
			p->nkept++;
		else if (kept != &p->buf.kept && had && !kept->fd)
			p->nkept--;
		if (err == -ENOENT && r == RES_CPU && !strcmp(path, "/"))
			procfs__warn_once(&p->warned, WARN_CG_OFF,
					  "no per-cgroup pressure: %s/cpu.pressure is "
					  "missing (the kernel was booted with "
					  "cgroup_disable=pressure)",
					  p->mount);
	}
	return 0;
}

static void cg_entry_free(struct pressure *p, struct cg_entry *e)
{
	int r;

	for (r = 0; r < RES_N; r++) {
		p->nkept -= e->kept[r].fd != 0;
		procfs__kept_close(&e->kept[r]);
	}
	free(e->path);
}

static int sample_cgroups(struct pressure *p)
{
	size_t i, j;
	int err;

	for (i = 0; i < p->ncg; i++)
		p->cgs[i].seen = false;
	p->walked = 0;
	err = cgroup__walk(p->mount, cg_depth, sample_cgroup, p);
	if (err == -ENOMEM)
		return err;
	if (err)
		procfs__warn_once(&p->warned, WARN_CG_WALK, "failed to walk %s: %s", p->mount,
				  strerror(-err));
	else
		p->warned &= ~WARN_CG_WALK;
	/* Forget removed cgroups: one re-created under the same path starts afresh. */
	for (i = j = 0; i < p->ncg; i++) {
		if (p->cgs[i].seen)
			p->cgs[j++] = p->cgs[i];
		else
			cg_entry_free(p, &p->cgs[i]);
	}
	p->ncg = j;
	return 0;
}

static int pressure_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct pressure *p = c->priv;

	p->out = out;
	p->now_ns = t->now_ns;
	if (!sample_host(p)) {
		/* Up but empty: nothing to read is an answer, not a failure. */
		procfs__warn_once(&p->warned, WARN_NO_PSI,
				  "no pressure stall information in %s/pressure: the "
				  "kernel lacks CONFIG_PSI or was booted with psi=0 (add psi=1 to "
				  "its command line to enable it); the collector stays up, empty",
				  p->procfs);
		return 0;
	}
	p->warned &= ~WARN_NO_PSI;
	return p->cg_ok ? sample_cgroups(p) : 0;
}

static void pressure_destroy(struct collector *c)
{
	struct pressure *p = c->priv;
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->ncg; i++)
		cg_entry_free(p, &p->cgs[i]);
	for (i = 0; i < RES_N; i++)
		procfs__kept_close(&p->sys_kept[i]);
	free(p->cgs);
	filter__free(&p->filter);
	procfs__buf_free(&p->buf);
	free(p);
	c->priv = NULL;
}

struct collector pressure_collector = {
	.name = "pressure",
	.help = "Pressure stall information of the host and of each cgroup v2 (/proc/pressure, "
		"<cgroup>/*.pressure)",
	.enabled = true,
	.flags = pressure_flags,
	.metrics = pressure_metrics,
	.init = pressure_init,
	.sample = pressure_sample,
	.destroy = pressure_destroy,
};
