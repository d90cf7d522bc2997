/* SPDX-License-Identifier: GPL-2.0 */
/* gzip (RFC 1952) compression of a rendered body, once per tick, with zlib. */
#ifndef KPULSE_GZIP_H
#define KPULSE_GZIP_H

#include <stddef.h>

/* Compress @len bytes of @in into a new malloc'd buffer in @out; -errno on failure. */
int gzip__compress(const void *in, size_t len, char **out, size_t *out_len);

#endif /* KPULSE_GZIP_H */
