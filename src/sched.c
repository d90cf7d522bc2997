// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduler collector (bpf/sched.bpf.c): per-CPU busy time and context switches, run-queue
 * latency, per-cgroup CPU time and watched processes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "collector.h"
#include "cgroup.h"
#include "cpus.h"
#include "loader.h"
#include "log.h"
#include "procfs.h"
#include "rate.h"
#include "sched.h"
#include "cgacct.h"
#include "sched_acct.h"
#include "sched.skel.h"

/* Flags (defaults until parsed). */
static bool rq_per_cpu;
static unsigned int cg_depth = 3;
static const char *cg_include = "";
static const char *cg_exclude = "";
static unsigned int cg_max = 8192;
static bool rq_wakeup_hooks;
static bool busy_from_switches;

static const struct flag sched_flags[] = {
	{"collector.sched.runqueue-per-cpu", FLAG_BOOL, &rq_per_cpu,
	 "also export the run-queue latency histogram per CPU"},
	{"collector.sched.cgroup-depth", FLAG_UINT, &cg_depth,
	 "roll cgroups deeper than this up into their ancestor (0 = everything into \"/\")"},
	{"collector.sched.cgroup-include", FLAG_STRING, &cg_include,
	 "regex of rolled-up cgroup paths to export (empty: all)"},
	{"collector.sched.cgroup-exclude", FLAG_STRING, &cg_exclude,
	 "regex of rolled-up cgroup paths not to export"},
	{"collector.sched.cgroup-max", FLAG_UINT, &cg_max,
	 "cgroups tracked in the kernel map; time of more is counted in no cgroup (logged)"},
	{"collector.sched.runqueue-wakeup-hooks", FLAG_BOOL, &rq_wakeup_hooks,
	 "time run-queue waits from sched_wakeup(_new) even when the kernel's own sched_info "
	 "enqueue times are there (costlier; the only way on kernels without CONFIG_SCHED_INFO)"},
	{"collector.sched.busy-from-switches", FLAG_BOOL, &busy_from_switches,
	 "count CPU busy time as time not running the idle task, at the switches into and out of "
	 "it, instead of elapsed minus the kernel's idle and iowait time (/proc/stat's "
	 "definition); the only way on kernels without CONFIG_NO_HZ_COMMON"},
	{NULL},
};

static const struct metric_desc cpu_busy_seconds = {
	"kpulse_cpu_busy_seconds_total",
	METRIC_COUNTER,
	"cpu",
	"Time each CPU was not idle: elapsed time minus the kernel's own idle and iowait time of "
	"the CPU (what /proc/stat's idle and iowait count), to the nanosecond (eBPF, read once "
	"per tick); with --collector.sched.busy-from-switches, time not running the idle task.",
};
static const struct metric_desc cpu_busy_ratio = {
	"kpulse_cpu_busy_ratio",
	METRIC_GAUGE,
	"cpu",
	"Share of the last sampler interval each CPU was not idle (0..1).",
	METRIC_HISTORY,
};
static const struct metric_desc cpu_busy_ratio_all = {
	"kpulse_cpu_busy_ratio_all",
	METRIC_GAUGE,
	"",
	"Share of the last sampler interval all online CPUs together spent busy (0..1).",
	METRIC_HISTORY,
};
static const struct metric_desc context_switches = {
	"kpulse_sched_context_switches_total",
	METRIC_COUNTER,
	"cpu",
	"Context switches on each CPU since boot: the runqueue's own count, as /proc/stat ctxt "
	"sums it (eBPF, read once per tick).",
};

