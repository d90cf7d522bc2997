/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/net.bpf.c and src/net.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_NET_H
#define KPULSE_NET_H

/* Most TCP ports --port.watch can follow (rodata array scanned on LISTEN transitions). */
#define KPULSE_NET_MAX_PORTS 16

/* Bytes sent and received by the tasks of one cgroup v2 (net_cgroup, key: cgroup id). */
struct kpulse_net_cgroup {
	__u64 tx_bytes; /* payload accepted by sendmsg on AF_INET/AF_INET6 sockets */
	__u64 rx_bytes; /* payload returned by recvmsg on AF_INET/AF_INET6 sockets */
};

/* TCP events in one network namespace (net_tcp, key: netns inode number). */
struct kpulse_net_tcp {
	__u64 retransmits; /* tcp_retransmit_skb */
	__u64 resets_sent; /* tcp_send_reset */
};

/*
 * One record of the net_ns_iter task iterator: a task in a network namespace other than
 * kpulse's, so userspace can read that namespace's devices from /proc/<tid>/net/dev.
 */
struct kpulse_net_ns_task {
	__u32 netns; /* inode number of the task's network namespace */
	__u32 tid;   /* the task's id in the initial PID namespace */
};

#endif /* KPULSE_NET_H */
