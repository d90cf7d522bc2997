// SPDX-License-Identifier: GPL-2.0
/*
 * The device sources of the net collector: RTM_NEWLINK messages built here as the kernel
 * lays them out, /proc/<pid>/net/dev lines and a captured file (tests/fixtures/proc/net/dev).
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "harness.h"
#include "netdev.h"
#include "procfs.h"

/* A message under construction: header, ifinfomsg, attributes. */
static union {
	struct nlmsghdr h;
	char raw[4096];
} msg;

static void msg_new(int ifindex, unsigned int flags)
{
	struct ifinfomsg *ifi;

	memset(&msg, 0, sizeof(msg));
	msg.h.nlmsg_type = RTM_NEWLINK;
	msg.h.nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	ifi = NLMSG_DATA(&msg.h);
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
}

static void attr(unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(msg.raw + NLMSG_ALIGN(msg.h.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	msg.h.nlmsg_len = NLMSG_ALIGN(msg.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void attr_u32(unsigned short type, uint32_t v)
{
	attr(type, &v, sizeof(v));
}

/* Every field a different power-of-two-ish value, so each sum is checkable. */
static struct rtnl_link_stats64 stats(void)
{
	uint64_t f[sizeof(struct rtnl_link_stats64) / sizeof(uint64_t)];
	struct rtnl_link_stats64 s;

	for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++)
		f[i] = 1000 + i;
	memcpy(&s, f, sizeof(s));
	return s;
}

TEST(link_message)
{
	struct rtnl_link_stats64 s = stats();
	const unsigned char mac[6] = {0x02, 0xfc, 0, 0, 0xab, 0x01},
			    bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t oper = IF_OPER_UP;
	struct netdev d;

	msg_new(7, IFF_UP | IFF_RUNNING);
	attr(IFLA_IFNAME, "eth0", 5);
	attr_u32(IFLA_MTU, 1500);
	attr(IFLA_OPERSTATE, &oper, 1);
	attr_u32(IFLA_CARRIER_CHANGES, 3);
	attr(IFLA_ADDRESS, mac, sizeof(mac));
	attr(IFLA_BROADCAST, bc, sizeof(bc));
	attr(IFLA_IFALIAS, "uplink \"a\"", 11);
	attr(IFLA_STATS64, &s, sizeof(s));
	CHECK_INT(netdev__parse_link(&msg, msg.h.nlmsg_len, &d), 0);
	CHECK_STR(d.name, "eth0");
	CHECK(d.has_info);
	CHECK_INT(d.ifindex, 7);
	CHECK_INT(d.flags, IFF_UP | IFF_RUNNING);
	CHECK_INT(d.mtu, 1500);
	CHECK_INT(d.operstate, IF_OPER_UP);
	CHECK_INT(d.carrier_changes, 3);
	CHECK_STR(d.address, "02:fc:00:00:ab:01");
	CHECK_STR(d.broadcast, "ff:ff:ff:ff:ff:ff");
	CHECK_STR(d.ifalias, "uplink \"a\"");
	/* /proc/net/dev's sums (net/core/net-procfs.c) of struct rtnl_link_stats64 fields */
	CHECK_INT(d.c[NETDEV_RX_PACKETS], s.rx_packets);
	CHECK_INT(d.c[NETDEV_TX_PACKETS], s.tx_packets);
	CHECK_INT(d.c[NETDEV_RX_BYTES], s.rx_bytes);
	CHECK_INT(d.c[NETDEV_TX_BYTES], s.tx_bytes);
	CHECK_INT(d.c[NETDEV_RX_ERRS], s.rx_errors);
	CHECK_INT(d.c[NETDEV_TX_ERRS], s.tx_errors);
	CHECK_INT(d.c[NETDEV_RX_DROP], s.rx_dropped + s.rx_missed_errors);
	CHECK_INT(d.c[NETDEV_TX_DROP], s.tx_dropped);
	CHECK_INT(d.c[NETDEV_RX_MULTICAST], s.multicast);
	CHECK_INT(d.c[NETDEV_TX_COLLS], s.collisions);
	CHECK_INT(d.c[NETDEV_RX_FRAME],
		  s.rx_length_errors + s.rx_over_errors + s.rx_crc_errors + s.rx_frame_errors);
	CHECK_INT(d.c[NETDEV_RX_FIFO], s.rx_fifo_errors);
	CHECK_INT(d.c[NETDEV_TX_FIFO], s.tx_fifo_errors);
	CHECK_INT(d.c[NETDEV_TX_CARRIER], s.tx_carrier_errors + s.tx_aborted_errors +
						  s.tx_window_errors + s.tx_heartbeat_errors);
}

TEST(link_message_edges)
{
	struct rtnl_link_stats64 s = stats();
	unsigned char addr[40];
	struct netdev d;
	size_t len;

	/* No address (tun), a name without NUL longer than IFNAMSIZ, 23-field stats. */
	msg_new(1, 0);
	attr(IFLA_IFNAME, "abcdefghijklmnopqrst", 20);
	attr(IFLA_STATS64, &s, 23 * sizeof(uint64_t));
	CHECK_INT(netdev__parse_link(&msg, msg.h.nlmsg_len, &d), 0);
	CHECK_STR(d.name, "abcdefghijklmno");
	CHECK_STR(d.address, "");
	CHECK_STR(d.ifalias, "");
	CHECK_INT(d.operstate, IF_OPER_UNKNOWN);
	CHECK_INT(d.c[NETDEV_TX_BYTES], s.tx_bytes);
	CHECK_INT(d.c[NETDEV_TX_COLLS], s.collisions);

	/* The longest hardware address (32 bytes) fits; a longer one is cut, never overflows. */
	memset(addr, 0xab, sizeof(addr));
	msg_new(1, 0);
	attr(IFLA_IFNAME, "ib0", 4);
	attr(IFLA_ADDRESS, addr, sizeof(addr));
	attr(IFLA_STATS64, &s, sizeof(s));
	CHECK_INT(netdev__parse_link(&msg, msg.h.nlmsg_len, &d), 0);
	CHECK_INT(strlen(d.address), 32 * 3 - 1); /* 32 bytes shown */

	/* Without statistics or without a name: not a device we can count. */
	msg_new(1, 0);
	attr(IFLA_IFNAME, "x", 2);
	CHECK_INT(netdev__parse_link(&msg, msg.h.nlmsg_len, &d), -EINVAL);
	msg_new(1, 0);
	attr(IFLA_STATS64, &s, sizeof(s));
	CHECK_INT(netdev__parse_link(&msg, msg.h.nlmsg_len, &d), -EINVAL);

	/* Truncated: the message says more than was received, or an attribute overruns. */
	msg_new(1, 0);
	attr(IFLA_IFNAME, "x", 2);
	attr(IFLA_STATS64, &s, sizeof(s));
	len = msg.h.nlmsg_len;
	CHECK_INT(netdev__parse_link(&msg, len - 1, &d), -EINVAL);
	msg.h.nlmsg_len -= 8; /* the stats attribute now runs past the message */
	CHECK_INT(netdev__parse_link(&msg, len, &d), -EINVAL);
	CHECK_INT(netdev__parse_link(&msg, 8, &d), -EINVAL);
	msg_new(1, 0);
	msg.h.nlmsg_type = RTM_DELLINK;
	CHECK_INT(netdev__parse_link(&msg, msg.h.nlmsg_len, &d), -EINVAL);
}

/*
 * The message ends in an attribute whose rta_len is not a multiple of 4: RTA_NEXT takes the
 * remaining length below zero and the walk must stop there, never read what follows the
 * message. tests/fixtures/rtnl/link-unaligned-tail is the input fuzz/rtnl_link found (the
 * walk went on past the buffer: heap-buffer-overflow, or heap-use-after-free where it
 * landed in a freed block); it is parsed from a heap copy of its exact size, so the ASan
 * build sees any byte read beyond it.
 */
TEST(link_message_unaligned_tail)
{
	struct rtnl_link_stats64 s = stats();
	struct rtattr *trap;
	struct netdev d;
	size_t end, len;
	void *copy;
	FILE *f;

	msg_new(4, 0);
	attr(IFLA_IFNAME, "a", 2);
	attr(IFLA_STATS64, &s, sizeof(s));
	attr_u32(IFLA_MTU, 9000);
	/* The MTU attribute claims 5 bytes: the message ends 3 bytes before its aligned end. */
	end = msg.h.nlmsg_len;
	((struct rtattr *)(msg.raw + end - RTA_LENGTH(4)))->rta_len = RTA_LENGTH(1);
	msg.h.nlmsg_len = end - 3;
	/* Past the message, in the same buffer: a name the walk must never reach. */
	trap = (struct rtattr *)(msg.raw + end);
	trap->rta_type = IFLA_IFNAME;
	trap->rta_len = RTA_LENGTH(5);
	memcpy(RTA_DATA(trap), "trap", 5);
	CHECK_INT(netdev__parse_link(&msg, end + RTA_ALIGN(trap->rta_len), &d), 0);
	CHECK_STR(d.name, "a");
	CHECK_INT(d.mtu, 0); /* one byte is too short for a u32: ignored */
	CHECK_INT(d.c[NETDEV_RX_BYTES], s.rx_bytes);

	/* Binary: read as it is (procfs__read is for text and drops a cut last line). */
	f = fopen("tests/fixtures/rtnl/link-unaligned-tail", "rb");
	CHECK(f);
	if (!f)
		return;
	copy = malloc(2048);
	CHECK(copy);
	len = fread(copy, 1, 2048, f);
	fclose(f);
	CHECK_INT(len, 1483);
	copy = realloc(copy, len); /* exactly the message: a byte more would hide an overrun */
	CHECK(copy);
	CHECK_INT(netdev__parse_link(copy, len, &d), 0);
	/* Attributes the fuzzer repeated: the last one counts, as in every netlink parser. */
	CHECK_STR(d.name, "veth0");
	CHECK_INT(d.mtu, 1500);
	CHECK_STR(d.ifalias, "an \"alias\"");
	CHECK_STR(d.address, "66:e0:2b:ff:ff:ff");
	CHECK_INT(d.c[NETDEV_RX_PACKETS], 0x820000);
	free(copy);
}

/*
 * An RTM_NEWSTATS answer (IFLA_STATS_LINK_64 among other attributes): the ifindex and the
 * same counters as the link message's IFLA_STATS64 gives; one without them is refused.
 */
TEST(stats_message)
{
	struct rtnl_link_stats64 s = stats();
	struct netdev d, l;
	struct if_stats_msg *ifsm;

	memset(&msg, 0, sizeof(msg));
	msg.h.nlmsg_type = RTM_NEWSTATS;
	msg.h.nlmsg_len = NLMSG_LENGTH(sizeof(*ifsm));
	ifsm = NLMSG_DATA(&msg.h);
	ifsm->ifindex = 7;
	attr_u32(IFLA_STATS_AF_SPEC, 1); /* another attribute first: skipped */
	attr(IFLA_STATS_LINK_64, &s, sizeof(s));
	CHECK_INT(netdev__parse_stats(&msg, msg.h.nlmsg_len, &d), 0);
	CHECK_INT(d.ifindex, 7);
	CHECK(!d.has_info && !d.name[0]);
	msg_new(7, 0);
	attr(IFLA_IFNAME, "eth0", 5);
	attr(IFLA_STATS64, &s, sizeof(s));
	CHECK_INT(netdev__parse_link(&msg, msg.h.nlmsg_len, &l), 0);
	CHECK(!memcmp(d.c, l.c, sizeof(d.c)));
	CHECK_INT(d.c[NETDEV_RX_BYTES], s.rx_bytes);
	CHECK_INT(d.c[NETDEV_TX_CARRIER], s.tx_carrier_errors + s.tx_aborted_errors +
						  s.tx_window_errors + s.tx_heartbeat_errors);

	/* No counters, or a link message: not a stats answer. */
	memset(&msg, 0, sizeof(msg));
	msg.h.nlmsg_type = RTM_NEWSTATS;
	msg.h.nlmsg_len = NLMSG_LENGTH(sizeof(*ifsm));
	((struct if_stats_msg *)NLMSG_DATA(&msg.h))->ifindex = 7;
	CHECK_INT(netdev__parse_stats(&msg, msg.h.nlmsg_len, &d), -EINVAL);
	msg_new(7, 0);
	attr(IFLA_STATS64, &s, sizeof(s));
	CHECK_INT(netdev__parse_stats(&msg, msg.h.nlmsg_len, &d), -EINVAL);
	CHECK_INT(netdev__parse_stats(&msg, 4, &d), -EINVAL);
}

TEST(operstate_names)
{
	CHECK_STR(netdev__operstate_name(IF_OPER_UP), "up");
	CHECK_STR(netdev__operstate_name(IF_OPER_DOWN), "down");
	CHECK_STR(netdev__operstate_name(IF_OPER_LOWERLAYERDOWN), "lowerlayerdown");
	CHECK_STR(netdev__operstate_name(IF_OPER_DORMANT), "dormant");
	CHECK_STR(netdev__operstate_name(IF_OPER_UNKNOWN), "unknown");
	CHECK_STR(netdev__operstate_name(200), "unknown");
}

static struct netdev seen[8];
static int nseen;

static int collect(const struct netdev *d, void *ctx)
{
	if (nseen < 8)
		seen[nseen++] = *d;
	return 0;
}

TEST(proc_net_dev)
{
	struct procfs_buf b = {};
	unsigned int bad = 0;

	CHECK_INT(procfs__read("tests/fixtures/proc", "net/dev", &b), 0);
	nseen = 0;
	CHECK_INT(netdev__parse_proc(b.data, collect, NULL, &bad), 0);
	CHECK_INT(bad, 3); /* too few columns, too many, no colon */
	CHECK_INT(nseen, 4);
	CHECK_STR(seen[0].name, "lo");
	CHECK_INT(seen[0].c[NETDEV_RX_BYTES], 1276462987);
	CHECK(!seen[0].has_info);
	CHECK_STR(seen[1].name, "eth0");
	CHECK_INT(seen[1].c[NETDEV_RX_BYTES], 211412751);
	CHECK_INT(seen[1].c[NETDEV_RX_PACKETS], 5326);
	CHECK_INT(seen[1].c[NETDEV_RX_ERRS], 1);
	CHECK_INT(seen[1].c[NETDEV_RX_DROP], 2);
	CHECK_INT(seen[1].c[NETDEV_RX_FIFO], 3);
	CHECK_INT(seen[1].c[NETDEV_RX_FRAME], 4);
	CHECK_INT(seen[1].c[NETDEV_RX_MULTICAST], 6); /* after "compressed" */
	CHECK_INT(seen[1].c[NETDEV_TX_BYTES], 185338);
	CHECK_INT(seen[1].c[NETDEV_TX_PACKETS], 2648);
	CHECK_INT(seen[1].c[NETDEV_TX_ERRS], 7);
	CHECK_INT(seen[1].c[NETDEV_TX_DROP], 8);
	CHECK_INT(seen[1].c[NETDEV_TX_FIFO], 9);
	CHECK_INT(seen[1].c[NETDEV_TX_COLLS], 10);
	CHECK_INT(seen[1].c[NETDEV_TX_CARRIER], 11);
	/* 15 characters, no blank before the colon; a counter at 2^64 - 1 */
	CHECK_STR(seen[2].name, "veth0123456789a");
	CHECK(seen[2].c[NETDEV_RX_BYTES] == UINT64_MAX);
	CHECK_STR(seen[3].name, "tun0");
	CHECK_INT(seen[3].c[NETDEV_RX_DROP], 100);
	procfs__buf_free(&b);
}

TEST(proc_net_dev_lines)
{
	static const char *const bad[] = {
		"",
		"\n",
		"Inter-|   Receive                                                |  Transmit",
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes",
		"  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
		"  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x",
		"  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -16",
		"  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18446744073709551616",
		"  : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
		"  veth0123456789ab: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
	};
	struct netdev d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = netdev__parse_proc_line(bad[i], &d);

		if (err != -EINVAL)
			printf("  case %zu: \"%s\"\n", i, bad[i]);
		CHECK_INT(err, -EINVAL);
	}
	CHECK_INT(netdev__parse_proc_line("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &d), 0);
	CHECK_INT(d.c[NETDEV_TX_CARRIER], 15);
	CHECK_INT(netdev__parse_proc_line("  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16  \n", &d),
		  0);
}

int main(void)
{
	h_suite = "netdev";
	RUN(link_message);
	RUN(link_message_edges);
	RUN(link_message_unaligned_tail);
	RUN(stats_message);
	RUN(operstate_names);
	RUN(proc_net_dev);
	RUN(proc_net_dev_lines);
	return DONE();
}
