// SPDX-License-Identifier: GPL-2.0
/* Scheduler collector: per-CPU busy time and context switches (bpf/sched.bpf.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collector.h"
#include "cpus.h"
#include "loader.h"
#include "log.h"
#include "rate.h"
#include "sched.h"
#include "sched.skel.h"

static const struct metric_desc cpu_busy_seconds = {
	"kpulse_cpu_busy_seconds_total",
	METRIC_COUNTER,
	"cpu",
	"Time each CPU spent running anything but the idle task (eBPF, sched_switch).",
};
static const struct metric_desc cpu_busy_ratio = {
	"kpulse_cpu_busy_ratio",
	METRIC_GAUGE,
	"cpu",
	"Share of the last sampler interval each CPU spent running anything but the idle task.",
};
static const struct metric_desc cpu_busy_ratio_all = {
	"kpulse_cpu_busy_ratio_all",
	METRIC_GAUGE,
	"",
	"Share of the last sampler interval all online CPUs together spent busy (0..1).",
};
static const struct metric_desc context_switches = {
	"kpulse_sched_context_switches_total",
	METRIC_COUNTER,
	"cpu",
	"Context switches on each CPU (eBPF, sched_switch).",
};

static const struct metric_desc *const sched_metrics[] = {
	&cpu_busy_seconds, &cpu_busy_ratio, &cpu_busy_ratio_all, &context_switches, NULL,
};

struct cpu_prev {
	__u64 busy_ns;
	__u64 span_ns; /* span_start_ns after the previous flush */
	bool valid;
};

struct sched {
	struct sched_bpf *skel;
	const struct kpulse_config *cfg;
	int ncpus; /* possible CPUs */
	struct kpulse_sched_cpu *vals;
	struct cpu_prev *prev;
	bool *online;
};

/* Run the flush program on @cpu (see bpf/sched.bpf.c); -ENXIO if the CPU is offline. */
static int flush_cpu(struct sched *s, int cpu, enum kpulse_sched_flush mode)
{
	__u64 ctx[1] = {mode};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = sizeof(ctx),
		    .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);

	return bpf_prog_test_run_opts(bpf_program__fd(s->skel->progs.sched_flush), &opts);
}

static int load_attach(struct sched *s, bool use_btf)
{
	struct bpf_link *link;
	int err, cpu;

	/* Open BPF application */
	s->skel = sched_bpf__open();
	if (!s->skel)
		return -errno;
	/* Configure: one of the two sched_switch twins, pinned maps */
	bpf_program__set_autoload(s->skel->progs.sched_switch_btf, use_btf);
	bpf_program__set_autoload(s->skel->progs.sched_switch_raw, !use_btf);
	err = loader__pin_maps(s->skel->obj, s->cfg->pin_path);
	if (err)
		return err;
	/* Load & verify BPF programs */
	err = sched_bpf__load(s->skel);
	if (err)
		return err;
	/* Start every online CPU's span now; a reused pinned map holds stale spans. */
	for (cpu = 0; cpu < s->ncpus; cpu++)
		if (s->online[cpu])
			flush_cpu(s, cpu, KPULSE_FLUSH_RESET);
	/* Attach tracepoint handler (the flush program is run, never attached) */
	link = bpf_program__attach(use_btf ? s->skel->progs.sched_switch_btf
					   : s->skel->progs.sched_switch_raw);
	if (!link)
		return -errno;
	if (use_btf)
		s->skel->links.sched_switch_btf = link;
	else
		s->skel->links.sched_switch_raw = link;
	return 0;
}

static int sched_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct sched *s = calloc(1, sizeof(*s));
	bool use_btf;
	int err;

	if (!s)
		return -ENOMEM;
	c->priv = s;
	s->cfg = cfg;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0)
		return s->ncpus ? s->ncpus : -EINVAL;
	s->vals = calloc(s->ncpus, sizeof(*s->vals));
	s->prev = calloc(s->ncpus, sizeof(*s->prev));
	s->online = calloc(s->ncpus, sizeof(*s->online));
	if (!s->vals || !s->prev || !s->online)
		return -ENOMEM;
	err = cpus__read_online(cfg->sysfs, s->online, s->ncpus);
	if (err) {
		log_error("failed to read online CPUs under %s: %s", cfg->sysfs, strerror(-err));
		return err;
	}

	use_btf = loader__probe_tp_btf("sched_switch");
	err = load_attach(s, use_btf);
	if (err && use_btf) {
		log_warn("tp_btf/sched_switch failed (%s), falling back to raw_tp", strerror(-err));
		sched_bpf__destroy(s->skel);
		err = load_attach(s, false);
	}
	if (err) {
		log_error("failed to load and attach sched_switch: %s", strerror(-err));
		return err;
	}
	log_debug("sched: attached sched_switch as %s", use_btf ? "tp_btf" : "raw_tp");
	return 0;
}

static int sched_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct sched *s = c->priv;
	__u64 busy_sum = 0, span_sum = 0;
	__u32 zero = 0;
	char cpu_label[16];
	int cpu, err;

	err = cpus__read_online(s->cfg->sysfs, s->online, s->ncpus);
	if (err)
		return err;
	for (cpu = 0; cpu < s->ncpus; cpu++)
		if (s->online[cpu] && flush_cpu(s, cpu, KPULSE_FLUSH_ACCOUNT))
			s->online[cpu] = false; /* went offline since we read the list */
	if (bpf_map__lookup_elem(s->skel->maps.sched_cpu, &zero, sizeof(zero), s->vals,
				 sizeof(*s->vals) * s->ncpus, 0))
		return -errno;

	for (cpu = 0; cpu < s->ncpus; cpu++) {
		const struct kpulse_sched_cpu *v = &s->vals[cpu];
		struct cpu_prev *p = &s->prev[cpu];
		double ratio;

		if (!s->online[cpu]) {
			p->valid = false;
			continue;
		}
		snprintf(cpu_label, sizeof(cpu_label), "%d", cpu);
		mset__add(out, &cpu_busy_seconds, (double)v->busy_ns / 1e9, cpu_label);
		mset__add(out, &context_switches, (double)v->switches, cpu_label);
		/* The denominator is the CPU's own span between two flushes, in kernel time. */
		if (p->valid && v->span_start_ns > p->span_ns &&
		    rate__ratio(p->busy_ns, v->busy_ns, v->span_start_ns - p->span_ns, &ratio)) {
			mset__add(out, &cpu_busy_ratio, ratio, cpu_label);
			busy_sum += rate__delta(p->busy_ns, v->busy_ns);
			span_sum += v->span_start_ns - p->span_ns;
		}
		p->busy_ns = v->busy_ns;
		p->span_ns = v->span_start_ns;
		p->valid = true;
	}
	if (span_sum) {
		double all;

		rate__ratio(0, busy_sum, span_sum, &all);
		mset__add(out, &cpu_busy_ratio_all, all);
	}
	return 0;
}

static void sched_destroy(struct collector *c)
{
	struct sched *s = c->priv;

	if (!s)
		return;
	sched_bpf__destroy(s->skel);
	free(s->vals);
	free(s->prev);
	free(s->online);
	free(s);
	c->priv = NULL;
}

struct collector sched_collector = {
	.name = "sched",
	.help = "CPU busy time and context switches per CPU, from sched_switch (eBPF)",
	.enabled = true,
	.needs_bpf = true,
	.metrics = sched_metrics,
	.init = sched_init,
	.sample = sched_sample,
	.destroy = sched_destroy,
};
