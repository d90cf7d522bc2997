// SPDX-License-Identifier: GPL-2.0
/* A growable byte buffer with a sticky error, so encoders check once at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"

void buf__reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf__free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

int buf__reserve(struct buf *b, size_t extra)
{
	size_t want = b->len + extra + 1; /* room for a terminating NUL */
	size_t cap;
	char *p;

	if (b->err)
		return b->err;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return b->err = -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

void buf__append(struct buf *b, const void *p, size_t n)
{
	if (buf__reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf__puts(struct buf *b, const char *s)
{
	buf__append(b, s, strlen(s));
}

void buf__putc(struct buf *b, char c)
{
	buf__append(b, &c, 1);
}

void buf__printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf__reserve(b, 64))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (buf__reserve(b, n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

char *buf__steal(struct buf *b, size_t *len)
{
	char *p;

	if (b->err || buf__reserve(b, 0)) {
		buf__free(b);
		return NULL;
	}
	p = b->data;
	*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
