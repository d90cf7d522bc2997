// SPDX-License-Identifier: GPL-2.0
/*
 * TCP RTT collector: a TCP socket iterator (iter/tcp) that userspace runs once per tick reads
 * the smoothed RTT of every established connection into histograms: no per-packet hook.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tcprtt.h"

char LICENSE[] SEC("license") = "GPL";

#define TCP_ESTABLISHED 1

/* Set before load from --port.watch (see src/tcprtt.c). */
const volatile __u32 nports = 0;
const volatile __u16 ports[KPULSE_TCPRTT_PORTS] = {};

/*
 * The walk's histograms, built socket by socket and written out when the walk ends. One
 * entry shared by all CPUs: a walk may move between CPUs from one read() to the next, and
 * only kpulse's sampler runs this iterator, one walk at a time.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_tcprtt_walk);
} tcprtt_walk SEC(".maps");

/* Never written: the zeros a new walk starts from (the value is too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_tcprtt_walk);
} tcprtt_zero SEC(".maps");

static __always_inline void hist_add(struct kpulse_tcprtt_hist *h, __u64 slot, __u64 us)
{
	h->slots[slot]++;
	h->sum_us += us;
	h->count++;
}

static __always_inline void reset(struct kpulse_tcprtt_walk *w)
{
	__u32 zero = 0;
	struct kpulse_tcprtt_walk *z = bpf_map_lookup_elem(&tcprtt_zero, &zero);

	if (z)
		bpf_map_update_elem(&tcprtt_walk, &zero, z, BPF_ANY);
}

SEC("iter/tcp")
int tcprtt(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct kpulse_tcprtt_walk *w;
	struct tcp_sock *tp;
	__u32 zero = 0, i;
	__u64 us, slot;
	__u16 lport;

	w = bpf_map_lookup_elem(&tcprtt_walk, &zero);
	if (!w)
		return 0;
	if (!skc) {
		/* The end of the walk: hand the histograms over, start the next walk empty. */
		bpf_seq_write(ctx->meta->seq, w, sizeof(*w));
		reset(w);
		return 0;
	}
	/* A walk that was cut short (a failed read) must not leak into this one. */
	if (ctx->meta->seq_num == 0)
		reset(w);
	if (skc->skc_state != TCP_ESTABLISHED)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	us = tp->srtt_us >> 3; /* kept as 8 x µs (tcp_rtt_estimator) */
	/* The first bucket whose bound 2^slot µs is >= us: le means "at most", exactly. */
	slot = kpulse_log2_slot_exact(us);
	if (slot > KPULSE_TCPRTT_BOUNDS)
		slot = KPULSE_TCPRTT_BOUNDS;
	hist_add(&w->all, slot, us);
	lport = skc->skc_num;
	for (i = 0; i < KPULSE_TCPRTT_PORTS && i < nports; i++) {
		if (ports[i] == lport) {
			hist_add(&w->port[i], slot, us);
			break;
		}
	}
	return 0;
}
