/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/block.bpf.c and src/block.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_BLOCK_H
#define KPULSE_BLOCK_H

#include "kpulse.h"

/* What a request does (req_op(rq)): the four the issue names, and everything else. */
enum kpulse_block_op {
	KPULSE_BLOCK_READ,
	KPULSE_BLOCK_WRITE,
	KPULSE_BLOCK_FLUSH,
	KPULSE_BLOCK_DISCARD, /* discard and secure erase */
	KPULSE_BLOCK_OTHER,   /* write zeroes, zone management, driver-private */
	KPULSE_BLOCK_NOPS,
};

/*
 * Latency from issue to completion, log2 buckets in microseconds as the sched collector's:
 * slot 0 counts requests under 1 µs, slot i (1..24) those in [2^(i-1), 2^i) µs (upper bound
 * 2^i µs), the last slot 2^24 µs (16.8 s) and more.
 */
#define KPULSE_BLOCK_LAT_BOUNDS 25
#define KPULSE_BLOCK_LAT_SLOTS (KPULSE_BLOCK_LAT_BOUNDS + 1)

/*
 * Request size, log2 buckets in bytes: slot 0 counts requests of at most 512 bytes (a flush
 * carries 0), slot i (1..17) those in (2^(8+i), 2^(9+i)] (upper bound 2^(9+i): 4 KiB is
 * slot 3), the last slot more than 64 MiB.
 */
#define KPULSE_BLOCK_SIZE_MIN_SHIFT 9
#define KPULSE_BLOCK_SIZE_BOUNDS 18
#define KPULSE_BLOCK_SIZE_SLOTS (KPULSE_BLOCK_SIZE_BOUNDS + 1)

/* block_hist key: a whole disk (its dev_t, major << 20 | minor, the kernel's encoding). */
struct kpulse_block_key {
	__u32 dev;
	__u32 op; /* enum kpulse_block_op */
};

/* block_hist value (per CPU): completed requests of one device and operation. */
struct kpulse_block_hist {
	__u64 count;
	__u64 lat_sum_ns;
	__u64 bytes;
	/*
	 * Time the same requests spent queued before issue: from rq->start_time_ns (set when
	 * the request entered the block layer, if the queue keeps I/O statistics: the stamp
	 * /proc/diskstats measures from) to issue. Read, not clocked: no cost.
	 */
	__u64 queue_sum_ns;
	__u64 lat_slots[KPULSE_BLOCK_LAT_SLOTS];
	__u64 size_slots[KPULSE_BLOCK_SIZE_SLOTS];
};

/* block_inflight value, keyed by the request's address: set at issue, for a request the
 * kernel does not stamp itself (no RQF_STATS). */
struct kpulse_block_start {
	__u64 issue_ns; /* bpf_ktime_get_ns() */
	__u64 bytes;	/* blk_rq_bytes() at issue */
};

/* block_stats (per CPU, one entry): requests kpulse could not account. */
struct kpulse_block_stats {
	__u64 untimed; /* completed without an issue time: issued before kpulse attached, or
			* their entry was evicted from a full block_inflight */
	__u64 lost;    /* timed but not counted: block_hist was full (too many devices) */
};

#endif /* KPULSE_BLOCK_H */
