// SPDX-License-Identifier: GPL-2.0
/* One deflate call over the whole body: the output bound is known up front. */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include "gzip.h"

int gzip__compress(const void *in, size_t len, char **out, size_t *out_len)
{
	z_stream z = {};
	uLong bound;
	char *dst;
	int ret;

	/*
	 * 15 window bits + 16 selects the gzip wrapper. Level 1: every tick compresses two
	 * bodies whether or not anyone scrapes, and on a 27 KB scrape level 6 took 2.4x the
	 * time (220 vs 90 us) for an 11% smaller body.
	 */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, len) + 32; /* + the gzip header and trailer */
	dst = malloc(bound);
	if (!dst) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = len;
	z.next_out = (Bytef *)dst;
	z.avail_out = bound;
	ret = deflate(&z, Z_FINISH);
	deflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(dst);
		return -EIO;
	}
	*out = dst;
	*out_len = z.total_out;
	return 0;
}
