/* SPDX-License-Identifier: GPL-2.0 */
/* gzip (RFC 1952) compression of a rendered body, once per tick, with zlib. */
#ifndef KPULSE_GZIP_H
#define KPULSE_GZIP_H

#include <stddef.h>
#include <sys/types.h>

/* Compress @len bytes of @in into a new malloc'd buffer in @out; -errno on failure. */
int gzip__compress(const void *in, size_t len, char **out, size_t *out_len);

/*
 * gzip of a body made as it is sent: @read fills a buffer with the next bytes (0 at the
 * end, -errno on failure) and @release frees @cls with the stream. Holds 16 KiB of input
 * and zlib's state, never the whole body.
 */
struct gzip_stream;
struct gzip_stream *gzip_stream__new(ssize_t (*read)(void *cls, char *buf, size_t max),
				     void (*release)(void *cls), void *cls);
/* The next at most @max compressed bytes; 0 at the end, -errno. */
ssize_t gzip_stream__read(struct gzip_stream *g, char *out, size_t max);
void gzip_stream__free(struct gzip_stream *g);

#endif /* KPULSE_GZIP_H */
