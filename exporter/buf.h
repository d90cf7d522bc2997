/* SPDX-License-Identifier: GPL-2.0 */
/* A growable byte buffer; the encoders write into it. */
#ifndef KPULSE_BUF_H
#define KPULSE_BUF_H

#include <stdarg.h>
#include <stddef.h>

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

#endif /* KPULSE_BUF_H */
