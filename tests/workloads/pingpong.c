// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong PAIRS [SECONDS]: PAIRS pairs of processes passing one byte back and forth over
 * two pipes, unpinned, for SECONDS (default: until killed). Each wakeup makes the other
 * task runnable, so every round trip is two run-queue waits; with other load on the
 * machine, waiting tasks are moved between CPUs by the load balancer.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

static void bounce(int in, int out, int first)
{
	char b = 0;

	if (first && write(out, &b, 1) != 1)
		_exit(1);
	for (;;) {
		if (read(in, &b, 1) != 1 || write(out, &b, 1) != 1)
			_exit(0);
	}
}

int main(int argc, char **argv)
{
	int pairs = argc > 1 ? atoi(argv[1]) : 1, seconds = argc > 2 ? atoi(argv[2]) : 0, i;
	pid_t *pids;

	if (pairs < 1 || seconds < 0) {
		fprintf(stderr, "usage: pingpong PAIRS [SECONDS]\n");
		return 2;
	}
	pids = calloc(2 * pairs, sizeof(*pids));
	if (!pids)
		return 1;
	for (i = 0; i < pairs; i++) {
		int ab[2], ba[2];

		if (pipe(ab) || pipe(ba)) {
			perror("pingpong: pipe");
			return 1;
		}
		if (!(pids[2 * i] = fork()))
			bounce(ba[0], ab[1], 1);
		if (!(pids[2 * i + 1] = fork()))
			bounce(ab[0], ba[1], 0);
		close(ab[0]);
		close(ab[1]);
		close(ba[0]);
		close(ba[1]);
	}
	if (seconds)
		sleep(seconds);
	else
		pause();
	for (i = 0; i < 2 * pairs; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}
