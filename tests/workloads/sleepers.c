// SPDX-License-Identifier: GPL-2.0
/*
 * sleepers N [THREADS [NAME]]: fork N processes named NAME (default kp-sleeper; a NAME
 * ending in '#' has it replaced by each child's number, 0 to N - 1) that sleep until this
 * program ends, each with THREADS extra sleeping threads (default 0),
 * so a test can see what N idle processes cost or count (and make bench what a host with
 * many idle processes costs kpulse per tick). Prints "ready <processes> <tasks>" once
 * every child is asleep, then waits for stdin to close or SIGTERM/SIGINT/SIGHUP, and kills
 * and reaps them all. Each child dies with its parent (PR_SET_PDEATHSIG) however the
 * parent ends, so an interrupted run leaves none behind.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void *sleep_forever(void *arg __attribute__((unused)))
{
	for (;;)
		pause();
	return NULL;
}

/* The child: its own name, THREADS idle threads, one byte to say so, then sleep. */
static void child(pid_t parent, int ready_fd, unsigned int threads, const char *name,
		  unsigned long nr)
{
	size_t len = strlen(name);
	char numbered[64];
	pthread_attr_t attr;
	pthread_t tid;

	/* Die with the parent, whatever kills it; it may have died before prctl(). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (len && name[len - 1] == '#') {
		snprintf(numbered, sizeof(numbered), "%.*s%lu", (int)(len - 1), name, nr);
		name = numbered;
	}
	prctl(PR_SET_NAME, name);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (unsigned int i = 0; i < threads; i++)
		if (pthread_create(&tid, &attr, sleep_forever, NULL))
			_exit(2);
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	close(ready_fd);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	unsigned long n, threads = 0, got = 0, forked = 0;
	const char *name = "kp-sleeper";
	sigset_t stop;
	int p[2], sig;
	char buf[4096];
	ssize_t r;
	pid_t pid, me = getpid();

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: sleepers N [THREADS-PER-PROCESS [NAME]]\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	if (argc >= 3)
		threads = strtoul(argv[2], NULL, 10);
	if (argc == 4)
		name = argv[3];
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	if (pipe(p)) {
		perror("sleepers: pipe");
		return 1;
	}
	/* Its own process group, so one kill(-pgid) reaches every child. */
	setpgid(0, 0);
	for (; forked < n; forked++) {
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "sleepers: fork %lu of %lu failed: %s\n", forked + 1, n,
				strerror(errno));
			break;
		}
		if (!pid) {
			close(p[0]);
			child(me, p[1], threads, name, forked);
		}
	}
	close(p[1]);
	while (got < forked && (r = read(p[0], buf, sizeof(buf))) > 0)
		got += r;
	close(p[0]);
	if (got == n) {
		printf("ready %lu %lu\n", n, n * (threads + 1));
		fflush(stdout);
		/* Wait for stdin to close, or a signal that stops us. */
		sigprocmask(SIG_BLOCK, &stop, NULL);
		if (fork() == 0) {
			/* A watcher for stdin: the parent stays in sigwait. */
			sigprocmask(SIG_UNBLOCK, &stop, NULL);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			while (read(0, buf, sizeof(buf)) > 0)
				;
			kill(getppid(), SIGTERM);
			_exit(0);
		}
		sigwait(&stop, &sig);
	} else {
		fprintf(stderr, "sleepers: only %lu of %lu children started\n", got, n);
	}
	/* Every child (and the stdin watcher) is in our group; reap them all. */
	signal(SIGTERM, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	kill(0, SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return got == n ? 0 : 1;
}
