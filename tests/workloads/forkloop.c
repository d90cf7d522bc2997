// SPDX-License-Identifier: GPL-2.0
/*
 * forkloop [SECONDS]: fork a child that exits at once, reap it, repeat, for SECONDS
 * (default: until killed). Every new task is placed by the scheduler's fork balancing and
 * perturbs the load balance, so waiting tasks elsewhere get migrated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 0;
	time_t end = time(NULL) + seconds;
	pid_t pid;

	while (!seconds || time(NULL) < end) {
		pid = fork();
		if (pid < 0) {
			perror("forkloop: fork");
			return 1;
		}
		if (!pid)
			_exit(0);
		waitpid(pid, NULL, 0);
	}
	return 0;
}
