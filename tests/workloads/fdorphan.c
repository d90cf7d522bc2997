// SPDX-License-Identifier: GPL-2.0
/*
 * fdorphan NAME N: name itself NAME (comm), hold N open descriptors of /dev/null, start a
 * thread, and end its leader thread (pthread_exit): the process lives on in that thread,
 * its leader a zombie that has dropped its reference to the descriptor table. Prints
 * "ready <pid> <tid>" once the leader is a zombie, and waits for stdin to close. A process
 * whose descriptors only a thread other than its leader can show (/proc/<pid>/task/<tid>/fd).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t leader;

/* The leader's state letter, from /proc/self/task/<leader>/stat ('?' if unreadable). */
static char leader_state(void)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", leader);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold anything */
	return p && p[1] == ' ' ? p[2] : '?';
}

static void *survivor(void *arg)
{
	char buf[256];

	(void)arg;
	while (leader_state() != 'Z')
		usleep(1000);
	printf("ready %d %ld\n", leader, (long)syscall(SYS_gettid));
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	exit(0);
}

int main(int argc, char **argv)
{
	pthread_t t;
	long n;

	if (argc != 3) {
		fprintf(stderr, "usage: fdorphan NAME N\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	prctl(PR_SET_NAME, argv[1]);
	for (long i = 0; i < n; i++) {
		if (open("/dev/null", O_RDONLY) < 0) {
			perror("fdorphan: open /dev/null");
			return 1;
		}
	}
	leader = getpid();
	if (pthread_create(&t, NULL, survivor, NULL)) {
		fprintf(stderr, "fdorphan: pthread_create failed\n");
		return 1;
	}
	pthread_exit(NULL);
}
