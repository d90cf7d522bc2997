// SPDX-License-Identifier: GPL-2.0
/* Scheduler collector: per-CPU busy time and context switches from sched_switch. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sched.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_sched_cpu);
} sched_cpu SEC(".maps");

/*
 * Close the CPU's current span at @now: if the span was spent in a real task it is
 * busy time. A span that starts at 0 was never opened (first event after load), so it
 * is not accounted.
 */
static __always_inline void close_span(struct kpulse_sched_cpu *c, __u64 now)
{
	if (c->span_start_ns && !c->running_idle && now > c->span_start_ns)
		c->busy_ns += now - c->span_start_ns;
	c->span_start_ns = now;
}

static __always_inline int handle_switch(struct task_struct *next)
{
	struct kpulse_sched_cpu *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&sched_cpu, &zero);
	if (!c)
		return 0;
	/* sched_switch runs with the runqueue locked: nothing else writes this CPU's slot. */
	close_span(c, bpf_ktime_get_ns());
	c->running_idle = BPF_CORE_READ(next, pid) == 0;
	c->switches++;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(next);
}

/*
 * Never attached: userspace runs it on each CPU with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_RUN_ON_CPU before every sample. It runs in an IPI on that CPU, so it
 * cannot race sched_switch there, and it brings busy_ns up to date for a CPU that has
 * run one task for the whole interval without switching.
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
	if (mode == KPULSE_FLUSH_RESET)
		c->span_start_ns = now;
	else
		close_span(c, now);
	c->running_idle = BPF_CORE_READ(cur, pid) == 0;
	return 0;
}
