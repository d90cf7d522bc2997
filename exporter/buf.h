/* SPDX-License-Identifier: GPL-2.0 */
/* A growable byte buffer; the encoders write into it. */
#ifndef KPULSE_BUF_H
#define KPULSE_BUF_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	int err; /* sticky: -ENOMEM once any append failed */
};

void buf__reset(struct buf *b);
void buf__free(struct buf *b);
int buf__reserve(struct buf *b, size_t extra);
void buf__append(struct buf *b, const void *p, size_t n);
void buf__puts(struct buf *b, const char *s);
void buf__putc(struct buf *b, char c);
void buf__printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Detach the contents (NUL-terminated) and leave @b empty; NULL if an append failed. */
char *buf__steal(struct buf *b, size_t *len);

/*
 * Make room for @need elements of @size bytes in the array *@p of capacity *@cap (doubling,
 * from 64); -ENOMEM leaves the array as it was.
 */
static inline int array__grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

#endif /* KPULSE_BUF_H */
