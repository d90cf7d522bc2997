// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduler collector: per-CPU busy time and context switches, per-cgroup on-CPU time and
 * run-queue latency from sched_switch / sched_wakeup(_new); watched processes from a task
 * iterator that userspace runs once per tick.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sched.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

/*
 * tp_btf arguments are trusted BTF pointers: a plain load (one instruction, CO-RE
 * relocated) instead of a bpf_probe_read_kernel() call, which raw_tp needs. @btf is a
 * constant in each twin, so the other branch is compiled out.
 */
#define TASK_READ(btf, t, field) ((btf) ? (t)->field : BPF_CORE_READ(t, field))

/*
 * Set before load when the kernel keeps its own run-queue timestamps (CONFIG_SCHED_INFO):
 * task->sched_info.last_queued is set, in rq clock, whenever a task is enqueued (woken,
 * new, or preempted while runnable) and cleared when it arrives on a CPU, which happens
 * after the sched_switch tracepoint. sched_switch alone then measures the wait against
 * this CPU's rq->clock, which __schedule() has just updated: no wakeup programs, no
 * per-task storage, half the cost per switch. Otherwise the wakeup programs below keep the
 * start times themselves.
 */
const volatile bool rq_from_sched_info = false;

/* Set before load from --process.watch (see src/sched.c). */
const volatile __u32 nwatch = 0;
const volatile struct kpulse_sched_comm watch[KPULSE_WATCH_MAX] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_sched_cpu);
} sched_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_sched_rqlat);
} sched_rqlat SEC(".maps");

/*
 * On-CPU time per cgroup v2 id. Bounded (max_entries set from --collector.sched.cgroup-max):
 * when it is full, time of cgroups not yet in it goes to kpulse_sched_cpu.cgroup_lost_ns
 * until userspace deletes the entries of removed cgroups.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct kpulse_sched_cgroup);
} sched_cgcpu SEC(".maps");

/*
 * When each runnable task started waiting for a CPU (bpf_ktime_get_ns()). With tp_btf the
 * tracepoint arguments are trusted task pointers, so the start lives in task local
 * storage: no size limit, no hashing, freed with the task. raw_tp arguments are plain
 * pointers that bpf_task_storage_get() refuses, so the raw_tp twins use a hash keyed by
 * pid instead (max_entries set before load, 1 when unused); when it is full a wait is not
 * measured. An entry lives from wakeup to switch-in, so only runnable tasks occupy it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} sched_rqstart SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} sched_rqpid SEC(".maps");

/* task_struct::state became __state in 5.14 (commit 2f064a59a11f). */
struct task_struct___o {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t, bool btf)
{
	if (bpf_core_field_exists(t->__state))
		return TASK_READ(btf, t, __state);
	return TASK_READ(btf, (struct task_struct___o *)t, state);
}

