// SPDX-License-Identifier: GPL-2.0
/*
 * udp_loop [-d SECONDS] [-s SIZE] [-a ADDR] [-t TX_NETNS] [-r RX_NETNS]: one thread sends a
 * SIZE-byte datagram (default 64) and receives it, again and again: every packet crosses
 * the whole stack twice (send, then the receive softirq and recvmsg) on this CPU.
 * Default: both sockets on 127.0.0.1, in this network namespace. -t and -r (names under
 * /run/netns, or paths) make the sender or the receiver (bound to ADDR) in another one,
 * so that the datagrams cross the veth pair joining the two.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "loop.h"

static const char usage[] =
	"usage: udp_loop [-d SECONDS] [-s SIZE] [-a ADDR] [-t TX_NETNS] [-r RX_NETNS]\n";

static void die(const char *what)
{
	fprintf(stderr, "udp_loop: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Enter network namespace @ns: a name under /run/netns, or a path. */
static void enter_netns(const char *ns)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s%s", strchr(ns, '/') ? "" : "/run/netns/", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die(path);
	close(fd);
}

/* A UDP socket made in @ns (NULL: this namespace); sockets keep the namespace they were
 * made in, so one thread can drive both ends. */
static int socket_in(const char *ns, int home)
{
	int s;

	if (ns)
		enter_netns(ns);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket");
	if (ns && setns(home, CLONE_NEWNET))
		die("setns back");
	return s;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *tx_ns = NULL, *rx_ns = NULL;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct timeval timeout = {.tv_sec = 2};
	socklen_t len = sizeof(sin);
	double seconds = 1, t0, dt;
	char buf[65536] = {0};
	unsigned long n = 0;
	int size = 64, opt, home, rx, tx;

	while ((opt = getopt(argc, argv, "d:s:a:t:r:")) != -1) {
		switch (opt) {
		case 'd':
			seconds = loop__seconds(optarg, usage);
			break;
		case 's':
			size = atoi(optarg);
			break;
		case 'a':
			addr = optarg;
			break;
		case 't':
			tx_ns = optarg;
			break;
		case 'r':
			rx_ns = optarg;
			break;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	if (optind != argc || size < 1 || size > (int)sizeof(buf) ||
	    inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		die("/proc/self/ns/net");

	/* Receiver bound to ADDR on a free port; the sender connected to it. */
	rx = socket_in(rx_ns, home);
	if (bind(rx, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(rx, (struct sockaddr *)&sin, &len))
		die("bind the receiver");
	/* A lost datagram is an error here, not a hang. */
	if (setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)))
		die("SO_RCVTIMEO");
	tx = socket_in(tx_ns, home);
	if (connect(tx, (struct sockaddr *)&sin, sizeof(sin)))
		die("connect the sender");

	t0 = loop__now();
	for (; loop__running(n, t0 + seconds); n++) {
		if (send(tx, buf, size, 0) != size)
			die("send");
		if (recv(rx, buf, sizeof(buf), 0) != size)
			die("recv (datagram lost or cut)");
	}
	dt = loop__now() - t0;
	loop__report("udp_loop", n, "datagrams sent and received", dt, n / dt, "datagrams");
	return 0;
}
