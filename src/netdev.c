// SPDX-License-Identifier: GPL-2.0
/* Network devices from rtnetlink, ethtool and /proc/<pid>/net/dev (see netdev.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include "netdev.h"
#include "procfs.h"

int netdev__open(void)
{
	/* A dump answers within microseconds; never let one hold a tick for long. */
	struct timeval timeout = {.tv_sec = 2};
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* sysfs's format of a hardware address (sysfs_format_mac: "%*phC", lowercase). */
static void format_addr(char *out, size_t len, const unsigned char *a, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, off = 0;

	/* Two per device and tick: by hand, not two snprintf calls per byte. */
	for (i = 0; i < n && off + 3 < len; i++) {
		if (i)
			out[off++] = ':';
		out[off++] = hex[a[i] >> 4];
		out[off++] = hex[a[i] & 15];
	}
	out[off] = '\0';
}

/* A string attribute: up to its first NUL, cut to @len - 1 bytes. */
static void copy_str(char *out, size_t len, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < len - 1 && s[i]; i++)
		out[i] = s[i];
	out[i] = '\0';
}

/*
 * RTA_NEXT and NLMSG_NEXT subtract the aligned length from the count of bytes left. With
 * an unsigned count, an unaligned length at the end of the message (rta_len 5 with 5 bytes
 * left) wrapped it to 4 GiB, so RTA_OK passed and the walk read on past the message and
 * its buffer, wherever the bytes beyond pointed (what fuzz/rtnl_link found; the kernel's
 * nla_ok() takes a signed count for this reason). These stop at zero instead.
 */
static const struct rtattr *rta_next(const struct rtattr *a, unsigned int *left)
{
	unsigned int step = RTA_ALIGN(a->rta_len);

	*left = step < *left ? *left - step : 0;
	return (const struct rtattr *)((const char *)a + step);
}

static const struct nlmsghdr *nlmsg_next(const struct nlmsghdr *h, unsigned int *left)
{
	unsigned int step = NLMSG_ALIGN(h->nlmsg_len);

	*left = step < *left ? *left - step : 0;
	return (const struct nlmsghdr *)((const char *)h + step);
}

static void from_stats64(struct netdev *d, const struct rtnl_link_stats64 *s)
{
	d->c[NETDEV_RX_BYTES] = s->rx_bytes;
	d->c[NETDEV_RX_PACKETS] = s->rx_packets;
	d->c[NETDEV_RX_ERRS] = s->rx_errors;
	d->c[NETDEV_RX_DROP] = s->rx_dropped + s->rx_missed_errors;
	d->c[NETDEV_RX_FIFO] = s->rx_fifo_errors;
	d->c[NETDEV_RX_FRAME] =
		s->rx_length_errors + s->rx_over_errors + s->rx_crc_errors + s->rx_frame_errors;
	d->c[NETDEV_RX_MULTICAST] = s->multicast;
	d->c[NETDEV_TX_BYTES] = s->tx_bytes;
	d->c[NETDEV_TX_PACKETS] = s->tx_packets;
	d->c[NETDEV_TX_ERRS] = s->tx_errors;
	d->c[NETDEV_TX_DROP] = s->tx_dropped;
	d->c[NETDEV_TX_FIFO] = s->tx_fifo_errors;
	d->c[NETDEV_TX_COLLS] = s->collisions;
	d->c[NETDEV_TX_CARRIER] = s->tx_carrier_errors + s->tx_aborted_errors +
				  s->tx_window_errors + s->tx_heartbeat_errors;
}