static const struct metric_desc rq_latency = {
	"kpulse_sched_runqueue_latency_seconds",
	METRIC_HISTOGRAM,
	"",
	"Time runnable tasks waited for a CPU: from being woken, created or preempted while "
	"runnable to being switched in, one observation per wait as /proc/<pid>/schedstat "
	"counts them (eBPF at sched_switch, log2 buckets).",
};
static const struct metric_desc rq_latency_p50 = {
	"kpulse_sched_runqueue_latency_p50_seconds",
	METRIC_GAUGE,
	"",
	"Median run-queue wait of the waits that ended in the last sampler interval, "
	"interpolated within the buckets of kpulse_sched_runqueue_latency_seconds as "
	"histogram_quantile() does; absent when no task waited.",
	METRIC_HISTORY,
};
static const struct metric_desc rq_latency_p99 = {
	"kpulse_sched_runqueue_latency_p99_seconds",
	METRIC_GAUGE,
	"",
	"99th percentile of the run-queue waits that ended in the last sampler interval, "
	"computed as kpulse_sched_runqueue_latency_p50_seconds.",
	METRIC_HISTORY,
};
static const struct metric_desc rq_latency_cpu = {
	"kpulse_sched_cpu_runqueue_latency_seconds",
	METRIC_HISTOGRAM,
	"cpu",
	"Run-queue latency by the CPU the task ran on after its wait "
	"(--collector.sched.runqueue-per-cpu).",
};
static const struct metric_desc cgroup_cpu_seconds = {
	"kpulse_cgroup_cpu_seconds_total",
	METRIC_COUNTER,
	"cgroup",
	"On-CPU time of the tasks of each cgroup v2 (the kernel's per-task runtime, what "
	"cpu.stat usage_usec sums), deeper cgroups rolled up to --collector.sched.cgroup-depth; "
	"includes removed descendants (eBPF, sched_switch).",
};
static const struct metric_desc cgroup_cpu_ratio = {
	"kpulse_cgroup_cpu_ratio",
	METRIC_GAUGE,
	"cgroup",
	"Share of the machine's CPU capacity (elapsed time x online CPUs) each cgroup used "
	"over the last sampler interval (0..1).",
};
static const struct metric_desc process_running = {
	"kpulse_process_running",
	METRIC_GAUGE,
	"name",
	"Live processes (thread groups) whose name (comm) is a --process.watch name; 0 when "
	"none (eBPF task iterator).",
};
static const struct metric_desc process_cpu_ratio = {
	"kpulse_process_cpu_ratio",
	METRIC_GAUGE,
	"name",
	"Share of the machine's CPU capacity (elapsed time x online CPUs) the processes of each "
	"--process.watch name used over the last sampler interval (0..1).",
};

static const struct metric_desc *const sched_metrics[] = {
	&cpu_busy_seconds,
	&cpu_busy_ratio,
	&cpu_busy_ratio_all,
	&context_switches,
	&rq_latency,
	&rq_latency_p50, /* from the growth of rq_latency over each interval */
	&rq_latency_p99,
	&rq_latency_cpu,
	&cgroup_cpu_seconds,
	&cgroup_cpu_ratio,
	&process_running,
	&process_cpu_ratio,
	NULL,
};

struct cpu_prev {
	__u64 busy_ns;
	__u64 flush_ns; /* flush_ns of the previous sample */
	bool valid;
};

/* One watched process as of the last iterator run. */
struct proc {
	__u32 tgid;
	__u32 watch;
	__u64 runtime_ns;
	__u64 start_ns;
	bool alive;
};

struct sched {
	struct sched_bpf *skel;
	const struct kpulse_config *cfg;
	int ncpus; /* possible CPUs */
	struct kpulse_sched_cpu *vals;
	struct cpu_prev *prev;
	bool *online;
	bool *flushed; /* flushed at the last tick (or at load): its next flush accounts */
	struct kpulse_sched_rqlat *rq;	   /* per-CPU values of sched_rqlat */
	uint64_t rq_prev[KPULSE_RQ_SLOTS]; /* the last tick's slots, summed over CPUs */
	bool rq_prev_valid;
	/* Per-cgroup CPU time; cg_ok false when there is no cgroup2 mount. */
	bool cg_ok;
	struct cgacct acct;
	/* How the programs are set up: see sched_init. */
	bool wakeup_hooks;
	long long tick_off;
	__u64 cg_lost_ns;
	/* Watched processes: the iterator's output and the previous run, sorted by tgid. */
	char *iterbuf;
	size_t iterlen, itercap;
	struct proc *procs, *prev_procs;
	size_t nprocs, nprev_procs, capprocs, capprev;
	__u64 prev_iter_ns; /* now_ns of the tick of the last good iterator run; 0: none */
};

