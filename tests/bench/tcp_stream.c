// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_stream [-d SECONDS | -b BYTES] [-s WRITE_SIZE]: a TCP stream over loopback. The
 * parent writes WRITE_SIZE-byte chunks (default 4096) for SECONDS (default 1) or until
 * exactly BYTES are sent; a child reads 64 KiB at a time and discards. Both run where the
 * caller's CPU affinity puts them (taskset -c N: one CPU, as in the bench). Prints the
 * bytes sent and received and the rate once the receiver has read everything.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "loop.h"

static const char usage[] = "usage: tcp_stream [-d SECONDS | -b BYTES] [-s WRITE_SIZE]\n";

static void die(const char *what)
{
	fprintf(stderr, "tcp_stream: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The receiver: read until EOF, then tell the parent how much arrived. */
static void receive(const struct sockaddr_in *sin, int report)
{
	static char buf[65536];
	unsigned long long got = 0;
	ssize_t r;
	int s;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (const struct sockaddr *)sin, sizeof(*sin)))
		die("connect");
	while ((r = read(s, buf, sizeof(buf))) > 0)
		got += r;
	if (r < 0)
		die("read");
	if (write(report, &got, sizeof(got)) != sizeof(got))
		die("report");
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	unsigned long long limit = 0, sent = 0, got = 0;
	socklen_t len = sizeof(sin);
	double seconds = 1, t0, dt;
	unsigned long writes = 0;
	int size = 4096, opt, lst, s, p[2];
	static char buf[1 << 20];
	pid_t child;

	while ((opt = getopt(argc, argv, "d:b:s:")) != -1) {
		switch (opt) {
		case 'd':
			seconds = loop__seconds(optarg, usage);
			break;
		case 'b':
			limit = strtoull(optarg, NULL, 10);
			break;
		case 's':
			size = atoi(optarg);
			break;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	if (optind != argc || size < 1 || size > (int)sizeof(buf)) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lst < 0 || bind(lst, (struct sockaddr *)&sin, sizeof(sin)) || listen(lst, 1) ||
	    getsockname(lst, (struct sockaddr *)&sin, &len) || pipe(p))
		die("listen on 127.0.0.1");
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		close(lst);
		close(p[0]);
		receive(&sin, p[1]);
	}
	close(p[1]);
	s = accept(lst, NULL, NULL);
	if (s < 0)
		die("accept");

	t0 = loop__now();
	while (limit ? sent < limit : loop__running(writes, t0 + seconds)) {
		unsigned long long want = size;
		ssize_t w;

		if (limit && limit - sent < want)
			want = limit - sent;
		w = write(s, buf, want);
		if (w < 0)
			die("write");
		sent += w;
		writes++;
	}
	/* The rate counts what the receiver has read, so wait for it. */
	shutdown(s, SHUT_WR);
	if (read(p[0], &got, sizeof(got)) != sizeof(got))
		die("receiver report");
	dt = loop__now() - t0;
	waitpid(child, NULL, 0);
	printf("tcp_stream: sent %llu B in %lu writes of up to %d B, received %llu B\n", sent,
	       writes, size, got);
	loop__report("tcp_stream", writes, "writes", dt, got / dt / 1e6, "MB");
	return got == sent ? 0 : 1;
}
