// SPDX-License-Identifier: GPL-2.0
/*
 * paced MODE ...: a load at a known, steady rate, so a test can hold a published rate
 * against it. Deadlines are absolute on CLOCK_MONOTONIC, so a late wake-up catches up
 * instead of drifting. Prints "started" once it runs; runs until killed.
 *   udp ADDR PORT RATE  RATE datagrams of 64 B per second to ADDR:PORT, owed each 1 ms
 *   open RATE           RATE open("/dev/null") + close pairs per second, owed each 1 ms
 *   spin DUTY NAME      named NAME (comm), on a CPU for DUTY (0..1) of every 10 ms, by
 *                       its own CPU time: its share of one CPU is DUTY whatever else runs
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_until(unsigned long long ns)
{
	struct timespec next = {.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL))
		;
}

static int usage(void)
{
	fprintf(stderr, "usage: paced udp ADDR PORT RATE [COUNT] | paced open RATE [COUNT] | "
			"paced spin DUTY NAME\n");
	return 2;
}

/* The shared progress counter in @path (created, 8 bytes), or a private one. */
static volatile unsigned long long *counter(const char *path)
{
	static unsigned long long none;
	void *p;
	int fd;

	if (!path)
		return &none;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, sizeof(none))) {
		perror("paced: count file");
		exit(1);
	}
	p = mmap(NULL, sizeof(none), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("paced: mmap count file");
		exit(1);
	}
	close(fd);
	return p;
}

static void __attribute__((noreturn)) spin(double duty, const char *name)
{
	const unsigned long long period = 10000000;
	unsigned long long start = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);

	prctl(PR_SET_NAME, name);
	printf("started\n");
	fflush(stdout);
	for (unsigned long long k = 1;; k++) {
		/* CPU time owed by the end of period k, then sleep to its end. */
		while (now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0 <
		       (unsigned long long)(k * period * duty))
			;
		sleep_until(start + k * period);
	}
}

int main(int argc, char **argv)
{
	unsigned long long start, done = 0, owed, step = 1000000;
	volatile unsigned long long *count;
	struct sockaddr_in dst = {.sin_family = AF_INET};
	char payload[64] = {0};
	int udp, s = -1;
	double rate;

	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "spin") && argc == 4)
		spin(strtod(argv[2], NULL), argv[3]);
	udp = !strcmp(argv[1], "udp");
	if ((udp && argc != 5 && argc != 6) || (!udp && (strcmp(argv[1], "open") || argc > 4)))
		return usage();
	rate = strtod(argv[udp ? 4 : 2], NULL);
	count = counter(argc == (udp ? 6 : 4) ? argv[argc - 1] : NULL);
	if (udp) {
		dst.sin_port = htons(atoi(argv[3]));
		s = socket(AF_INET, SOCK_DGRAM, 0);
		if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1 || s < 0 ||
		    connect(s, (struct sockaddr *)&dst, sizeof(dst))) {
			perror("paced: udp socket");
			return 1;
		}
	}
	printf("started\n");
	fflush(stdout);
	start = now_ns(CLOCK_MONOTONIC);
	for (unsigned long long k = 1;; k++) {
		owed = (unsigned long long)((now_ns(CLOCK_MONOTONIC) - start) * rate / 1e9);
		for (; done < owed; done++) {
			if (udp) {
				/* A full socket buffer or an ICMP error is the receiver's business.
				 */
				send(s, payload, sizeof(payload), 0);
			} else {
				int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

				if (fd < 0) {
					perror("paced: open /dev/null");
					return 1;
				}
				close(fd);
			}
		}
		*count = done;
		sleep_until(start + k * step);
	}
}
