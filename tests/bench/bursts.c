// SPDX-License-Identifier: GPL-2.0
/*
 * bursts [-d SECONDS] -w WORK_US -s SLEEP_US: short bursts of work with sleeps between,
 * as a timer-driven daemon runs: spin WORK_US microseconds, sleep SLEEP_US, for SECONDS
 * (default 1). Each burst is one short on-CPU span between two context switches, the
 * case where timing spans at sched_switch lost time (issue 13.2). Prints the bursts and
 * the CPU time the kernel charged this process (CLOCK_PROCESS_CPUTIME_ID). With -s 0 it
 * never sleeps: a busy loop that ends by itself.
 */
#include <getopt.h>
#include <unistd.h>
#include "loop.h"

static const char usage[] = "usage: bursts [-d SECONDS] -w WORK_US -s SLEEP_US\n";

int main(int argc, char **argv)
{
	double seconds = 1, work_us = -1, sleep_us = -1, t0, dt, end;
	struct timespec pause, cpu;
	unsigned long n;
	int opt;

	while ((opt = getopt(argc, argv, "d:w:s:")) != -1) {
		switch (opt) {
		case 'd':
			seconds = loop__seconds(optarg, usage);
			break;
		case 'w':
			work_us = atof(optarg);
			break;
		case 's':
			sleep_us = atof(optarg);
			break;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	if (optind != argc || work_us < 0 || sleep_us < 0) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	pause.tv_sec = (time_t)(sleep_us / 1e6);
	pause.tv_nsec = (long)((sleep_us - pause.tv_sec * 1e6) * 1e3);

	t0 = loop__now();
	for (n = 0; loop__now() < t0 + seconds; n++) {
		end = loop__now() + work_us / 1e6;
		while (loop__now() < end)
			;
		if (sleep_us > 0)
			nanosleep(&pause, NULL);
	}
	dt = loop__now() - t0;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	printf("bursts: %.6f s of CPU\n", cpu.tv_sec + cpu.tv_nsec / 1e9);
	loop__report("bursts", n, "bursts", dt, n / dt, "bursts");
	return 0;
}
