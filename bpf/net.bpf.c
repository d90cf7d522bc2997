// SPDX-License-Identifier: GPL-2.0
/*
 * Network collector, what the kernel does not count on its own: TCP retransmits and resets
 * per namespace, listeners on watched ports, and (opt-in, --collector.net.cgroups: they
 * run on every sendmsg/recvmsg) bytes per cgroup from sock_{send,recv}_length. Device
 * counters are the kernel's (rtnetlink, read by src/net.c): no program runs per packet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "net.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_LISTEN 10

/* Set by userspace before load. */
const volatile __u32 self_netns = 0; /* kpulse's own network namespace (inode number) */
const volatile __u32 nwatch = 0;     /* used entries of watch_ports */
const volatile __u16 watch_ports[KPULSE_NET_MAX_PORTS] = {};

/*
 * Sockets in LISTEN on watch_ports[i] in kpulse's namespace, kept by inet_sock_set_state
 * relative to the moment of attach; userspace adds the listeners that existed before
 * (from /proc/net/tcp) atomically into the same slot. Not pinned: a gauge of the present.
 */
__s32 listeners[KPULSE_NET_MAX_PORTS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* cgroup v2 id */
	__type(value, struct kpulse_net_cgroup);
} net_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* netns inode number */
	__type(value, struct kpulse_net_tcp);
} net_tcp SEC(".maps");

/*
 * Per cgroup: sock_send_length / sock_recv_length rather than cgroup_skb programs on the
 * cgroup2 root. They fire in the sending or receiving task's context, so the bytes belong
 * to the cgroup of the task that moved them (bpf_get_current_cgroup_id), they count what
 * the application sent or received (payload, not headers or retransmits), and they attach
 * as observers: a cgroup_skb program sits in every packet's path, returns a verdict that
 * could drop traffic, and is inherited by (or conflicts with) other programs in the tree.
 */
static __always_inline int count_cgroup(__u16 family, int ret, bool tx)
{
	struct kpulse_net_cgroup *v;
	__u64 id;

	if (ret <= 0)
		return 0;
	if (family != AF_INET && family != AF_INET6)
		return 0; /* unix sockets, netlink...: not network traffic */
	id = bpf_get_current_cgroup_id();
	v = kpulse_map_lookup_or_zero(&net_cgroup, &id, struct kpulse_net_cgroup);
	if (!v)
		return 0;
	if (tx)
		v->tx_bytes += ret;
	else
		v->rx_bytes += ret;
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sock_send_length_btf, struct sock *sk, int ret, int flags)
{
	return sk ? count_cgroup(sk->__sk_common.skc_family, ret, true) : 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(sock_send_length_raw, struct sock *sk, int ret, int flags)
{
	return sk ? count_cgroup(BPF_CORE_READ(sk, __sk_common.skc_family), ret, true) : 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(sock_recv_length_btf, struct sock *sk, int ret, int flags)
{
	return sk ? count_cgroup(sk->__sk_common.skc_family, ret, false) : 0;
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(sock_recv_length_raw, struct sock *sk, int ret, int flags)
{
	return sk ? count_cgroup(BPF_CORE_READ(sk, __sk_common.skc_family), ret, false) : 0;
}

static __always_inline struct kpulse_net_tcp *tcp_slot(__u32 netns)
{
	return kpulse_map_lookup_or_zero(&net_tcp, &netns, struct kpulse_net_tcp);
}

static __always_inline int count_retransmit(const struct sock *sk)
{
	struct kpulse_net_tcp *v = tcp_slot(BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum));

	if (v)
		v->retransmits++;
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return count_retransmit(sk);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb_raw, const struct sock *sk, const struct sk_buff *skb)
{
	return count_retransmit(sk);
}

/* A reset for a segment to a closed port has no socket: take the namespace from the skb. */
static __always_inline int count_reset(const struct sock *sk, const struct sk_buff *skb)
{
	struct kpulse_net_tcp *v;
	__u32 netns;

	if (sk)
		netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	else if (skb)
		netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	else
		return 0;
	v = tcp_slot(netns);
	if (v)
		v->resets_sent++;
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_send_reset_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return count_reset(sk, skb);
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(tcp_send_reset_raw, const struct sock *sk, const struct sk_buff *skb)
{
	return count_reset(sk, skb);
}

/*
 * A TCP socket in kpulse's namespace entering or leaving LISTEN on a watched port. A port
 * bound before listen() is in skc_num when inet_csk_listen_start() sets LISTEN; when
 * taking the port fails there, the socket goes LISTEN → CLOSE with the same skc_num and
 * the count returns to where it was. A listen() without bind() enters LISTEN on port 0
 * and is not counted: a watched port is a fixed one, not one picked from the ephemeral
 * range.
 */
static __always_inline int handle_set_state(const struct sock *sk, int oldstate, int newstate)
{
	__u16 port;
	int delta;
	__u32 i;

	if (newstate == TCP_LISTEN && oldstate != TCP_LISTEN)
		delta = 1;
	else if (oldstate == TCP_LISTEN && newstate != TCP_LISTEN)
		delta = -1;
	else
		return 0;
	if (!nwatch || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != self_netns)
		return 0;
	port = BPF_CORE_READ(sk, __sk_common.skc_num);
	/*
	 * Closing a listener that bound port 0 (an ephemeral port) releases the port before the
	 * state changes (tcp_set_state → inet_put_port zeroes inet_num); inet_sport, set when
	 * it started listening, still holds it.
	 */
	if (!port && delta < 0)
		port = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	for (i = 0; i < KPULSE_NET_MAX_PORTS && i < nwatch; i++)
		if (watch_ports[i] == port)
			__sync_fetch_and_add(&listeners[i], delta);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	return handle_set_state(sk, oldstate, newstate);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state_raw, const struct sock *sk, const int oldstate, const int newstate)
{
	return handle_set_state(sk, oldstate, newstate);
}

/*
 * Never attached to an event: with --collector.net.all-namespaces userspace runs this
 * iterator once per tick to learn which other network namespaces have tasks, and one task
 * of each (a BPF iterator sees every task, where /proc/<pid>/ns/net is closed to an
 * unprivileged kpulse; /proc/<tid>/net/dev is not).
 */
SEC("iter/task")
int net_ns_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct kpulse_net_ns_task rec;

	if (!task)
		return 0;
	rec.netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	if (!rec.netns || rec.netns == self_netns)
		return 0; /* exiting (no nsproxy), or kpulse's own namespace */
	rec.tid = task->pid;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