/*
 * Run the flush program on @cpu (see bpf/sched.bpf.c); -ENXIO if the CPU is offline. A
 * CPU that was not flushed at the previous tick (offline, or a failed run) restarts
 * instead: what its counters did meanwhile is not ours to account.
 */
static int flush_cpu(struct sched *s, int cpu)
{
	__u64 ctx[1] = {s->flushed[cpu] ? KPULSE_FLUSH_ACCOUNT : KPULSE_FLUSH_RESET};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = sizeof(ctx),
		    .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(s->skel->progs.sched_flush), &opts);
	s->flushed[cpu] = !err;
	return err;
}

/* The raw_tp twins' run-queue start times (unused with tp_btf, see bpf/sched.bpf.c). */
#define RQPID_MAX 16384

static bool has_member(const struct btf *btf, const char *type, const char *member)
{
	const struct btf_member *m;
	const struct btf_type *t;
	int id, i;

	id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	for (i = 0, m = btf_members(t); i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return true;
	return false;
}

/* Offset of per-CPU variable @name in the kernel's per-CPU area (BTF's .data..percpu). */
static int percpu_offset(const struct btf *btf, const char *name, long long *off)
{
	const struct btf_var_secinfo *v;
	const struct btf_type *t;
	int id, i;

	id = btf__find_by_name_kind(btf, ".data..percpu", BTF_KIND_DATASEC);
	if (id < 0)
		return id;
	t = btf__type_by_id(btf, id);
	for (i = 0, v = btf_var_secinfos(t); i < btf_vlen(t); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);

		if (var && !strcmp(btf__name_by_offset(btf, var->name_off), name)) {
			*off = v->offset;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * What the kernel accounts itself, from its BTF. @sched_info: each task's run-queue waits
 * (CONFIG_SCHED_INFO: the run_delay and pcount of /proc/<pid>/schedstat), see
 * rq_from_sched_info. @tick_sched_off: where each CPU's idle time is (CONFIG_NO_HZ_COMMON's
 * tick_cpu_sched) relative to its runqueue, reached from a task (CONFIG_FAIR_GROUP_SCHED);
 * 0 if not, see tick_sched_off in bpf/sched.bpf.c.
 */
static void kernel_accounting(bool *sched_info, long long *tick_sched_off)
{
	const struct btf *btf = loader__vmlinux_btf();
	long long rq, ts;

	*sched_info = false;
	*tick_sched_off = 0;
	if (!btf)
		return;
	*sched_info = has_member(btf, "task_struct", "sched_info") &&
		      has_member(btf, "sched_info", "run_delay") &&
		      has_member(btf, "sched_info", "pcount");
	if (has_member(btf, "sched_entity", "cfs_rq") && has_member(btf, "cfs_rq", "rq") &&
	    has_member(btf, "tick_sched", "idle_sleeptime") &&
	    has_member(btf, "tick_sched", "iowait_sleeptime") &&
	    !percpu_offset(btf, "runqueues", &rq) && !percpu_offset(btf, "tick_cpu_sched", &ts))
		*tick_sched_off = rq - ts;
}

/*
 * The flush program at load read each online CPU's idle time through tick_sched_off
 * (into idle_ns): does it match /proc/stat's idle + iowait of that CPU, to 50 ms? An
 * offset that does not point at the CPU's struct tick_sched reads something else.
 */
static bool idle_time_matches(struct sched *s, char *why, size_t len)
{
	const uint32_t need = 1u << CPU_IDLE | 1u << CPU_IOWAIT;
	struct procfs_buf b = {};
	long hz = sysconf(_SC_CLK_TCK);
	int err, checked = 0;
	__u32 zero = 0;
	char *line, *next;

	err = bpf_map__lookup_elem(s->skel->maps.sched_cpu, &zero, sizeof(zero), s->vals,
				   sizeof(*s->vals) * s->ncpus, 0)
		      ? -errno
		      : 0;
	if (!err)
		err = procfs__read(s->cfg->procfs, "stat", &b);
	if (err || hz <= 0) {
		snprintf(why, len, "cannot compare with %s/stat: %s", s->cfg->procfs,
			 strerror(err ? -err : EINVAL));
		procfs__buf_free(&b);
		return false;
	}
	for (line = b.data; line && *line; line = next) {
		struct cpustat c;
		double kernel, ours;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (procstat__parse_cpu(line, &c) || c.cpu < 0 || c.cpu >= s->ncpus ||
		    !s->online[c.cpu] || (c.present & need) != need)
			continue;
		kernel = (double)(c.ticks[CPU_IDLE] + c.ticks[CPU_IOWAIT]) / hz;
		ours = (double)s->vals[c.cpu].idle_ns / 1e9;
		if (ours < kernel - 0.05 || ours > kernel + 0.05) {
			snprintf(why, len, "cpu %d: %.3f s idle, /proc/stat says %.2f s", c.cpu,
				 ours, kernel);
			procfs__buf_free(&b);
			return false;
		}
		checked++;
	}
	procfs__buf_free(&b);
	if (!checked)
		snprintf(why, len, "no cpuN line with idle and iowait in %s/stat", s->cfg->procfs);
	return checked > 0;
}

/*
 * Run sched_seed (attached with the rest) once over every task, now that sched_switch is
 * attached: from here on each task's next run-queue wait is recorded whole, also one that
 * began before kpulse started (see bpf/sched.bpf.c). Its link is not needed afterwards.
 */
static int seed_tasks(struct sched_bpf *skel)
{
	char *buf = NULL;
	size_t cap = 0, len;
	int err;

	err = loader__read_iter(skel->links.sched_seed, &buf, &cap, &len);
	free(buf);
	bpf_link__destroy(skel->links.sched_seed);
	skel->links.sched_seed = NULL;
	return err;
}

static int load_attach(void *ctx, bool *use_btf)
{
	struct sched *s = ctx;
	const bool wakeup_hooks = s->wakeup_hooks;
	struct sched_bpf *skel;
	size_t i;
	int err, cpu;

	/* Open BPF application */
	s->skel = skel = sched_bpf__open();
	if (!skel)
		return -errno;
	/* Configure: one twin of each tracepoint, the watch list, map sizes, pinned maps */
	bpf_program__set_autoload(skel->progs.sched_wakeup_btf, wakeup_hooks);
	bpf_program__set_autoload(skel->progs.sched_wakeup_raw, wakeup_hooks);
	bpf_program__set_autoload(skel->progs.sched_wakeup_new_btf, wakeup_hooks);
	bpf_program__set_autoload(skel->progs.sched_wakeup_new_raw, wakeup_hooks);
	*use_btf = loader__choose_twins(skel->obj, *use_btf);
	skel->rodata->rq_from_sched_info = !wakeup_hooks;
	skel->rodata->charge_cgroups = s->cg_ok;
	skel->rodata->tick_sched_off = s->tick_off;
	bpf_program__set_autoload(skel->progs.sched_seed, !wakeup_hooks);
	bpf_program__set_autoload(skel->progs.sched_procs, s->cfg->nwatch > 0);
	skel->rodata->nwatch = s->cfg->nwatch;
	for (i = 0; i < s->cfg->nwatch; i++)
		strncpy((char *)skel->rodata->watch[i].name, s->cfg->watch[i], KPULSE_COMM_LEN - 1);
	err = bpf_map__set_max_entries(skel->maps.sched_cgcpu, cg_max ? cg_max : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.sched_rqpid,
					       wakeup_hooks && !*use_btf ? RQPID_MAX : 1);
	if (err)
		return err;
	err = loader__pin_maps(skel->obj, s->cfg->pin_path);
	if (err)
		return err;
	/* Load & verify BPF programs */
	err = sched_bpf__load(skel);
	if (err)
		return err;
	/* Start every online CPU's accounting now; a reused pinned map holds stale starts. */
	for (cpu = 0; cpu < s->ncpus; cpu++) {
		s->flushed[cpu] = false;
		if (s->online[cpu])
			flush_cpu(s, cpu);
	}
	/*
	 * Attach tracepoint handlers and the iterator (the flush program, a bare SEC("raw_tp"),
	 * is run, never attached: libbpf's attach skips it)
	 */
	err = sched_bpf__attach(skel);
	return err || !skel->links.sched_seed ? err : seed_tasks(skel);
}

static void unload(void *ctx)
{
	struct sched *s = ctx;

	sched_bpf__destroy(s->skel);
	s->skel = NULL;
}

static int sched_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct sched *s = calloc(1, sizeof(*s));
	char why[512];
	bool use_btf, sched_info;
	int err;

	if (!s)
		return -ENOMEM;
	c->priv = s;
	s->cfg = cfg;
	if (cfg->nwatch > KPULSE_WATCH_MAX) {
		log__reason("at most %d --process.watch names", KPULSE_WATCH_MAX);
		return -E2BIG;
	}
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0)
		return s->ncpus ? s->ncpus : -EINVAL;
	s->vals = calloc(s->ncpus, sizeof(*s->vals));
	s->prev = calloc(s->ncpus, sizeof(*s->prev));
	s->online = calloc(s->ncpus, sizeof(*s->online));
	s->flushed = calloc(s->ncpus, sizeof(*s->flushed));
	s->rq = calloc(s->ncpus, sizeof(*s->rq));
	if (!s->vals || !s->prev || !s->online || !s->flushed || !s->rq)
		return -ENOMEM;
	err = cpus__read_online(cfg->sysfs, s->online, s->ncpus);
	if (err) {
		log__reason("failed to read online CPUs under %s: %s", cfg->sysfs, strerror(-err));
		return err;
	}
	err = cgacct__init(&s->acct, 1, cfg->procfs, cg_depth, cg_include, cg_exclude, why,
			   sizeof(why));
	if (err == -EINVAL) {
		log__reason("--collector.sched.cgroup-include/-exclude: %s", why);
		return err;
	}
	s->cg_ok = !err;
	if (err)
		log_warn("no per-cgroup CPU time: %s", why);

	kernel_accounting(&sched_info, &s->tick_off);
	if (busy_from_switches)
		s->tick_off = 0;
	else if (!s->tick_off)
		log_warn("busy time counted at context switches: the kernel's BTF does not "
			 "show where its per-CPU idle time is (tick_cpu_sched, "
			 "CONFIG_NO_HZ_COMMON)");
	s->wakeup_hooks = rq_wakeup_hooks || !sched_info;
	for (;;) {
		err = loader__load_twins(load_attach, unload, s, &use_btf);
		if (err || !s->tick_off || idle_time_matches(s, why, sizeof(why)))
			break;
		log_warn("busy time counted at context switches: the kernel's per-CPU idle "
			 "time read through tick_cpu_sched does not match /proc/stat (%s)",
			 why);
		unload(s);
		s->tick_off = 0;
	}
	if (err) {
		log__reason("failed to load and attach the programs: %s", strerror(-err));
		return err;
	}
	log_debug("attached as %s; run-queue waits from %s; busy time from %s",
		  use_btf ? "tp_btf" : "raw_tp",
		  s->wakeup_hooks ? "sched_wakeup(_new)" : "the kernel's sched_info",
		  s->tick_off ? "the kernel's idle time" : "context switches");
	return 0;
}

