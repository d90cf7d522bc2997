/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/sched.bpf.c and src/sched.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_SCHED_H
#define KPULSE_SCHED_H

/* What the flush program does when userspace runs it on a CPU (ctx[0]). */
enum kpulse_sched_flush {
	KPULSE_FLUSH_ACCOUNT = 0, /* add the open span to busy_ns, then restart it */
	KPULSE_FLUSH_RESET = 1,	  /* restart the span without accounting (start-up) */
};

/*
 * One per CPU (sched_cpu, a per-CPU array of one entry). busy_ns and switches only
 * ever grow; span_start_ns is when the CPU's current span began (last switch or
 * flush), and busy_ns is exact up to that instant.
 */
struct kpulse_sched_cpu {
	__u64 busy_ns;	     /* time spent running anything but the idle task */
	__u64 switches;	     /* context switches */
	__u64 span_start_ns; /* bpf_ktime_get_ns() at the last switch or flush */
	__u32 running_idle;  /* 1 while the idle task is on this CPU */
	__u32 pad;
};

#endif /* KPULSE_SCHED_H */
