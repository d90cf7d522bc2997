// SPDX-License-Identifier: GPL-2.0
/* JSON string escaping, as Go's encoding/json does it (HTML-safe). */
#include <stdio.h>
#include "json.h"
#include "metrics.h"

void json__string(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	char u[8];

	buf__putc(out, '"');
	while (i < n) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			buf__putc(out, '\\');
			buf__putc(out, (char)c);
			i++;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			buf__putc(out, '\\');
			buf__putc(out, c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
			i++;
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f) {
			snprintf(u, sizeof(u), "\\u%04x", c);
			buf__append(out, u, 6);
			i++;
		} else if (c < 0x80) {
			buf__putc(out, (char)c);
			i++;
		} else if (!(len = metrics__utf8_len(p + i, n - i))) {
			buf__puts(out, "\\ufffd");
			i++;
		} else if (len == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 &&
			   (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			/* Line and paragraph separators end a JavaScript string literal. */
			buf__puts(out, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			i += 3;
		} else {
			buf__append(out, p + i, len);
			i += len;
		}
	}
	buf__putc(out, '"');
}