static int online_count(const struct sched *s)
{
	int cpu, n = 0;

	for (cpu = 0; cpu < s->ncpus; cpu++)
		n += s->online[cpu];
	return n;
}

/*
 * Busy time and context switches per CPU (sched_cpu), after the flush. The busy ratio's
 * denominator is the CPU's own time between its two flushes, so it is exact whatever the
 * sampler's jitter.
 */
static int sample_cpus(struct sched *s, struct mset *out)
{
	__u64 busy_sum = 0, span_sum = 0, lost = 0;
	__u32 zero = 0;
	char cpu_label[16];
	int cpu;

	if (bpf_map__lookup_elem(s->skel->maps.sched_cpu, &zero, sizeof(zero), s->vals,
				 sizeof(*s->vals) * s->ncpus, 0))
		return -errno;

	for (cpu = 0; cpu < s->ncpus; cpu++) {
		const struct kpulse_sched_cpu *v = &s->vals[cpu];
		struct cpu_prev *p = &s->prev[cpu];
		double ratio;

		lost += v->cgroup_lost_ns;
		if (!s->online[cpu]) {
			p->valid = false;
			continue;
		}
		snprintf(cpu_label, sizeof(cpu_label), "%d", cpu);
		mset__add(out, &cpu_busy_seconds, (double)v->busy_ns / 1e9, cpu_label);
		mset__add(out, &context_switches, (double)v->switches, cpu_label);
		if (p->valid && v->flush_ns > p->flush_ns &&
		    rate__ratio(p->busy_ns, v->busy_ns, v->flush_ns - p->flush_ns, &ratio)) {
			mset__add(out, &cpu_busy_ratio, ratio, cpu_label);
			busy_sum += rate__delta(p->busy_ns, v->busy_ns);
			span_sum += v->flush_ns - p->flush_ns;
		}
		p->busy_ns = v->busy_ns;
		p->flush_ns = v->flush_ns;
		p->valid = true;
	}
	if (span_sum) {
		double all;

		rate__ratio(0, busy_sum, span_sum, &all);
		mset__add(out, &cpu_busy_ratio_all, all);
	}
	if (lost > s->cg_lost_ns && !s->cg_lost_ns)
		log_warn("sched_cgcpu is full (%u cgroups): CPU time of further cgroups is not "
			 "counted per cgroup; raise --collector.sched.cgroup-max",
			 cg_max);
	s->cg_lost_ns = lost;
	return 0;
}

