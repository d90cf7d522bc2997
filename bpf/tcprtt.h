/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/tcprtt.bpf.c and src/tcprtt.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_TCPRTT_H
#define KPULSE_TCPRTT_H

#include "kpulse.h"

/* Most --port.watch ports that get an RTT histogram of their own (as many as net watches). */
#define KPULSE_TCPRTT_PORTS 16

/*
 * Smoothed RTT (a whole number of µs), log2 buckets: slot i (0..24) counts RTTs of at most
 * 2^i µs and more than 2^(i-1) µs (slot 0: 0 and 1 µs), so bucket le=2^i µs is exact; the
 * last slot those over 2^24 µs (16.8 s).
 */
#define KPULSE_TCPRTT_BOUNDS 25
#define KPULSE_TCPRTT_SLOTS (KPULSE_TCPRTT_BOUNDS + 1)

struct kpulse_tcprtt_hist {
	__u64 slots[KPULSE_TCPRTT_SLOTS];
	__u64 sum_us;
	__u64 count;
};

/*
 * What one walk of the TCP iterator writes, once, at its end: the smoothed RTT
 * (tcp_sock.srtt_us >> 3) of every established socket of kpulse's network namespace, and
 * of those whose local port is watched port[i] (the connections that listener accepted).
 */
struct kpulse_tcprtt_walk {
	struct kpulse_tcprtt_hist all;
	struct kpulse_tcprtt_hist port[KPULSE_TCPRTT_PORTS];
};

#endif /* KPULSE_TCPRTT_H */
