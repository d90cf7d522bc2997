// SPDX-License-Identifier: GPL-2.0
/*
 * CPU time by mode from /proc/stat: the kernel's own tick accounting, beside the eBPF busy
 * time of the sched collector, and the idle / kernel / user shares usage reports record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "collector.h"
#include "log.h"
#include "procfs.h"

static const struct metric_desc cpu_mode_seconds = {
	"kpulse_cpu_mode_seconds_total",
	METRIC_COUNTER,
	"cpu,mode",
	"Time each CPU spent in each mode (user, nice, system, idle, iowait, irq, softirq, "
	"steal), from /proc/stat; guest time is included in user and nice.",
};
static const struct metric_desc cpu_guest_seconds = {
	"kpulse_cpu_guest_seconds_total",
	METRIC_COUNTER,
	"cpu,mode",
	"Time each CPU spent running virtual CPUs of guests (mode user or nice), from /proc/stat's "
	"guest and guest_nice columns; already part of the user and nice modes, as "
	"node_exporter's node_cpu_guest_seconds_total.",
};
static const struct metric_desc cpu_mode_ratio = {
	"kpulse_cpu_mode_ratio",
	METRIC_GAUGE,
	"mode",
	"Share of all CPUs' time in each mode over the last sampler interval (the /proc/stat "
	"cpuN lines of the CPUs online throughout it); the modes sum to 1.",
	METRIC_HISTORY,
};

static const struct metric_desc *const cpu_metrics[] = {
	&cpu_mode_seconds,
	&cpu_mode_ratio,
	&cpu_guest_seconds,
	NULL,
};

struct cpu_prev {
	uint64_t ticks[CPU_NMODES];
	uint32_t present;
	uint64_t guest[2]; /* the highest guest, guest_nice seen: exported, never lower */
	uint64_t round;	   /* the reading this CPU's line was last in; 0: never */
};

struct cpu {
	const char *procfs;
	struct procfs_buf buf;
	double user_hz;
	/* Per CPU number: the last exported tick counts, kept while a CPU is offline. */
	struct cpu_prev *prev;
	size_t nprev;
	uint64_t round; /* readings so far */
	uint32_t warned;
};

enum cpu_warn {
	WARN_MODES = 1u << 0,
	WARN_TWICE = 1u << 1,
};

static int cpu_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct cpu *s = calloc(1, sizeof(*s));
	long hz = sysconf(_SC_CLK_TCK);

	if (!s)
		return -ENOMEM;
	c->priv = s;
	s->procfs = cfg->procfs;
	/* /proc/stat is in USER_HZ (clock_t) units, not the kernel's internal HZ. */
	s->user_hz = hz > 0 ? (double)hz : 100.0;
	return 0;
}

static struct cpu_prev *prev_of(struct cpu *s, int cpu)
{
	size_t i = (size_t)cpu;

	if (i >= s->nprev) {
		size_t n = i + 16;
		struct cpu_prev *p = realloc(s->prev, n * sizeof(*p));

		if (!p)
			return NULL;
		memset(p + s->nprev, 0, (n - s->nprev) * sizeof(*p));
		s->prev = p;
		s->nprev = n;
	}
	return &s->prev[i];
}

/*
 * Idle and iowait of a CPU can step backwards (NO_HZ idle accounting, see the comment on
 * get_cpu_idle_time_us() in kernel/time/tick-sched.c): keep the last value so the counter
 * never decreases, as node_exporter does. Returns the ticks gained since the last call.
 */
static uint64_t advance(struct cpu_prev *p, const struct cpustat *cs, int mode)
{
	uint32_t bit = 1u << mode;
	uint64_t d = 0;

	if (!(cs->present & bit))
		return 0;
	if (!(p->present & bit)) {
		p->ticks[mode] = cs->ticks[mode];
		p->present |= bit;
		return 0;
	}
	if (cs->ticks[mode] > p->ticks[mode]) {
		d = cs->ticks[mode] - p->ticks[mode];
		p->ticks[mode] = cs->ticks[mode];
	}
	return d;
}

static const char *next_line(const char *line)
{
	const char *eol = strchr(line, '\n');

	return eol ? eol + 1 : NULL;
}