/* Run-queue latency: per-CPU log2 slots summed over every possible CPU (they only grow). */
static int sample_rqlat(struct sched *s, struct mset *out)
{
	uint64_t counts[KPULSE_RQ_SLOTS] = {}, cpu_counts[KPULSE_RQ_SLOTS];
	double bounds[KPULSE_RQ_BOUNDS];
	__u64 sum_ns = 0;
	__u32 zero = 0;
	char cpu_label[16];
	int cpu, i;

	if (bpf_map__lookup_elem(s->skel->maps.sched_rqlat, &zero, sizeof(zero), s->rq,
				 sizeof(*s->rq) * s->ncpus, 0))
		return -errno;
	sched__rq_bounds(bounds, KPULSE_RQ_BOUNDS);
	for (cpu = 0; cpu < s->ncpus; cpu++) {
		for (i = 0; i < KPULSE_RQ_SLOTS; i++) {
			counts[i] += s->rq[cpu].slots[i];
			cpu_counts[i] = s->rq[cpu].slots[i];
		}
		sum_ns += s->rq[cpu].sum_ns;
		if (rq_per_cpu && s->online[cpu]) {
			snprintf(cpu_label, sizeof(cpu_label), "%d", cpu);
			mset__histogram(out, &rq_latency_cpu, bounds, cpu_counts, KPULSE_RQ_BOUNDS,
					(double)s->rq[cpu].sum_ns / 1e9, cpu_label);
		}
	}
	/* The quantiles of this interval alone, from the growth of each slot. */
	if (s->rq_prev_valid) {
		double v;

		if (rate__quantile(bounds, KPULSE_RQ_BOUNDS, s->rq_prev, counts, 0.5, &v))
			mset__add(out, &rq_latency_p50, v);
		if (rate__quantile(bounds, KPULSE_RQ_BOUNDS, s->rq_prev, counts, 0.99, &v))
			mset__add(out, &rq_latency_p99, v);
	}
	memcpy(s->rq_prev, counts, sizeof(counts));
	s->rq_prev_valid = true;
	/* _count is the +Inf bucket, the sum of the slots; the kernel's count agrees. */
	return mset__histogram(out, &rq_latency, bounds, counts, KPULSE_RQ_BOUNDS,
			       (double)sum_ns / 1e9);
}

