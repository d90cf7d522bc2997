// SPDX-License-Identifier: GPL-2.0
/*
 * Block collector: latency from issue to completion and size of every block request, per
 * disk and operation, as log2 histograms (block_rq_issue / block_rq_complete).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "block.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * tp_btf arguments are trusted BTF pointers: a plain (CO-RE relocated) load; raw_tp needs a
 * probe read. @btf is a constant in each twin, so the other branch is compiled out.
 */
#define RQ_READ(btf, p, field) ((btf) ? (p)->field : BPF_CORE_READ(p, field))

#define REQ_OP_MASK 0xff /* (1 << REQ_OP_BITS) - 1 */
/* enum req_op values (include/linux/blk_types.h), stable across kernels. */
#define REQ_OP_READ 0
#define REQ_OP_WRITE 1
#define REQ_OP_FLUSH 2
#define REQ_OP_DISCARD 3
#define REQ_OP_SECURE_ERASE 5
#define REQ_OP_DRV_IN 34
#define REQ_OP_DRV_OUT 35

/*
 * Set by src/block.c from the running kernel's BTF (the enumerators are in an anonymous
 * enum, out of CO-RE's reach): the bit of QUEUE_FLAG_STATS in request_queue::queue_flags
 * and of __RQF_STATS in request::rq_flags; -1 where the kernel has neither, and every
 * request is then timed from block_inflight.
 */
const volatile int queue_flag_stats = -1;
const volatile int rqf_stats = -1;

/*
 * Requests in flight that the kernel does not stamp itself (on a queue without
 * QUEUE_FLAG_STATS: no writeback throttling, iolatency or iocost on it), keyed by the
 * request's address. An LRU: when it is full the entry issued longest ago goes (a request
 * whose completion was never traced cannot pile up); a request that loses its entry is
 * counted in kpulse_block_stats.untimed when it completes. max_entries from
 * --collector.block.inflight-max.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct kpulse_block_start);
} block_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct kpulse_block_key);
	__type(value, struct kpulse_block_hist);
} block_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_block_stats);
} block_stats SEC(".maps");

static __always_inline __u32 op_of(__u32 cmd_flags)
{
	switch (cmd_flags & REQ_OP_MASK) {
	case REQ_OP_READ:
		return KPULSE_BLOCK_READ;
	case REQ_OP_WRITE:
		return KPULSE_BLOCK_WRITE;
	case REQ_OP_FLUSH:
		return KPULSE_BLOCK_FLUSH;
	case REQ_OP_DISCARD:
	case REQ_OP_SECURE_ERASE:
		return KPULSE_BLOCK_DISCARD;
	default:
		return KPULSE_BLOCK_OTHER;
	}
}

static __always_inline void stat_add(int untimed)
{
	struct kpulse_block_stats *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&block_stats, &zero);
	if (!s)
		return;
	/* Per-CPU slot, and tracepoints do not nest on one CPU here: no atomics needed. */
	if (untimed)
		s->untimed++;
	else
		s->lost++;
}

/* Is @op (req_op()) a passthrough command, which the kernel never stamps at issue? */
static __always_inline bool op_is_passthrough(__u32 op)
{
	return op == REQ_OP_DRV_IN || op == REQ_OP_DRV_OUT;
}

/*
 * An empty write with REQ_PREFLUSH (fsync of a block device, blkdev_issue_flush(), on a
 * queue with a volatile write cache): the flush machinery sends the device a flush request
 * of its own (op flush: issued, completed and counted here like any other) and ends this
 * one when that is done, without ever issuing it, so it has no issue time; by then
 * REQ_PREFLUSH is cleared (cmd_flags reads REQ_OP_WRITE | REQ_SYNC on 6.18), so it is known
 * by being a write of no bytes, which no device is ever sent. /proc/diskstats counts it as
 * a write of 0 sectors; it is counted in no histogram here (its wait is the flush's,
 * already counted) and is not "untimed" either: it was never a device request.
 */
static __always_inline bool is_flush_shell(__u32 cmd_flags, unsigned int data_len)
{
	return (cmd_flags & REQ_OP_MASK) == REQ_OP_WRITE && !data_len;
}

/*
 * Issue: right after this tracepoint blk_mq_start_request() stamps rq->io_start_time_ns
 * itself on a queue with QUEUE_FLAG_STATS (set by writeback throttling, on by default on
 * every multi-queue disk without BFQ, and by iolatency and iocost), and marks the request
 * RQF_STATS. Such a request costs nothing here: no clock read, no map. Only the others are
 * stamped and kept in block_inflight.
 */
