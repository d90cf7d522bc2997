/* SPDX-License-Identifier: GPL-2.0 */
/* JSON strings for answers that carry untrusted text (label values from the kernel). */
#ifndef KPULSE_JSON_H
#define KPULSE_JSON_H

#include <stddef.h>
#include "buf.h"

/*
 * Append @s (@n bytes) as a quoted JSON string: '"' and '\\' escaped, control characters
 * as \uXXXX (or \n, \t, ...), '<', '>' and '&' as \u003c ... so the text cannot close a
 * <script> it is pasted into, U+2028/U+2029 escaped for JavaScript, and bytes that are not
 * UTF-8 replaced by U+FFFD: the output is valid JSON whatever the input.
 */
void json__string(struct buf *out, const char *s, size_t n);

#endif /* KPULSE_JSON_H */
