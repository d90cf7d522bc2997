/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/sched.bpf.c and src/sched.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_SCHED_H
#define KPULSE_SCHED_H

#include "kpulse.h"

/* What the flush program does when userspace runs it on a CPU (ctx[0]). */
enum kpulse_sched_flush {
	KPULSE_FLUSH_ACCOUNT = 0, /* account since the last flush of this CPU, then restart */
	KPULSE_FLUSH_RESET = 1,	  /* restart without accounting (start-up, CPU back online) */
};

/* Cgroups whose CPU time a CPU sums between flushes without the hash (a power of two). */
#define KPULSE_CG_SLOTS 8

struct kpulse_sched_cgslot {
	__u64 id; /* cgroup v2 id; 0: empty */
	__u64 ns; /* its CPU time on this CPU not yet in sched_cgcpu */
};

/*
 * One per CPU (sched_cpu, a per-CPU array of one entry). busy_ns, switches and
 * cgroup_lost_ns only ever grow.
 */
struct kpulse_sched_cpu {
	__u64 busy_ns;	/* time not idle (see the flush program for which definition) */
	__u64 switches; /* context switches since boot (the runqueue's nr_switches) */
	__u64 flush_ns; /* bpf_ktime_get_ns() at the last flush: busy_ns is exact up to it */
	__u64 idle_ns;	/* the kernel's idle + iowait time of this CPU at the last flush */
	/* Busy time counted at switches instead: rq clock when the open busy span began. */
	__u64 busy_since;
	/*
	 * Per-cgroup CPU time is the kernel's own per-task runtime (se.sum_exec_runtime):
	 * run_start is the running task's runtime when it was switched in (or at the last
	 * flush), run_pid its pid; at the next switch its growth is charged to its cgroup.
	 */
	__u64 run_start;
	__u32 run_pid;
	__u32 pad;
	__u64 cgroup_lost_ns; /* CPU time not charged to a cgroup: sched_cgcpu was full */
	/*
	 * CPU time not yet added to sched_cgcpu, of the cgroups that ran on this CPU since the
	 * last flush: slot id % KPULSE_CG_SLOTS sums the time of cgroup id. A switch only adds
	 * to its slot; the hash is touched when another cgroup takes the slot (the time of the
	 * one it held is committed) and at each flush (every slot is). See charge_current.
	 */
	struct kpulse_sched_cgslot cg[KPULSE_CG_SLOTS];
};

/*
 * Run-queue latency, log2 buckets in microseconds: slot 0 counts waits under 1 µs, slot
 * i (1..24) waits in [2^(i-1), 2^i) µs, so its Prometheus upper bound is 2^i µs; the
 * last slot counts waits of 2^24 µs (16.8 s) and more (+Inf).
 */
#define KPULSE_RQ_BOUNDS 25
#define KPULSE_RQ_SLOTS (KPULSE_RQ_BOUNDS + 1)

/* One per CPU (sched_rqlat): the CPU a task ran on after the wait records it. */
struct kpulse_sched_rqlat {
	__u64 slots[KPULSE_RQ_SLOTS];
	__u64 sum_ns;
	__u64 count;
};

/*
 * Per-task state (sched_task, task local storage). With the kernel's sched_info: its
 * run_delay and pcount when the task last left a CPU, so the next departure knows the
 * wait before that run. With the wakeup hooks: when the task last became runnable.
 */
struct kpulse_sched_task {
	__u64 run_delay;    /* sched_info.run_delay at the last departure */
	__u64 pcount;	    /* sched_info.pcount at the last departure */
	__u64 queued_clock; /* wakeup hooks: rq clock when it last became runnable, 0 if not */
};

/* sched_cgcpu value (per-CPU hash keyed by the cgroup v2 id): on-CPU time of its tasks. */
struct kpulse_sched_cgroup {
	__u64 cpu_ns;
};

/* Watched process names (--process.watch), in .rodata: comm padded with zeros. */
#define KPULSE_WATCH_MAX 64

struct kpulse_sched_comm {
	char name[KPULSE_COMM_LEN];
};

/*
 * What the task iterator writes for each thread of a watched process (its group
 * leader's comm is a watched name). runtime_ns is the thread's own on-CPU time; the
 * leader's record also adds the time of the process's threads that already exited
 * (signal->sum_sched_runtime), so the records of one tgid sum to the process's total.
 */
struct kpulse_sched_proc {
	__u32 tgid;
	__u32 watch;	  /* index into the watch list */
	__u64 runtime_ns; /* see above */
	__u64 start_ns;	  /* group leader's start time, CLOCK_MONOTONIC */
	__u32 leader;	  /* 1 for the group leader's record */
	__u32 alive;	  /* leader only: 1 while the process has a live thread */
};

#endif /* KPULSE_SCHED_H */
