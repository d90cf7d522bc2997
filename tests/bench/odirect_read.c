// SPDX-License-Identifier: GPL-2.0
/*
 * odirect_read [-d SECONDS | -n COUNT] PATH: 4 KiB O_DIRECT reads of PATH (a block device,
 * or a file on one) as fast as they go, one at a time, at offsets that stride over its
 * first 64 MiB: one block request per read, so it shows what a hook on the block request
 * path costs. On a loop device over a cached file a request takes a few microseconds,
 * the worst case for such a hook.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loop.h"

static const char usage[] = "usage: odirect_read [-d SECONDS | -n COUNT] PATH\n";

#define BLOCK 4096
#define SPAN (64ul << 20)

int main(int argc, char **argv)
{
	struct loop l;
	unsigned long i;
	void *buf;
	double dt;
	int fd;

	loop__options(&l, argc, argv, usage);
	if (optind != argc - 1) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	/* O_DIRECT wants the buffer aligned to the logical block size; a page is enough. */
	if (posix_memalign(&buf, BLOCK, BLOCK)) {
		fprintf(stderr, "odirect_read: out of memory\n");
		return 1;
	}
	fd = open(argv[optind], O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "odirect_read: open %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	l.t0 = loop__now();
	for (i = 0; loop__more(&l, i); i++) {
		/* A stride coprime with the span's blocks: no two neighbours merge or repeat. */
		off_t off = (off_t)((i * 7919) % (SPAN / BLOCK)) * BLOCK;

		if (pread(fd, buf, BLOCK, off) != BLOCK) {
			fprintf(stderr, "odirect_read: pread at %lld: %s\n", (long long)off,
				strerror(errno));
			return 1;
		}
	}
	dt = loop__now() - l.t0;
	loop__report("odirect_read", i, "4 KiB O_DIRECT reads", dt, i / dt, "reads");
	close(fd);
	free(buf);
	return 0;
}