/*
 * The mode ratios are the sum of the per-CPU lines' deltas, over the CPUs online at both
 * ends of the interval, not the delta of the all-CPU "cpu" line: that line sums every
 * possible CPU (fs/proc/stat.c), and get_idle_time() counts an offline CPU's idle from
 * kcpustat instead of the NO_HZ clock, so the total idle jumps when a CPU goes offline and
 * back. Measured here: idle 0.956 in the interval of an offline with the other CPU 100 %
 * busy, then idle 0 for 25-30 s after the online while it really was ~49 %.
 */
static int cpu_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	const uint32_t all = (1u << CPU_NMODES) - 1;
	struct cpu *s = c->priv;
	double agg[CPU_NMODES] = {0}, total = 0;
	bool seen_cpu = false, have_ratio = false;
	const char *line;
	int err, m;

	err = procfs__read(s->procfs, "stat", &s->buf);
	procstat__offer(s->procfs, t->seq, err ? NULL : &s->buf);
	if (err) {
		log__reason("failed to read %s/stat: %s", s->procfs, procfs__strerror(err));
		return err;
	}
	s->round++;
	for (line = s->buf.data; line && *line; line = next_line(line)) {
		struct cpustat cs;
		struct cpu_prev *p;
		uint64_t delta[CPU_NMODES];
		bool had_all, was_online;
		char label[16];

		if (strncmp(line, "cpu", 3))
			break; /* the cpu lines come first */
		if (procstat__parse_cpu(line, &cs))
			continue;
		seen_cpu = true;
		if (cs.cpu < 0)
			continue; /* the all-CPU line: see above */
		if (cs.present != all)
			procfs__warn_once(
				&s->warned, WARN_MODES,
				"%s/stat: a cpu line lacks some of the 8 modes or has a "
				"value that is not a number; those modes are not exported",
				s->procfs);
		p = prev_of(s, cs.cpu);
		if (!p)
			return -ENOMEM;
		if (p->round == s->round) {
			procfs__warn_once(
				&s->warned, WARN_TWICE,
				"%s/stat: cpu%d is listed twice; only its first line counts",
				s->procfs, cs.cpu);
			continue;
		}
		had_all = p->present == all;
		was_online = p->round && p->round == s->round - 1;
		p->round = s->round;
		for (m = 0; m < CPU_NMODES; m++)
			delta[m] = advance(p, &cs, m);
		/* A CPU that just came online has no interval yet; neither has a partial line. */
		if (was_online && had_all && cs.present == all) {
			have_ratio = true;
			for (m = 0; m < CPU_NMODES; m++) {
				agg[m] += (double)delta[m];
				total += (double)delta[m];
			}
		}
		snprintf(label, sizeof(label), "%d", cs.cpu);
		for (m = 0; m < CPU_NMODES; m++)
			if (cs.present & (1u << m))
				mset__add(out, &cpu_mode_seconds, (double)p->ticks[m] / s->user_hz,
					  label, cpu_mode__name(m));
		for (m = 0; m < 2; m++) {
			if (!(cs.guest_present & (1u << m)))
				continue;
			if (cs.guest[m] > p->guest[m])
				p->guest[m] = cs.guest[m];
			mset__add(out, &cpu_guest_seconds, (double)p->guest[m] / s->user_hz, label,
				  cpu_mode__name(m ? CPU_NICE : CPU_USER));
		}
	}
	if (!seen_cpu) {
		log__reason("%s/stat has no 'cpu' line", s->procfs);
		return -ENODATA;
	}
	/* Ratios only over a whole interval (rate__elapsed), not the few ms after a first read. */
	if (have_ratio && total > 0 && t->elapsed_ns)
		for (m = 0; m < CPU_NMODES; m++)
			mset__add(out, &cpu_mode_ratio, agg[m] / total, cpu_mode__name(m));
	return 0;
}

static void cpu_destroy(struct collector *c)
{
	struct cpu *s = c->priv;

	if (!s)
		return;
	procstat__offer(NULL, 0, NULL);
	procfs__buf_free(&s->buf);
	free(s->prev);
	free(s);
	c->priv = NULL;
}

struct collector cpu_collector = {
	.name = "cpu",
	.help = "CPU time by mode from /proc/stat (the kernel's tick accounting)",
	.enabled = true,
	.flags = NULL,
	.metrics = cpu_metrics,
	.init = cpu_init,
	.sample = cpu_sample,
	.destroy = cpu_destroy,
};
