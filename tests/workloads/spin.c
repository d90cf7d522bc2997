// SPDX-License-Identifier: GPL-2.0
/*
 * spin TASKS [SECONDS]: TASKS unpinned processes spinning in user space for SECONDS
 * (default: until killed), background CPU load the load balancer spreads and moves.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int tasks = argc > 1 ? atoi(argv[1]) : 1, seconds = argc > 2 ? atoi(argv[2]) : 0, i;
	volatile unsigned long n = 0;

	if (tasks < 1 || seconds < 0) {
		fprintf(stderr, "usage: spin TASKS [SECONDS]\n");
		return 2;
	}
	for (i = 0; i < tasks; i++) {
		if (!fork()) {
			if (seconds)
				alarm(seconds);
			for (;;)
				n++;
		}
	}
	while (wait(NULL) > 0)
		;
	return 0;
}
