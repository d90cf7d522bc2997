// SPDX-License-Identifier: GPL-2.0
/*
 * fdhold NAME N [LIMIT]: name itself NAME (comm), hold N open descriptors of /dev/null,
 * then set its RLIMIT_NOFILE soft limit to LIMIT (which may be below what it holds: its
 * open/limit ratio is then above 1). Prints "ready <pid>" and waits for stdin to close.
 * A process whose descriptor use is known exactly, under any name and any user.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[256];
	long n;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: fdhold NAME N [LIMIT]\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	prctl(PR_SET_NAME, argv[1]);
	for (long i = 0; i < n; i++) {
		if (open("/dev/null", O_RDONLY) < 0) {
			perror("fdhold: open /dev/null");
			return 1;
		}
	}
	if (argc == 4) {
		struct rlimit r;

		getrlimit(RLIMIT_NOFILE, &r);
		r.rlim_cur = strtoul(argv[3], NULL, 10);
		if (setrlimit(RLIMIT_NOFILE, &r)) {
			perror("fdhold: setrlimit");
			return 1;
		}
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
