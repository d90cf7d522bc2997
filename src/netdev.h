/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network devices as the kernel counts them: one rtnetlink RTM_GETLINK dump (the driver's
 * own statistics, IFLA_STATS64, what /sys/class/net/<dev>/statistics reads), the ethtool
 * link settings (speed, duplex), and /proc/<pid>/net/dev for another task's namespace.
 * No privileges needed: the dump and ETHTOOL_GLINKSETTINGS are open to every user.
 */
#ifndef KPULSE_NETDEV_H
#define KPULSE_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETDEV_NAME_LEN 16 /* IFNAMSIZ */
/* "aa:bb:..." of a hardware address of up to MAX_ADDR_LEN (32) bytes. */
#define NETDEV_ADDR_LEN (32 * 3)
#define NETDEV_ALIAS_LEN 256 /* IFALIASZ */

/*
 * A device's counters with /proc/net/dev's (and node_exporter's) definitions, each a sum
 * of struct rtnl_link_stats64 fields (net/core/net-procfs.c, dev_seq_printf_stats).
 */
enum netdev_counter {
	NETDEV_RX_BYTES,
	NETDEV_RX_PACKETS,
	NETDEV_RX_ERRS,	 /* rx_errors */
	NETDEV_RX_DROP,	 /* rx_dropped + rx_missed_errors */
	NETDEV_RX_FIFO,	 /* rx_fifo_errors */
	NETDEV_RX_FRAME, /* rx_length_errors + rx_over_errors + rx_crc_errors + rx_frame_errors */
	NETDEV_RX_MULTICAST, /* multicast */
	NETDEV_TX_BYTES,
	NETDEV_TX_PACKETS,
	NETDEV_TX_ERRS,	   /* tx_errors */
	NETDEV_TX_DROP,	   /* tx_dropped */
	NETDEV_TX_FIFO,	   /* tx_fifo_errors */
	NETDEV_TX_COLLS,   /* collisions */
	NETDEV_TX_CARRIER, /* tx_carrier_errors + tx_aborted + tx_window + tx_heartbeat errors */
	NETDEV_NCOUNTERS,
};

struct netdev {
	char name[NETDEV_NAME_LEN];
	uint64_t c[NETDEV_NCOUNTERS];
	/* The rest comes from rtnetlink only (has_info); /proc/<pid>/net/dev has counters. */
	bool has_info;
	int ifindex;
	unsigned int flags; /* IFF_* */
	unsigned int mtu;
	unsigned int operstate; /* IF_OPER_*, as sysfs reports it (down when not running) */
	uint32_t carrier_changes;
	char address[NETDEV_ADDR_LEN];	 /* "" when the device has none (sysfs: empty too) */
	char broadcast[NETDEV_ADDR_LEN]; /* the same */
	char ifalias[NETDEV_ALIAS_LEN];
};

/* A NETLINK_ROUTE socket of the calling thread's network namespace; its fd or -errno. */
int netdev__open(void);
/*
 * Dump every device of @fd's namespace into @cb, using @buf (at least 32 KiB) for the
 * answers; *@seq is the socket's sequence counter. -EAGAIN if the device list changed
 * during the dump (NLM_F_DUMP_INTR: a device may be missing or twice): dump again.
 */
int netdev__dump(int fd, uint32_t *seq, void *buf, size_t buflen,
		 int (*cb)(const struct netdev *d, void *ctx), void *ctx);
/*
 * The counters alone: one RTM_GETSTATS dump (IFLA_STATS_LINK_64, the same dev_get_stats()
 * as RTM_GETLINK's IFLA_STATS64 and sysfs), a fifth of RTM_GETLINK's bytes and CPU here.
 * @cb gets each device's ifindex and counters (name and the rest left empty).
 */
int netdev__dump_stats(int fd, uint32_t *seq, void *buf, size_t buflen,
		       int (*cb)(const struct netdev *d, void *ctx), void *ctx);
/* Parse one RTM_NEWSTATS message into @d's ifindex and counters; -EINVAL if malformed. */
int netdev__parse_stats(const void *msg, size_t len, struct netdev *d);
/*
 * A NETLINK_ROUTE socket subscribed to link changes (RTMGRP_LINK: a device added, removed,
 * renamed, its flags, state, carrier, MTU, addresses or alias changed); its fd or -errno.
 * Counters change without a message.
 */
int netdev__watch_open(void);
/*
 * Read every message @fd has queued: 1 if there was any (or some were lost, ENOBUFS), 0
 * if none, -errno on failure. Never blocks.
 */
int netdev__watch_changed(int fd, void *buf, size_t buflen);
/* Parse one RTM_NEWLINK message of @len bytes (header included); -EINVAL if malformed. */
int netdev__parse_link(const void *msg, size_t len, struct netdev *d);
/*
 * Link speed (Mb/s, -1 when the driver does not know) and duplex ("full", "half",
 * "unknown") through ETHTOOL_GLINKSETTINGS on any socket @fd of the device's namespace;
 * -EOPNOTSUPP when the driver has no link settings (lo, ifb), as sysfs then answers EINVAL.
 */
int netdev__link_settings(int fd, const char *name, int *speed, const char **duplex);
/* sysfs's name of an IF_OPER_* state ("up", "down", ...; "unknown" for anything else). */
const char *netdev__operstate_name(unsigned int operstate);
/* Parse one device line of /proc/<pid>/net/dev; -EINVAL for headers and malformed lines. */
int netdev__parse_proc_line(const char *line, struct netdev *d);
/*
 * Every device line of a whole /proc/<pid>/net/dev in @buf into @cb; *@bad counts
 * malformed lines. Stops at the first error @cb returns.
 */
int netdev__parse_proc(const char *buf, int (*cb)(const struct netdev *d, void *ctx), void *ctx,
		       unsigned int *bad);

#endif /* KPULSE_NETDEV_H */