int netdev__parse_link(const void *msg, size_t len, struct netdev *d)
{
	const size_t hdr = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	const struct nlmsghdr *h = msg;
	const struct ifinfomsg *ifi;
	struct rtnl_link_stats64 s;
	const struct rtattr *a;
	bool stats = false;
	unsigned int alen;

	if (len < hdr || h->nlmsg_len < hdr || h->nlmsg_len > len || h->nlmsg_type != RTM_NEWLINK)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	ifi = NLMSG_DATA(h);
	d->has_info = true;
	d->ifindex = ifi->ifi_index;
	d->flags = ifi->ifi_flags;
	d->operstate = IF_OPER_UNKNOWN;
	alen = h->nlmsg_len - hdr; /* hdr is aligned: an ifinfomsg is 16 bytes */
	for (a = (const struct rtattr *)((const char *)ifi + NLMSG_ALIGN(sizeof(*ifi)));
	     RTA_OK(a, alen); a = rta_next(a, &alen)) {
		const void *p = RTA_DATA(a);
		size_t n = RTA_PAYLOAD(a);
		uint32_t u32;

		switch (a->rta_type) {
		case IFLA_IFNAME:
			copy_str(d->name, sizeof(d->name), p, n);
			break;
		case IFLA_MTU:
			if (n >= sizeof(u32)) {
				memcpy(&u32, p, sizeof(u32));
				d->mtu = u32;
			}
			break;
		case IFLA_OPERSTATE:
			if (n >= 1)
				d->operstate = *(const uint8_t *)p;
			break;
		case IFLA_CARRIER_CHANGES:
			if (n >= sizeof(u32))
				memcpy(&d->carrier_changes, p, sizeof(u32));
			break;
		case IFLA_ADDRESS:
			format_addr(d->address, sizeof(d->address), p, n);
			break;
		case IFLA_BROADCAST:
			format_addr(d->broadcast, sizeof(d->broadcast), p, n);
			break;
		case IFLA_IFALIAS:
			copy_str(d->ifalias, sizeof(d->ifalias), p, n);
			break;
		case IFLA_STATS64:
			/* Older kernels send fewer fields, newer ones more: take what both know. */
			memset(&s, 0, sizeof(s));
			memcpy(&s, p, n < sizeof(s) ? n : sizeof(s));
			stats = true;
			break;
		}
	}
	if (!d->name[0] || !stats)
		return -EINVAL;
	from_stats64(d, &s);
	return 0;
}

int netdev__parse_stats(const void *msg, size_t len, struct netdev *d)
{
	const size_t hdr = NLMSG_LENGTH(sizeof(struct if_stats_msg));
	const struct nlmsghdr *h = msg;
	const struct if_stats_msg *ifsm;
	struct rtnl_link_stats64 s;
	const struct rtattr *a;
	unsigned int alen;

	if (len < hdr || h->nlmsg_len < hdr || h->nlmsg_len > len || h->nlmsg_type != RTM_NEWSTATS)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	ifsm = NLMSG_DATA(h);
	d->ifindex = (int)ifsm->ifindex;
	alen = h->nlmsg_len - hdr; /* hdr is aligned: an if_stats_msg is 12 bytes, padded */
	for (a = (const struct rtattr *)((const char *)ifsm + NLMSG_ALIGN(sizeof(*ifsm)));
	     RTA_OK(a, alen); a = rta_next(a, &alen)) {
		size_t n = RTA_PAYLOAD(a);

		if (a->rta_type != IFLA_STATS_LINK_64)
			continue;
		memset(&s, 0, sizeof(s));
		memcpy(&s, RTA_DATA(a), n < sizeof(s) ? n : sizeof(s));
		from_stats64(d, &s);
		return d->ifindex > 0 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

/* Send the dump request @req and hand each answer to @parse, then @cb. */
static int dump(int fd, uint32_t *seq, struct nlmsghdr *req, void *buf, size_t buflen,
		int (*parse)(const void *msg, size_t len, struct netdev *d),
		int (*cb)(const struct netdev *d, void *ctx), void *ctx)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	bool intr = false;
	struct netdev d;
	int err;

	req->nlmsg_seq = ++*seq;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		struct iovec iov = {.iov_base = buf, .iov_len = buflen};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		const struct nlmsghdr *h;
		ssize_t n = recvmsg(fd, &mh, 0);
		unsigned int left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (!n)
			return -EPIPE;
		left = (unsigned int)n;
		for (h = buf; NLMSG_OK(h, left); h = nlmsg_next(h, &left)) {
			if (h->nlmsg_seq != *seq)
				continue; /* the tail of an earlier, abandoned dump */
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (h->nlmsg_type == NLMSG_DONE)
				return intr ? -EAGAIN : 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EIO;
				return e->error ? e->error : -EIO;
			}
			if (parse(h, h->nlmsg_len, &d))
				continue;
			err = cb(&d, ctx);
			if (err)
				return err;
		}
	}
}

int netdev__dump(int fd, uint32_t *seq, void *buf, size_t buflen,
		 int (*cb)(const struct netdev *d, void *ctx), void *ctx)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg ifi;
	} req = {
		.h.nlmsg_len = sizeof(req),
		.h.nlmsg_type = RTM_GETLINK,
		.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.ifi.ifi_family = AF_UNSPEC,
	};

	return dump(fd, seq, &req.h, buf, buflen, netdev__parse_link, cb, ctx);
}

