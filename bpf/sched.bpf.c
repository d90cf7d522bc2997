// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduler collector. Per switch (sched_switch): per-cgroup on-CPU time and run-queue
 * waits, both from the kernel's own per-task accounting, with no clock read. Per tick (a
 * flush program userspace runs on each CPU): busy time and context switches from the
 * kernel's per-CPU counters. Watched processes from a task iterator run once per tick.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sched.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

/*
 * tp_btf arguments are trusted BTF pointers: a plain load (one instruction, CO-RE
 * relocated) instead of a bpf_probe_read_kernel() call, which raw_tp needs. @btf is a
 * constant in each twin, so the other branch is compiled out.
 */
#define TASK_READ(btf, t, field) ((btf) ? (t)->field : BPF_CORE_READ(t, field))

/*
 * Set before load.
 * rq_from_sched_info: the kernel keeps its own run-queue accounting per task
 * (CONFIG_SCHED_INFO: sched_info.run_delay, .pcount, what /proc/<pid>/schedstat shows), so
 * sched_switch reads it instead of timing waits itself: no wakeup programs and no clock
 * read. Otherwise the wakeup programs below record when tasks become runnable.
 * charge_cgroups: there is a cgroup v2 hierarchy to charge CPU time to.
 * tick_sched_off: busy time comes from the kernel's own idle accounting of each CPU, its
 * struct tick_sched (tick_cpu_sched), which lies this many bytes below the CPU's struct
 * rq (runqueues): both are per-CPU variables, so the distance between them is the same on
 * every CPU, and userspace takes it from the offsets of the two variables in the
 * kernel's BTF (the .data..percpu DATASEC). A typed ksym would say it directly but needs
 * CONFIG_KALLSYMS_ALL, which some kernels (this CI's 6.18) lack.
 * Userspace checks the first reading against /proc/stat before trusting it. 0: count
 * busy time at the switches into and out of the idle task instead (see handle_switch).
 */
const volatile bool rq_from_sched_info = false;
const volatile bool charge_cgroups = true;
const volatile __s64 tick_sched_off = 0;

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
 * Per-task state (struct kpulse_sched_task) in task local storage: no size limit, no
 * hashing, freed with the task. Only trusted task pointers reach it: the tp_btf arguments,
 * or the current task (which is prev in sched_switch) from bpf_get_current_task_btf().
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct kpulse_sched_task);
} sched_task SEC(".maps");

/*
 * The raw_tp twins of the wakeup hooks get plain task pointers, which
 * bpf_task_storage_get() refuses: they keep the rq clock at which each runnable task
 * started waiting in a hash keyed by pid instead (max_entries set before load, 1 when
 * unused); when it is full a wait is not measured. An entry lives from wakeup to
 * switch-in, so only runnable tasks occupy it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} sched_rqpid SEC(".maps");

/*
 * The clock of @t's runqueue (rq->clock, sched_clock_cpu() of that CPU as of its last
 * update_rq_clock()). The runqueue is reached from the task: with
 * CONFIG_FAIR_GROUP_SCHED every task's sched_entity points to its group's cfs_rq on its
 * CPU, and that to the CPU's rq (set_task_rq()); the per-CPU symbol `runqueues` would need
 * CONFIG_KALLSYMS_ALL (see tick_sched_off). Without FAIR_GROUP_SCHED the kernel has no
 * such path and we read our own clock instead.
 */
static __always_inline __u64 task_rq_clock(struct task_struct *t, bool btf)
{
	if (!bpf_core_field_exists(t->se.cfs_rq))
		return bpf_ktime_get_ns();
	return btf ? t->se.cfs_rq->rq->clock : BPF_CORE_READ(t, se.cfs_rq, rq, clock);
}

/*
 * This CPU's idle and iowait time so far in ns (tick_sched's idle_sleeptime and
 * iowait_sleeptime, the counters behind /proc/stat's idle and iowait columns, which
 * get_cpu_idle_time_us() reads) from @cur, a task running on it. Only with tick_sched_off.
 */
static __always_inline __u64 cpu_idle_ns(struct task_struct *cur)
{
	struct tick_sched *ts;
	__u64 rq;

	if (!bpf_core_field_exists(cur->se.cfs_rq))
		return 0;
	/* The rq's address as a number: the verifier allows no arithmetic on BTF pointers. */
	if (bpf_probe_read_kernel(&rq, sizeof(rq), &cur->se.cfs_rq->rq))
		return 0;
	ts = (struct tick_sched *)(rq - tick_sched_off);
	return BPF_CORE_READ(ts, idle_sleeptime) + BPF_CORE_READ(ts, iowait_sleeptime);
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
 * The cgroup v2 id of @t, the current task (what bpf_get_current_cgroup_id() returns):
 * @t is a trusted pointer, so four loads instead of a helper call.
 */
static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
}

