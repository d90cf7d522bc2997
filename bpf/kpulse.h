/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constants and helpers shared by every BPF program and userspace: included by the
 * bpf/<x>.h headers, so fixed-width types only. The log2 slots are here, not in each
 * program, so the unit tests run the very code the kernel runs (tests/unit/test_log2.c).
 * Not src/kpulse.h (the daemon's settings): a bpf/ header reaches this one first.
 */
#ifndef KPULSE_BPF_KPULSE_H
#define KPULSE_BPF_KPULSE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __bpf__
#define KPULSE_INLINE static __always_inline
#else
#define KPULSE_INLINE static inline
#endif

/* A task's comm with its NUL (TASK_COMM_LEN). */
#define KPULSE_COMM_LEN 16

/* floor(log2(@v)), without a loop (the verifier counts every iteration); 0 for 0 and 1. */
KPULSE_INLINE __u64 kpulse_log2(__u64 v)
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

/*
 * The log2 slot of a whole number @v that was rounded down (µs of a time in ns): 0 for 0,
 * else floor(log2(v)) + 1. Slot i holds [2^(i-1), 2^i), so bucket le=2^i holds every value
 * whose true size is under 2^i.
 */
KPULSE_INLINE __u64 kpulse_log2_slot(__u64 v)
{
	return v ? kpulse_log2(v) + 1 : 0;
}

/*
 * The log2 slot of a whole number @v that is exact (an RTT in µs, a size in bytes): the
 * first slot i with v <= 2^i, ceil(log2(v)); 0 for 0 and 1.
 */
KPULSE_INLINE __u64 kpulse_log2_slot_exact(__u64 v)
{
	return v > 1 ? kpulse_log2(v - 1) + 1 : 0;
}

/*
 * kpulse_log2_slot(@ns / 1000), the µs slot of a time in ns, without the 64-bit division,
 * which costs more than everything else per context switch: with l = floor(log2(ns)),
 * log2(ns / 1000) lies in [l - 9.97, l - 8.97), so its floor is l - 9 when
 * ns >= 1000 << (l - 9), else l - 10.
 */
KPULSE_INLINE __u64 kpulse_log2_slot_us(__u64 ns)
{
	__u64 l;

	if (ns < 1000)
		return 0;
	l = kpulse_log2(ns); /* >= 9 */
	return ns >= (1000ULL << (l - 9)) ? l - 8 : l - 9;
}

#endif /* KPULSE_BPF_KPULSE_H */
