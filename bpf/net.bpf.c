// SPDX-License-Identifier: GPL-2.0
/*
 * Network collector: bytes and packets per device (netif_receive_skb, net_dev_xmit), per
 * cgroup (sock_{send,recv}_length), TCP retransmits and resets, listeners on watched ports.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "net.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_LISTEN 10
#define NETDEV_TX_OK 0

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
	__uint(max_entries, 4096);
	__type(key, struct kpulse_net_dev_key);
	__type(value, struct kpulse_net_dev);
} net_dev SEC(".maps");

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

/* Find or create the device's slot; the name is copied once, when the entry is created. */
static __always_inline struct kpulse_net_dev *dev_slot(const struct kpulse_net_dev_key *key,
						       const char *name)
{
	struct kpulse_net_dev *v, init = {};

	v = bpf_map_lookup_elem(&net_dev, key);
	if (v)
		return v;
	bpf_probe_read_kernel_str(init.name, sizeof(init.name), name);
	bpf_map_update_elem(&net_dev, key, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&net_dev, key);
}

static __always_inline void count_rx(const struct kpulse_net_dev_key *key, const char *name,
				     __u64 bytes)
{
	struct kpulse_net_dev *v = dev_slot(key, name);

	if (!v)
		return;
	/* Per-CPU slot, and the rx hooks do not nest on one CPU between lookup and add. */
	v->rx_bytes += bytes;
	v->rx_packets++;
}

static __always_inline void count_tx(const struct kpulse_net_dev_key *key, const char *name,
				     __u64 bytes)
{
	struct kpulse_net_dev *v = dev_slot(key, name);

	if (!v)
		return;
	v->tx_bytes += bytes;
	v->tx_packets++;
}

/*
 * Received frames are counted where the driver hands them to the stack, one hook per
 * driver entry point, because that is what the drivers' own statistics count: before
 * GRO merges them (netif_receive_skb, after GRO, would count a merged aggregate once and
 * miss its frames' headers). netif_rx (lo, veth, the backlog drivers) can drop the frame,
 * and lo and veth count it only if it was queued: those are counted on return.
 *
 * The skb's MAC header is already pulled (eth_type_trans) while the drivers' rx_bytes
 * (veth, most NICs) count the whole frame: add back what lies between the MAC header and
 * skb->data so the bytes equal /sys/class/net/<dev>/statistics. loopback_xmit() is the
 * exception: it calls eth_type_trans() before taking skb->len for its (shared rx and tx)
 * statistics, so lo counts frames without the MAC header, in both directions, and so do we.
 */
#define MAC_HEADER_UNSET 0xffff
#define IFF_LOOPBACK 0x8
#define NET_RX_SUCCESS 0

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_net_rx_pending);
} net_rx_pending SEC(".maps");

/* The device key, name and frame bytes of @skb: plain loads through BTF pointers. */
static __always_inline bool rx_frame_btf(struct sk_buff *skb, struct kpulse_net_rx_frame *f)
{
	struct net_device *dev = skb->dev;
	__u16 mac = skb->mac_header;

	if (!dev)
		return false;
	f->bytes = skb->len;
	if (mac != MAC_HEADER_UNSET && !(dev->flags & IFF_LOOPBACK))
		f->bytes += skb->data - (skb->head + mac);
	f->key.netns = dev->nd_net.net->ns.inum;
	f->key.ifindex = dev->ifindex;
	f->key.dev_id = dev->dev.kobj.sd ? dev->dev.kobj.sd->id : 0;
	f->name = (__u64)dev->name;
	return true;
}

/* The same with CO-RE probe reads, for raw_tp. */
static __always_inline bool rx_frame_raw(struct sk_buff *skb, struct kpulse_net_rx_frame *f)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	__u16 mac = BPF_CORE_READ(skb, mac_header);

	if (!dev)
		return false;
	f->bytes = BPF_CORE_READ(skb, len);
	if (mac != MAC_HEADER_UNSET && !(BPF_CORE_READ(dev, flags) & IFF_LOOPBACK))
		f->bytes +=
			(__u64)BPF_CORE_READ(skb, data) - ((__u64)BPF_CORE_READ(skb, head) + mac);
	f->key.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	f->key.ifindex = BPF_CORE_READ(dev, ifindex);
	f->key.dev_id = BPF_CORE_READ(dev, dev.kobj.sd, id);
	f->name = (__u64)dev->name;
	return true;
}

static __always_inline void rx_count(const struct kpulse_net_rx_frame *f)
{
	count_rx(&f->key, (const char *)f->name, f->bytes);
}

static __always_inline void rx_push(const struct kpulse_net_rx_frame *f)
{
	struct kpulse_net_rx_pending *p;
	__u32 zero = 0, d;

	p = bpf_map_lookup_elem(&net_rx_pending, &zero);
	if (!p)
		return;
	d = p->depth;
	if (d < KPULSE_NET_RX_NEST)
		p->frame[d & (KPULSE_NET_RX_NEST - 1)] = *f;
	p->depth = d + 1; /* deeper than the stack: still paired, not counted */
}

