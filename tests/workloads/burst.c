// SPDX-License-Identifier: GPL-2.0
/*
 * burst SLEEP_US WORK_US ROUNDS [TASKS]: TASKS processes (default 1) that each, ROUNDS
 * times, sleep SLEEP_US microseconds and then spin for WORK_US microseconds of their own
 * CPU time; then they exit. A task that runs a few microseconds per wakeup spends a large
 * share of its CPU time in the scheduler's switch path, which is where timing on-CPU
 * spans from tracepoint to tracepoint goes wrong. Prints nothing; exits 0 when every task
 * finished.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void run(long sleep_us, long work_us, long rounds)
{
	struct timespec nap = {sleep_us / 1000000, (sleep_us % 1000000) * 1000};
	long long end;

	while (rounds-- > 0) {
		nanosleep(&nap, NULL);
		end = cpu_ns() + work_us * 1000;
		while (cpu_ns() < end)
			;
	}
}

int main(int argc, char **argv)
{
	long sleep_us, work_us, rounds, tasks, i;
	int status, failed = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: burst SLEEP_US WORK_US ROUNDS [TASKS]\n");
		return 2;
	}
	sleep_us = atol(argv[1]);
	work_us = atol(argv[2]);
	rounds = atol(argv[3]);
	tasks = argc > 4 ? atol(argv[4]) : 1;
	for (i = 0; i < tasks; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("burst: fork");
			return 1;
		}
		if (!pid) {
			run(sleep_us, work_us, rounds);
			_exit(0);
		}
	}
	while (wait(&status) > 0)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	return failed;
}