/*
 * Charge what the current task @cur ran since c->run_start to its cgroup: in sched_switch
 * current is still prev (the tracepoint fires before context_switch()), in the flush
 * program it is the task the IPI interrupted. @pid and @runtime are that task's pid and
 * se.sum_exec_runtime, which the kernel has just brought up to date: update_curr() runs
 * for prev in __schedule() before the tracepoint (the dequeue of a task going to sleep,
 * or put_prev_task() of one that stays runnable), and at each scheduler tick, so the
 * flush sees the runtime as of the last tick. It is the very sum cgroup v2 cpu.stat's
 * usage_usec and /proc/<pid>/schedstat add up (update_curr() charges both), so no clock
 * of our own is read. The time goes to the cgroup's slot in c->cg; the hash is touched
 * only when a cgroup takes a slot another one held since the last flush.
 * If this CPU's last switch we saw did not bring the task in (pid != run_pid: the hook did
 * not run for the switch that did; seen on this CI's 6.18 under load, where a whole 0.5 ms
 * run of a task was dropped and its cgroup, charged by the kernel, had no label), the run
 * is charged from @picked, its se.prev_sum_exec_runtime: the runtime at which the kernel
 * last picked it (set_next_entity()); no flush or switch of ours charged any of it since.
 */
static __always_inline void charge_current(struct kpulse_sched_cpu *c, struct task_struct *cur,
					   __u32 pid, __u64 runtime, __u64 picked)
{
	struct kpulse_sched_cgslot *s;
	__u64 id, ns, start = c->run_start;

	/* Both loaded: one load through either pointer is refused by the verifier. */
	barrier_var(start);
	barrier_var(picked);
	if (!pid)
		return;
	if (pid != c->run_pid)
		start = picked;
	if (runtime <= start)
		return;
	ns = runtime - start;
	id = task_cgroup_id(cur);
	s = &c->cg[id & (KPULSE_CG_SLOTS - 1)];
	if (s->id != id) {
		if (s->ns)
			commit_cgroup(c, s->id, s->ns);
		s->id = id;
		s->ns = 0;
	}
	s->ns += ns;
}

/* Count one wait of @ns in this CPU's histogram. */
static __always_inline void rq_record(__u64 ns)
{
	struct kpulse_sched_rqlat *h;
	__u64 slot; /* 64-bit: a u32 index loses its bounds in the shifts */
	__u32 zero = 0;

	h = bpf_map_lookup_elem(&sched_rqlat, &zero);
	if (!h)
		return;
	slot = kpulse_log2_slot_us(ns); /* 0 under 1 µs, else floor(log2(ns / 1000)) + 1 */
	if (slot > KPULSE_RQ_BOUNDS)
		slot = KPULSE_RQ_BOUNDS;
	/* sched_switch holds the runqueue lock: nothing else writes this CPU's slot. */
	h->slots[slot]++;
	h->sum_ns += ns;
	h->count++;
}

/*
 * sched_info mode: record the wait that preceded @cur's current run, from the kernel's own
 * accounting, if not recorded yet. Called when @cur leaves its CPU (sched_switch) and for
 * the task each flush interrupts, so a wait is recorded at the first of the two after it
 * ended: at most one tick after the kernel counted it. (Counting only at departures put a
 * long wait whose run spanned a tick in the wrong interval, and the waits of the tasks
 * running at a sample in the next one.)
 * sched_info_arrive() added that wait to sched_info.run_delay and counted it in
 * sched_info.pcount when the task arrived, after the sched_switch that switched it in, so
 * afterwards both are final until it leaves. Their growth since the task's last fold is
 * exactly that wait, including the parts the kernel folded into run_delay when the waiting
 * task moved between CPUs (sched_info_dequeue() on the old runqueue, with a new
 * last_queued on the new one): one wait, however often it migrated, as
 * /proc/<pid>/schedstat counts it. Nothing grows again before the task next arrives, so a
 * second fold in the same run records nothing. pcount grows by one per arrival; more
 * means we missed a fold (its task storage could not be created), and then there is
 * nothing exact to record. sched_seed gives every task that existed at start its
 * baseline; a task created since starts from zero, so its first fold (pcount 1) records
 * its first wait whole.
 */