static __always_inline int rx_pop(int ret)
{
	struct kpulse_net_rx_pending *p;
	__u32 zero = 0, d;

	p = bpf_map_lookup_elem(&net_rx_pending, &zero);
	if (!p || !p->depth)
		return 0; /* attached between an entry and its return */
	d = --p->depth;
	if (ret == NET_RX_SUCCESS && d < KPULSE_NET_RX_NEST)
		rx_count(&p->frame[d & (KPULSE_NET_RX_NEST - 1)]);
	return 0;
}

/* A tp_btf and raw_tp twin on the rx tracepoint @tp, sharing @handler. */
#define RX_HOOK(tp, handler)                                                                       \
	SEC("tp_btf/" #tp)                                                                         \
	int BPF_PROG(tp##_btf, struct sk_buff *skb)                                                \
	{                                                                                          \
		struct kpulse_net_rx_frame f;                                                      \
                                                                                                   \
		if (rx_frame_btf(skb, &f))                                                         \
			handler(&f);                                                               \
		return 0;                                                                          \
	}                                                                                          \
	SEC("raw_tp/" #tp)                                                                         \
	int BPF_PROG(tp##_raw, struct sk_buff *skb)                                                \
	{                                                                                          \
		struct kpulse_net_rx_frame f;                                                      \
                                                                                                   \
		if (rx_frame_raw(skb, &f))                                                         \
			handler(&f);                                                               \
		return 0;                                                                          \
	}

/* NAPI drivers, before GRO: every frame the driver counted. */
RX_HOOK(napi_gro_receive_entry, rx_count)
/* NAPI drivers that build the skb from page fragments: the frame is not pulled yet. */
RX_HOOK(napi_gro_frags_entry, rx_count)
/* Drivers (and the bridge, for its own device) that bypass GRO. */
RX_HOOK(netif_receive_skb_entry, rx_count)
RX_HOOK(netif_receive_skb_list_entry, rx_count)
/* Backlog drivers (lo, veth without NAPI): counted when netif_rx() returns success. */
RX_HOOK(netif_rx_entry, rx_push)

SEC("tp_btf/netif_rx_exit")
int BPF_PROG(netif_rx_exit_btf, int ret)
{
	return rx_pop(ret);
}

SEC("raw_tp/netif_rx_exit")
int BPF_PROG(netif_rx_exit_raw, int ret)
{
	return rx_pop(ret);
}

/* net_dev_xmit fires after the driver's ndo_start_xmit: only NETDEV_TX_OK was sent. */
SEC("tp_btf/net_dev_xmit")
int BPF_PROG(net_dev_xmit_btf, struct sk_buff *skb, int rc, struct net_device *dev,
	     unsigned int skb_len)
{
	struct kpulse_net_dev_key key;

	if (rc != NETDEV_TX_OK || !dev)
		return 0;
	key.netns = dev->nd_net.net->ns.inum;
	key.ifindex = dev->ifindex;
	key.dev_id = dev->dev.kobj.sd ? dev->dev.kobj.sd->id : 0;
	if ((dev->flags & IFF_LOOPBACK) && skb_len >= dev->hard_header_len)
		skb_len -= dev->hard_header_len;
	count_tx(&key, dev->name, skb_len);
	return 0;
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(net_dev_xmit_raw, struct sk_buff *skb, int rc, struct net_device *dev,
	     unsigned int skb_len)
{
	struct kpulse_net_dev_key key;

	if (rc != NETDEV_TX_OK || !dev)
		return 0;
	key.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	key.ifindex = BPF_CORE_READ(dev, ifindex);
	key.dev_id = BPF_CORE_READ(dev, dev.kobj.sd, id);
	if (BPF_CORE_READ(dev, flags) & IFF_LOOPBACK) {
		__u16 hlen = BPF_CORE_READ(dev, hard_header_len);

		if (skb_len >= hlen)
			skb_len -= hlen;
	}
	count_tx(&key, dev->name, skb_len);
	return 0;
}

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
	struct kpulse_net_cgroup *v, zero = {};
	__u64 id;

	if (ret <= 0)
		return 0;
	if (family != AF_INET && family != AF_INET6)
		return 0; /* unix sockets, netlink...: not network traffic */
	id = bpf_get_current_cgroup_id();
	v = bpf_map_lookup_elem(&net_cgroup, &id);
	if (!v) {
		bpf_map_update_elem(&net_cgroup, &id, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&net_cgroup, &id);
		if (!v)
			return 0;
	}
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
	struct kpulse_net_tcp *v, zero = {};

	v = bpf_map_lookup_elem(&net_tcp, &netns);
	if (v)
		return v;
	bpf_map_update_elem(&net_tcp, &netns, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&net_tcp, &netns);
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
 * Never attached to an event: with --collector.net.all-namespaces userspace reads this
 * iterator once per tick to learn which network namespaces still have tasks (a BPF
 * iterator sees every task, where /proc/<pid>/ns/net may be closed to kpulse), so the
 * devices of a namespace that is gone are dropped.
 */
SEC("iter/task")
int net_ns_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	__u32 inum;

	if (!task)
		return 0;
	inum = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	if (inum)
		bpf_seq_write(ctx->meta->seq, &inum, sizeof(inum));
	return 0;
}