static __always_inline int handle_issue(struct request *rq, bool btf)
{
	struct kpulse_block_start start;
	__u64 key = (__u64)rq, qflags;
	__u32 op;

	op = RQ_READ(btf, rq, cmd_flags) & REQ_OP_MASK;
	if (queue_flag_stats >= 0 && !op_is_passthrough(op)) {
		qflags = btf ? rq->q->queue_flags : BPF_CORE_READ(rq, q, queue_flags);
		if (qflags & (1ULL << (queue_flag_stats & 63)))
			return 0;
	}
	start.bytes = RQ_READ(btf, rq, __data_len);
	start.issue_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&block_inflight, &key, &start, BPF_ANY);
	return 0;
}

/*
 * Completion of @nr_bytes of the request. Only the one that ends it counts (a partial
 * completion is traced once per piece), as /proc/diskstats counts a request once, when it
 * ends. One clock read; the issue time and size come from the request itself when the
 * kernel stamped it (RQF_STATS), else from block_inflight.
 */
static __always_inline int handle_complete(struct request *rq, unsigned int nr_bytes, bool btf)
{
	struct kpulse_block_key hk = {};
	struct kpulse_block_hist *h;
	struct kpulse_block_start *s;
	struct gendisk *disk;
	__u64 key = (__u64)rq, now, issue, alloc, ns, us, bytes, slot, queued;

	if (nr_bytes < RQ_READ(btf, rq, __data_len))
		return 0; /* more of it to come */
	now = bpf_ktime_get_ns();
	if (rqf_stats >= 0 && (RQ_READ(btf, rq, rq_flags) & (1U << (rqf_stats & 31)))) {
		issue = RQ_READ(btf, rq, io_start_time_ns);
		bytes = (__u64)RQ_READ(btf, rq, stats_sectors) << 9;
	} else {
		s = bpf_map_lookup_elem(&block_inflight, &key);
		if (!s) {
			if (!is_flush_shell(RQ_READ(btf, rq, cmd_flags),
					    RQ_READ(btf, rq, __data_len)))
				stat_add(1);
			return 0;
		}
		issue = s->issue_ns;
		bytes = s->bytes;
		bpf_map_delete_elem(&block_inflight, &key);
	}
	ns = now > issue ? now - issue : 0;
	/*
	 * rq->start_time_ns: set when the request entered the block layer, if the queue keeps
	 * I/O statistics (the stamp /proc/diskstats measures from). The kernel may stamp both
	 * from a plug's cached time, never later than the real one.
	 */
	alloc = RQ_READ(btf, rq, start_time_ns);
	queued = alloc && issue > alloc ? issue - alloc : 0;

	disk = btf ? rq->q->disk : BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0; /* no disk (a passthrough queue): nothing to name it by */
	hk.dev = (__u32)RQ_READ(btf, disk, major) << 20 | (__u32)RQ_READ(btf, disk, first_minor);
	hk.op = op_of(RQ_READ(btf, rq, cmd_flags));
	h = kpulse_map_lookup_or_zero(&block_hist, &hk, struct kpulse_block_hist);
	if (!h) {
		stat_add(0);
		return 0;
	}
	us = ns / 1000;
	slot = kpulse_log2_slot(us);
	if (slot > KPULSE_BLOCK_LAT_BOUNDS)
		slot = KPULSE_BLOCK_LAT_BOUNDS;
	h->lat_slots[slot]++;
	/* Smallest bucket that holds it: bytes <= 2^(9 + slot). */
	slot = bytes > (1u << KPULSE_BLOCK_SIZE_MIN_SHIFT)
		       ? kpulse_log2_slot_exact(bytes) - KPULSE_BLOCK_SIZE_MIN_SHIFT
		       : 0;
	if (slot > KPULSE_BLOCK_SIZE_BOUNDS)
		slot = KPULSE_BLOCK_SIZE_BOUNDS;
	h->size_slots[slot]++;
	h->lat_sum_ns += ns;
	h->queue_sum_ns += queued;
	h->bytes += bytes;
	h->count++;
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue_btf, struct request *rq)
{
	return handle_issue(rq, true);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue_raw, struct request *rq)
{
	return handle_issue(rq, false);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
	return handle_complete(rq, nr_bytes, true);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete_raw, struct request *rq, int error, unsigned int nr_bytes)
{
	return handle_complete(rq, nr_bytes, false);
}