int netdev__dump_stats(int fd, uint32_t *seq, void *buf, size_t buflen,
		       int (*cb)(const struct netdev *d, void *ctx), void *ctx)
{
	struct {
		struct nlmsghdr h;
		struct if_stats_msg st;
	} req = {
		.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct if_stats_msg)),
		.h.nlmsg_type = RTM_GETSTATS,
		.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.st.family = AF_UNSPEC,
		.st.filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64),
	};

	return dump(fd, seq, &req.h, buf, buflen, netdev__parse_stats, cb, ctx);
}

int netdev__watch_open(void)
{
	struct sockaddr_nl groups = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&groups, sizeof(groups))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int netdev__watch_changed(int fd, void *buf, size_t buflen)
{
	int changed = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, buflen, MSG_DONTWAIT);
		if (n > 0) {
			changed = 1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) /* messages were lost: something changed */
			changed = 1;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		else
			return changed;
	}
}

int netdev__link_settings(int fd, const char *name, int *speed, const char **duplex)
{
	struct {
		struct ethtool_link_settings req;
		__u32 masks[3 * 127]; /* supported, advertising, lp_advertising */
	} e;
	struct ifreq ifr;
	int try;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&e;
	memset(&e, 0, sizeof(e));
	/*
	 * The handshake of ETHTOOL_GLINKSETTINGS: asked with 0 mask words, the kernel answers
	 * with minus the number it uses; asked again with that number, it fills everything.
	 */
	for (try = 0; try < 2; try++) {
		e.req.cmd = ETHTOOL_GLINKSETTINGS;
		if (ioctl(fd, SIOCETHTOOL, &ifr))
			return -errno;
		if (e.req.link_mode_masks_nwords > 0)
			break;
		if (e.req.link_mode_masks_nwords == 0 || -e.req.link_mode_masks_nwords > 127)
			return -EOPNOTSUPP;
		e.req.link_mode_masks_nwords = -e.req.link_mode_masks_nwords;
	}
	if (e.req.link_mode_masks_nwords <= 0)
		return -EOPNOTSUPP;
	*speed = (int)e.req.speed; /* SPEED_UNKNOWN is (u32)-1, as sysfs prints it */
	*duplex = e.req.duplex == DUPLEX_FULL	? "full"
		  : e.req.duplex == DUPLEX_HALF ? "half"
						: "unknown";
	return 0;
}

const char *netdev__operstate_name(unsigned int operstate)
{
	/* net/core/net-sysfs.c operstates[], indexed by IF_OPER_* */
	static const char *const names[] = {
		"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up",
	};

	return operstate < sizeof(names) / sizeof(names[0]) ? names[operstate] : "unknown";
}

int netdev__parse_proc_line(const char *line, struct netdev *d)
{
	/* The 16 columns of dev_seq_printf_stats(); -1: compressed, not exported. */
	static const int column[16] = {
		NETDEV_RX_BYTES,
		NETDEV_RX_PACKETS,
		NETDEV_RX_ERRS,
		NETDEV_RX_DROP,
		NETDEV_RX_FIFO,
		NETDEV_RX_FRAME,
		-1,
		NETDEV_RX_MULTICAST,
		NETDEV_TX_BYTES,
		NETDEV_TX_PACKETS,
		NETDEV_TX_ERRS,
		NETDEV_TX_DROP,
		NETDEV_TX_FIFO,
		NETDEV_TX_COLLS,
		NETDEV_TX_CARRIER,
		-1,
	};
	const char *p = line, *name;
	size_t len, i;
	uint64_t v;

	while (*p == ' ')
		p++;
	name = p;
	/* A device name has no ':', '/' or blank (dev_valid_name()). */
	while (*p && *p != ':' && *p != ' ' && *p != '\n' && *p != '|')
		p++;
	len = p - name;
	if (*p != ':' || !len || len >= sizeof(d->name))
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	memcpy(d->name, name, len);
	p++;
	for (i = 0; i < 16; i++) {
		if (procfs__u64(&p, &v))
			return -EINVAL;
		if (column[i] >= 0)
			d->c[column[i]] = v;
	}
	while (*p == ' ')
		p++;
	return *p == '\n' || !*p ? 0 : -EINVAL;
}

int netdev__parse_proc(const char *buf, int (*cb)(const struct netdev *d, void *ctx), void *ctx,
		       unsigned int *bad)
{
	const char *line = buf;
	struct netdev d;
	int n, err;

	for (n = 0; line && *line; n++, line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (n < 2)
			continue; /* the two header lines */
		if (netdev__parse_proc_line(line, &d)) {
			(*bad)++;
			continue;
		}
		err = cb(&d, ctx);
		if (err)
			return err;
	}
	return 0;
}
