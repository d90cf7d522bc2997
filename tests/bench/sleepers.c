// SPDX-License-Identifier: GPL-2.0
/*
 * sleepers N: fork N processes that sleep until this program ends, to measure what a host
 * with many idle processes costs kpulse per tick. Prints "ready <processes> <tasks>" once
 * every child is asleep, then waits for stdin to close or SIGTERM/SIGINT/SIGHUP, and
 * kills and reaps them all. Each child dies with its parent (PR_SET_PDEATHSIG) however
 * the parent ends, so an interrupted bench leaves none behind.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(pid_t parent, int ready)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent may have died between fork() and prctl(). */
	if (getppid() != parent)
		_exit(1);
	prctl(PR_SET_NAME, "kp-bench-sleep");
	if (write(ready, "r", 1) != 1)
		_exit(1);
	close(ready);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	unsigned long n, i, forked = 0, ready = 0;
	pid_t me = getpid(), pid, watcher = 0, *pids;
	char buf[4096];
	sigset_t stop;
	int p[2], sig;
	ssize_t r;

	if (argc != 2 || !(n = strtoul(argv[1], NULL, 10))) {
		fprintf(stderr, "usage: sleepers N\n");
		return 2;
	}
	pids = calloc(n, sizeof(*pids));
	if (!pids || pipe(p)) {
		perror("sleepers: setup");
		return 1;
	}
	/* SIGTERM, SIGINT and SIGHUP are taken with sigwait(), so they end us in order. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	for (; forked < n; forked++) {
		pid = fork();
		if (pid < 0) {
			fprintf(stderr,
				"sleepers: fork %lu of %lu failed: %s (see kernel.pid_max and "
				"kernel.threads-max)\n",
				forked + 1, n, strerror(errno));
			break;
		}
		if (!pid) {
			sigprocmask(SIG_UNBLOCK, &stop, NULL);
			close(p[0]);
			child(me, p[1]);
		}
		pids[forked] = pid;
	}
	close(p[1]);
	while (ready < forked && (r = read(p[0], buf, sizeof(buf))) > 0)
		ready += r;
	close(p[0]);
	if (ready == n) {
		printf("ready %lu %lu\n", n, n);
		fflush(stdout);
		/* A watcher for stdin, so a closed pipe ends us as a signal does. */
		watcher = fork();
		if (!watcher) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			while (read(0, buf, sizeof(buf)) > 0)
				;
			kill(me, SIGTERM);
			_exit(0);
		}
		sigwait(&stop, &sig);
	} else {
		fprintf(stderr, "sleepers: only %lu of %lu children started\n", ready, n);
	}
	/* Every child would die with us (PR_SET_PDEATHSIG); kill and reap them here, so
	 * the caller sees them gone when we exit. */
	for (i = 0; i < forked; i++)
		kill(pids[i], SIGKILL);
	if (watcher > 0)
		kill(watcher, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return ready == n ? 0 : 1;
}
