/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/net.bpf.c and src/net.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_NET_H
#define KPULSE_NET_H

#define KPULSE_IFNAMSIZ 16
/* Most TCP ports --port.watch can follow (rodata array scanned on LISTEN transitions). */
#define KPULSE_NET_MAX_PORTS 16

/*
 * One network device (net_dev, a per-CPU hash). ifindex repeats across namespaces and is
 * reused inside one (`ip link add ... index N`), so the key also carries the id of the
 * device's sysfs (kernfs) directory, which is unique per registration: a re-created
 * device is a new entry and never inherits the old one's counters.
 */
struct kpulse_net_dev_key {
	__u32 netns; /* inode number of the device's network namespace */
	__u32 ifindex;
	__u64 dev_id; /* kernfs id of /sys/class/net/<dev>: inode number (gen << 32 | ino) */
};

struct kpulse_net_dev {
	__u64 rx_bytes; /* frames as the driver counts them: MAC header included */
	__u64 rx_packets;
	__u64 tx_bytes; /* only frames the driver accepted (NETDEV_TX_OK) */
	__u64 tx_packets;
	char name[KPULSE_IFNAMSIZ]; /* set once, by the CPU that created the entry */
};

/*
 * A frame handed to netif_rx() (net_rx_pending, per CPU): counted when netif_rx() returns
 * NET_RX_SUCCESS, as lo and veth count it. A hard interrupt may call netif_rx() inside
 * another one on the same CPU, hence a small stack.
 */
#define KPULSE_NET_RX_NEST 4

struct kpulse_net_rx_frame {
	struct kpulse_net_dev_key key;
	__u64 bytes;
	__u64 name; /* kernel address of dev->name, read only if the entry must be created */
};

struct kpulse_net_rx_pending {
	__u32 depth; /* netif_rx() calls entered and not yet returned on this CPU */
	__u32 pad;
	struct kpulse_net_rx_frame frame[KPULSE_NET_RX_NEST];
};

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

#endif /* KPULSE_NET_H */
