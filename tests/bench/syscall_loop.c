// SPDX-License-Identifier: GPL-2.0
/*
 * syscall_loop [-d SECONDS | -n COUNT] getppid|openclose: one syscall pattern as fast as
 * it goes, for SECONDS (default 1) or exactly COUNT iterations.
 *   getppid    syscall(SYS_getppid): the cheapest syscall, and one that creates no
 *              descriptor, so it shows what any hook on the syscall path costs
 *   openclose  open("/dev/null") + close: two descriptor syscalls per iteration
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "loop.h"

static const char usage[] = "usage: syscall_loop [-d SECONDS | -n COUNT] getppid|openclose\n";

int main(int argc, char **argv)
{
	struct loop l;
	unsigned long i;
	int openclose;
	double dt;

	loop__options(&l, argc, argv, usage);
	if (optind != argc - 1 ||
	    (strcmp(argv[optind], "getppid") && strcmp(argv[optind], "openclose"))) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	openclose = !strcmp(argv[optind], "openclose");

	l.t0 = loop__now();
	for (i = 0; loop__more(&l, i); i++) {
		if (openclose) {
			int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (fd < 0) {
				perror("syscall_loop: open /dev/null");
				return 1;
			}
			close(fd);
		} else {
			/* syscall(2), not a libc wrapper that might cache the answer. */
			syscall(SYS_getppid);
		}
	}
	dt = loop__now() - l.t0;
	loop__report("syscall_loop", i, openclose ? "open+close pairs" : "getppid calls", dt,
		     i / dt, "iterations");
	return 0;
}