static __always_inline void rq_fold(struct task_struct *cur)
{
	struct kpulse_sched_task *t;
	__u64 delay, count;

	t = bpf_task_storage_get(&sched_task, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return;
	delay = cur->sched_info.run_delay;
	count = cur->sched_info.pcount;
	if (count == t->pcount)
		return; /* folded since it arrived */
	if (count == t->pcount + 1 && delay >= t->run_delay)
		rq_record(delay - t->run_delay);
	t->run_delay = delay;
	t->pcount = count;
}

/* Wakeup hooks: @p became runnable at @clock. @btf is a constant per twin. */
static __always_inline void rq_start(struct task_struct *p, __u64 clock, bool btf)
{
	struct kpulse_sched_task *t;
	__u32 pid;

	if (btf) {
		t = bpf_task_storage_get(&sched_task, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (t)
			t->queued_clock = clock;
		return;
	}
	pid = TASK_READ(btf, p, pid);
	bpf_map_update_elem(&sched_rqpid, &pid, &clock, BPF_ANY);
}

/*
 * Wakeup hooks: @p became runnable on its runqueue, whose clock ttwu_queue() or
 * wake_up_new_task() has just updated; runqueue clocks of different CPUs agree where
 * sched_clock is stable, as the kernel's own sched_info assumes too.
 */
static __always_inline void rq_woken(struct task_struct *p, bool btf)
{
	rq_start(p, task_rq_clock(p, btf), btf);
}

/* Wakeup hooks: @next is switched in at @clock: record its wait if we saw it start. */
static __always_inline void rq_end(struct task_struct *next, __u32 pid, __u64 clock, bool btf)
{
	struct kpulse_sched_task *t;
	__u64 *ts, start;

	if (btf) {
		t = bpf_task_storage_get(&sched_task, next, 0, 0);
		if (!t || !t->queued_clock)
			return;
		start = t->queued_clock;
		t->queued_clock = 0;
	} else {
		ts = bpf_map_lookup_elem(&sched_rqpid, &pid);
		if (!ts)
			return;
		start = *ts;
		bpf_map_delete_elem(&sched_rqpid, &pid);
	}
	if (clock >= start)
		rq_record(clock - start);
}

/*
 * Per switch: charge prev's runtime to its cgroup and, with sched_info, record the wait
 * before its run. Busy time and the switch count are the kernel's own per-CPU counters,
 * read by the flush program once per tick; only without tick_sched_off is busy time
 * counted here, where the CPU enters or leaves its idle task. No clock of our own is
 * read: those busy spans and the wakeup hooks' waits use this runqueue's clock, which
 * __schedule() has just updated (update_rq_clock()) before picking next. @prev is trusted
 * only in the tp_btf twin; the raw_tp twin takes current, which is prev.
 */
static __always_inline int handle_switch(struct task_struct *prev, struct task_struct *next,
					 bool btf)
{
	struct task_struct *cur = btf ? prev : bpf_get_current_task_btf();
	__u32 zero = 0, prev_pid = cur->pid, next_pid = TASK_READ(btf, next, pid);
	struct kpulse_sched_cpu *c;
	__u64 clock = 0;

	c = bpf_map_lookup_elem(&sched_cpu, &zero);
	if (!c)
		return 0;
	/* sched_switch runs with the runqueue locked: nothing else writes this CPU's slot. */
	if (!rq_from_sched_info || (!tick_sched_off && (!prev_pid || !next_pid)))
		clock = task_rq_clock(cur, true);
	if (!tick_sched_off) {
		if (!next_pid && prev_pid && clock > c->busy_since)
			c->busy_ns += clock - c->busy_since;
		else if (!prev_pid)
			c->busy_since = clock;
	}
	if (!bpf_core_field_exists(cur->se.cfs_rq))
		c->switches++; /* no rq->nr_switches to read at flush */
	if (charge_cgroups) {
		if (prev_pid)
			charge_current(c, cur, prev_pid, cur->se.sum_exec_runtime,
				       cur->se.prev_sum_exec_runtime);
		c->run_pid = next_pid;
		c->run_start = next_pid ? TASK_READ(btf, next, se.sum_exec_runtime) : 0;
	}
	if (rq_from_sched_info) {
		if (prev_pid)
			rq_fold(cur);
		return 0;
	}
	/* Preempted while runnable: it waits for a CPU from now on (idle never waits). */
	if (prev_pid && task_state(cur) == TASK_RUNNING)
		rq_start(prev, clock, btf);
	if (next_pid)
		rq_end(next, next_pid, clock, btf);
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
	rq_woken(p, true);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	rq_woken(p, false);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	rq_woken(p, true);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	rq_woken(p, false);
	return 0;
}

/*
 * Never attached: userspace runs it on each CPU with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_RUN_ON_CPU before every sample. It runs in an IPI on that CPU (or directly
 * on the caller's own CPU), so it cannot race sched_switch there, and brings this CPU's
 * counters up to date:
 * - busy_ns grows by the elapsed time (flush_ns, our clock once per tick) minus the growth
 *   of the kernel's idle and iowait time of this CPU (cpu_idle_ns(), in the same ktime).
 *   The kernel stops idle accounting at interrupt entry on an idle CPU
 *   (tick_nohz_irq_enter()) and at idle exit (tick_nohz_idle_exit(), before a polling
 *   idle loop runs this callback), so the reading is exact at this instant: busy time to
 *   the nanosecond, by the definition /proc/stat rounds to 10 ms.
 *   Without tick_sched_off the open busy span is closed at the runqueue clock, which the
 *   scheduler tick keeps updating on a busy CPU: exact up to the last tick, and the next
 *   flush continues from there, so the counter never drifts.
 * - switches is the runqueue's own count (rq->nr_switches).
 * - with sched_info, the wait before the interrupted task's run is recorded (rq_fold()),
 *   so the sample counts every wait that ended before it, as schedstat does.
 * - the interrupted task's runtime since the last switch or flush goes to its cgroup's
 *   slot, and every slot's time is committed to sched_cgcpu, which userspace reads next.
 */
SEC("raw_tp")
int BPF_PROG(sched_flush, __u64 mode)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct kpulse_sched_cpu *c;
	__u32 zero = 0, pid = cur->pid, i;
	__u64 now, clock, idle, wall, slept;

	c = bpf_map_lookup_elem(&sched_cpu, &zero);
	if (!c)
		return 0;
	now = bpf_ktime_get_ns();
	if (bpf_core_field_exists(cur->se.cfs_rq))
		c->switches = cur->se.cfs_rq->rq->nr_switches;
	if (tick_sched_off) {
		idle = cpu_idle_ns(cur);
		if (mode == KPULSE_FLUSH_ACCOUNT && c->flush_ns && now > c->flush_ns) {
			wall = now - c->flush_ns;
			slept = idle > c->idle_ns ? idle - c->idle_ns : 0;
			c->busy_ns += slept < wall ? wall - slept : 0;
		}
		c->idle_ns = idle;
	} else {
		clock = task_rq_clock(cur, true);
		if (mode == KPULSE_FLUSH_ACCOUNT && pid && clock > c->busy_since)
			c->busy_ns += clock - c->busy_since;
		c->busy_since = clock;
	}
	c->flush_ns = now;
	if (rq_from_sched_info && pid)
		rq_fold(cur);
	if (!charge_cgroups)
		return 0;
	if (mode == KPULSE_FLUSH_ACCOUNT)
		charge_current(c, cur, pid, cur->se.sum_exec_runtime,
			       cur->se.prev_sum_exec_runtime);
	c->run_pid = pid;
	c->run_start = cur->se.sum_exec_runtime;
	for (i = 0; i < KPULSE_CG_SLOTS; i++) {
		if (c->cg[i].ns)
			commit_cgroup(c, c->cg[i].id, c->cg[i].ns);
		c->cg[i].ns = 0;
	}
	return 0;
}

/*
 * Run by userspace once, after sched_switch is attached (sched_info mode): every task
 * kpulse has not seen yet gets its run_delay and pcount as the baseline of its next fold.
 * Without it, a task's first fold after start has none and records nothing: a task that
 * was waiting (or sleeping) when kpulse started would lose that wait, however long, while
 * the kernel counts it when the task gets the CPU.
 */
SEC("iter/task")
int sched_seed(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct kpulse_sched_task *t;

	if (!task)
		return 0;
	t = bpf_task_storage_get(&sched_task, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t || t->pcount)
		return 0; /* folded already (or a pinned map kept it across a restart) */
	t->run_delay = task->sched_info.run_delay;
	t->pcount = task->sched_info.pcount;
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