/*
 * Per-cgroup CPU time, through the cgroup ledger (cgacct.h): a removed cgroup's time stays
 * in its label, and a label whose cgroups are all gone leaves /metrics.
 */
static int sample_cgroups(struct sched *s, const struct tick *t, struct mset *out)
{
	double cap_ns;
	size_t i;
	int err;

	/* On a failed read the labels keep their last totals: exported, and the error told. */
	err = cgacct__sample_map(&s->acct, s->skel->maps.sched_cgcpu);
	cap_ns = (double)t->elapsed_ns * online_count(s);
	for (i = 0; i < s->acct.nlabels; i++) {
		const struct cgacct_label *l = &s->acct.labels[i];
		double ratio;

		mset__add(out, &cgroup_cpu_seconds, (double)l->total[0] / 1e9, l->name);
		if (l->prev_valid && cap_ns > 0 &&
		    rate__ratio(l->prev[0], l->total[0], (uint64_t)cap_ns, &ratio))
			mset__add(out, &cgroup_cpu_ratio, ratio, l->name);
	}
	cgacct__rotate(&s->acct);
	return err;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

/* Run the task iterator once: its kpulse_sched_proc records, in s->iterbuf. */
static int read_iter(struct sched *s)
{
	return loader__read_iter(s->skel->links.sched_procs, &s->iterbuf, &s->itercap, &s->iterlen);
}

/*
 * Watched processes from the task iterator. A process's CPU time is the sum of its
 * threads' (exited threads included, via signal->sum_sched_runtime); the ratio counts
 * each process's growth since the previous run, or its whole runtime if it started since
 * then. Lost: the last interval of a process that exited before this run (its time
 * moves to its parent's cutime, which we do not follow), and a process that started
 * and exited between two runs.
 */
static int sample_procs(struct sched *s, const struct tick *t, struct mset *out)
{
	const struct kpulse_sched_proc *r;
	size_t nrec, i, j, nw = s->cfg->nwatch;
	uint64_t running[KPULSE_WATCH_MAX] = {}, delta[KPULSE_WATCH_MAX] = {};
	double cap_ns;
	int err;

	if (!nw)
		return 0;
	err = read_iter(s);
	if (err) {
		s->prev_iter_ns = 0; /* the next ratio would span two intervals */
		return err;
	}
	nrec = s->iterlen / sizeof(*r);
	if (nrec > s->capprocs) {
		void *p = realloc(s->procs, nrec * sizeof(*s->procs));

		if (!p)
			return -ENOMEM;
		s->procs = p;
		s->capprocs = nrec;
	}
	/* One entry per thread, sorted, then folded into one per process. */
	for (i = 0; i < nrec; i++) {
		r = (const struct kpulse_sched_proc *)s->iterbuf + i;
		s->procs[i] = (struct proc){r->tgid, r->watch, r->runtime_ns, r->start_ns,
					    r->leader && r->alive};
	}
	qsort(s->procs, nrec, sizeof(*s->procs), cmp_proc);
	for (i = 0, j = 0; i < nrec; i++) {
		if (j && s->procs[j - 1].tgid == s->procs[i].tgid) {
			s->procs[j - 1].runtime_ns += s->procs[i].runtime_ns;
			s->procs[j - 1].alive |= s->procs[i].alive;
		} else {
			s->procs[j++] = s->procs[i];
		}
	}
	s->nprocs = j;

	for (i = 0; i < s->nprocs; i++) {
		const struct proc *p = &s->procs[i], *q;

		if (p->watch >= nw)
			continue;
		running[p->watch] += p->alive;
		if (!s->prev_iter_ns)
			continue;
		q = bsearch(p, s->prev_procs, s->nprev_procs, sizeof(*p), cmp_proc);
		if (q && q->start_ns == p->start_ns)
			delta[p->watch] += rate__delta(q->runtime_ns, p->runtime_ns);
		else if (p->start_ns >= s->prev_iter_ns)
			delta[p->watch] += p->runtime_ns; /* all of it since the last run */
	}
	/* The sampler's interval (rate__elapsed): none on the first run, nor after a failed one. */
	cap_ns = s->prev_iter_ns ? (double)t->elapsed_ns * online_count(s) : 0;
	for (i = 0; i < nw; i++) {
		double ratio;

		mset__add(out, &process_running, (double)running[i], s->cfg->watch[i]);
		if (cap_ns > 0 && rate__ratio(0, delta[i], (uint64_t)cap_ns, &ratio))
			mset__add(out, &process_cpu_ratio, ratio, s->cfg->watch[i]);
	}

	/* This run becomes the previous one. */
	{
		struct proc *tp = s->prev_procs;
		size_t tc = s->capprev;

		s->prev_procs = s->procs;
		s->capprev = s->capprocs;
		s->nprev_procs = s->nprocs;
		s->procs = tp;
		s->capprocs = tc;
	}
	s->prev_iter_ns = t->now_ns;
	return 0;
}

static int sched_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct sched *s = c->priv;
	int cpu, err, err2;

	err = cpus__read_online(s->cfg->sysfs, s->online, s->ncpus);
	if (err)
		return err;
	for (cpu = 0; cpu < s->ncpus; cpu++) {
		bool accounts = s->flushed[cpu];

		if (!s->online[cpu])
			s->flushed[cpu] = false;
		else if (flush_cpu(s, cpu))
			s->online[cpu] = false; /* went offline since we read the list */
		else if (!accounts)
			s->prev[cpu].valid = false; /* restarted: no ratio over the gap */
	}
	err = sample_cpus(s, out);
	if ((err2 = sample_rqlat(s, out)) && !err)
		err = err2;
	if (s->cg_ok && (err2 = sample_cgroups(s, t, out)) && !err) {
		log_debug("failed to read per-cgroup CPU time: %s", strerror(-err2));
		err = err2;
	}
	if ((err2 = sample_procs(s, t, out)) && !err) {
		log_debug("failed to run the task iterator: %s", strerror(-err2));
		err = err2;
	}
	return err;
}

static void sched_destroy(struct collector *c)
{
	struct sched *s = c->priv;

	if (!s)
		return;
	sched_bpf__destroy(s->skel);
	cgacct__free(&s->acct);
	free(s->vals);
	free(s->prev);
	free(s->online);
	free(s->flushed);
	free(s->rq);
	free(s->iterbuf);
	free(s->procs);
	free(s->prev_procs);
	free(s);
	c->priv = NULL;
}

struct collector sched_collector = {
	.name = "sched",
	.help = "CPU busy time, context switches, run-queue latency, per-cgroup CPU time and "
		"watched processes, from sched_switch and a task iterator (eBPF)",
	.enabled = true,
	.needs_bpf = true,
	.flags = sched_flags,
	.metrics = sched_metrics,
	.init = sched_init,
	.sample = sched_sample,
	.destroy = sched_destroy,
};