static __always_inline __u64 log2_u64(__u64 v)
{
	__u64 r = 0, shift;

	shift = (v > 0xffffffff) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* Add @ns to cgroup @id in sched_cgcpu (this CPU's slot). */
static __always_inline void commit_cgroup(struct kpulse_sched_cpu *c, __u64 id, __u64 ns)
{
	struct kpulse_sched_cgroup *v, init = {.cpu_ns = ns};

	v = bpf_map_lookup_elem(&sched_cgcpu, &id);
	if (v) {
		v->cpu_ns += ns;
		return;
	}
	if (!bpf_map_update_elem(&sched_cgcpu, &id, &init, BPF_NOEXIST))
		return;
	/* Another CPU inserted it first (-EEXIST), or the map is full. */
	v = bpf_map_lookup_elem(&sched_cgcpu, &id);
	if (v)
		v->cpu_ns += ns;
	else
		c->cgroup_lost_ns += ns;
}

/*
 * Charge @ns of the current task's on-CPU time to its cgroup: in sched_switch current is
 * still prev (the tracepoint fires before context_switch()), in the flush program it is
 * the task the IPI interrupted. The hash is touched only when the cgroup changes.
 */
static __always_inline void charge_cgroup(struct kpulse_sched_cpu *c, __u64 ns)
{
	__u64 id = bpf_get_current_cgroup_id();

	if (id != c->pending_cgroup) {
		if (c->pending_ns)
			commit_cgroup(c, c->pending_cgroup, c->pending_ns);
		c->pending_cgroup = id;
		c->pending_ns = 0;
	}
	c->pending_ns += ns;
}

/*
 * Close the CPU's current span at @now: if the span was spent in a real task it is
 * busy time, charged to the cgroup of the task that ran it. A span that starts at 0 was
 * never opened (first event after load), so it is not accounted.
 */
static __always_inline void close_span(struct kpulse_sched_cpu *c, __u64 now)
{
	if (c->span_start_ns && !c->running_idle && now > c->span_start_ns) {
		c->busy_ns += now - c->span_start_ns;
		charge_cgroup(c, now - c->span_start_ns);
	}
	c->span_start_ns = now;
}

/* @p became runnable at @now. @btf is a constant, so each twin keeps only its branch. */
static __always_inline void rq_start(struct task_struct *p, __u64 now, bool btf)
{
	__u64 *ts;
	__u32 pid;

	if (btf) {
		ts = bpf_task_storage_get(&sched_rqstart, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (ts)
			*ts = now;
		return;
	}
	pid = TASK_READ(btf, p, pid);
	bpf_map_update_elem(&sched_rqpid, &pid, &now, BPF_ANY);
}

/* Count one wait of @ns in this CPU's histogram. */
static __always_inline void rq_record(__u64 ns)
{
	struct kpulse_sched_rqlat *h;
	__u64 us, slot; /* 64-bit: a u32 index loses its bounds in the shifts */
	__u32 zero = 0;

	h = bpf_map_lookup_elem(&sched_rqlat, &zero);
	if (!h)
		return;
	us = ns / 1000;
	slot = us ? log2_u64(us) + 1 : 0;
	if (slot > KPULSE_RQ_BOUNDS)
		slot = KPULSE_RQ_BOUNDS;
	/* sched_switch holds the runqueue lock: nothing else writes this CPU's slot. */
	h->slots[slot]++;
	h->sum_ns += ns;
	h->count++;
}

/* @next is switched in at @now: record how long it waited, if we saw it become runnable. */
static __always_inline void rq_end(struct task_struct *next, __u32 pid, __u64 now, bool btf)
{
	__u64 *ts, start;

	if (btf) {
		ts = bpf_task_storage_get(&sched_rqstart, next, 0, 0);
		if (!ts || !*ts)
			return;
		start = *ts;
		*ts = 0;
	} else {
		ts = bpf_map_lookup_elem(&sched_rqpid, &pid);
		if (!ts)
			return;
		start = *ts;
		bpf_map_delete_elem(&sched_rqpid, &pid);
	}
	if (now > start)
		rq_record(now - start);
}

/* The same from the kernel's own enqueue time (see rq_from_sched_info). */
static __always_inline void rq_end_sched_info(struct task_struct *next, bool btf)
{
	__u64 queued, now;

	if (!bpf_core_field_exists(next->sched_info) || !bpf_core_field_exists(next->se.cfs_rq))
		return;
	queued = btf ? next->sched_info.last_queued : BPF_CORE_READ(next, sched_info.last_queued);
	if (!queued)
		return; /* not enqueued since it last ran (or before CONFIG_SCHED_INFO saw it) */
	/* next is queued on this CPU: its cfs_rq's rq is this CPU's runqueue. */
	now = btf ? next->se.cfs_rq->rq->clock : BPF_CORE_READ(next, se.cfs_rq, rq, clock);
	if (now > queued)
		rq_record(now - queued);
}

static __always_inline int handle_switch(struct task_struct *prev, struct task_struct *next,
					 bool btf)
{
	__u32 zero = 0, next_pid = TASK_READ(btf, next, pid), prev_pid = TASK_READ(btf, prev, pid);
	struct kpulse_sched_cpu *c;
	__u64 now;

	c = bpf_map_lookup_elem(&sched_cpu, &zero);
	if (!c)
		return 0;
	now = bpf_ktime_get_ns();
	/* sched_switch runs with the runqueue locked: nothing else writes this CPU's slot. */
	close_span(c, now);
	c->running_idle = next_pid == 0;
	c->switches++;
	if (rq_from_sched_info) {
		if (next_pid)
			rq_end_sched_info(next, btf);
		return 0;
	}
	/* Preempted while runnable: it waits for a CPU from now on (idle never waits). */
	if (prev_pid && task_state(prev, btf) == TASK_RUNNING)
		rq_start(prev, now, btf);
	if (next_pid)
		rq_end(next, next_pid, now, btf);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev, next, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev, next, false);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	rq_start(p, bpf_ktime_get_ns(), true);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	rq_start(p, bpf_ktime_get_ns(), false);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	rq_start(p, bpf_ktime_get_ns(), true);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	rq_start(p, bpf_ktime_get_ns(), false);
	return 0;
}

/*
 * Never attached: userspace runs it on each CPU with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_RUN_ON_CPU before every sample. It runs in an IPI on that CPU, so it
 * cannot race sched_switch there, and it brings busy_ns (and the current task's cgroup)
 * up to date for a CPU that has run one task for the whole interval without switching.
 */
SEC("raw_tp")
int BPF_PROG(sched_flush, __u64 mode)
{
	struct kpulse_sched_cpu *c;
	struct task_struct *cur;
	__u32 zero = 0;
	__u64 now;

	c = bpf_map_lookup_elem(&sched_cpu, &zero);
	if (!c)
		return 0;
	now = bpf_ktime_get_ns();
	cur = (struct task_struct *)bpf_get_current_task();
	if (mode == KPULSE_FLUSH_RESET) {
		c->span_start_ns = now;
	} else {
		close_span(c, now);
		/* Userspace reads sched_cgcpu next: commit what is pending. */
		if (c->pending_ns)
			commit_cgroup(c, c->pending_cgroup, c->pending_ns);
		c->pending_ns = 0;
	}
	c->running_idle = BPF_CORE_READ(cur, pid) == 0;
	return 0;
}

/*
 * Run by userspace once per tick (read() of an iterator instance), never on a hot path:
 * one kpulse_sched_proc record per thread whose group leader's comm is a watched name.
 * Threads are matched by the leader's comm because a thread may rename itself.
 */
SEC("iter/task")
int sched_procs(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task, *leader;
	struct kpulse_sched_proc rec = {};
	struct kpulse_sched_comm comm = {};
	char *b = comm.name;
	bool end = false;
	__u32 i;

	if (!task)
		return 0;
	leader = BPF_CORE_READ(task, group_leader);
	BPF_CORE_READ_INTO(&comm, leader, comm);
	/* comm is NUL-padded today; do not rely on it. */
	for (i = 0; i < KPULSE_COMM_LEN; i++) {
		if (end)
			b[i] = 0;
		else if (!b[i])
			end = true;
	}
	/* Two 8-byte compares per name: both sides are NUL-padded to 16 bytes. */
	for (i = 0; i < KPULSE_WATCH_MAX && i < nwatch; i++)
		if (*(__u64 *)&comm.name[0] == *(const volatile __u64 *)&watch[i].name[0] &&
		    *(__u64 *)&comm.name[8] == *(const volatile __u64 *)&watch[i].name[8])
			break;
	if (i >= KPULSE_WATCH_MAX || i >= nwatch)
		return 0;
	rec.tgid = BPF_CORE_READ(task, tgid);
	rec.watch = i;
	rec.runtime_ns = BPF_CORE_READ(task, se.sum_exec_runtime);
	rec.start_ns = BPF_CORE_READ(leader, start_time);
	if (task == leader) {
		rec.leader = 1;
		rec.alive = BPF_CORE_READ(task, signal, live.counter) > 0;
		rec.runtime_ns += BPF_CORE_READ(task, signal, sum_sched_runtime);
	}
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
