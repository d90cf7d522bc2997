// SPDX-License-Identifier: GPL-2.0
/* Lookups in the compiled-in page assets, and the one substitution the HTML needs. */
#include <errno.h>
#include <string.h>
#include "page.h"

static const struct page_asset *find(const char *path)
{
	const struct page_asset *a;

	for (a = page_assets; a->path; a++)
		if (!strcmp(a->path, path))
			return a;
	return NULL;
}

const struct page_asset *page__asset(const char *path)
{
	return strcmp(path, "/") ? find(path) : NULL;
}

int page__index(const char *metrics_path_html, uint64_t history_s, struct buf *out)
{
	const struct page_asset *a = find("/");
	const char *p, *end, *at;

	if (!a)
		return -ENOENT;
	p = (const char *)a->data;
	end = p + a->len;
	while (p < end && (at = memchr(p, '@', end - p))) {
		buf__append(out, p, at - p);
		if (end - at >= 14 && !memcmp(at, "@METRICS_PATH@", 14)) {
			buf__puts(out, metrics_path_html);
			p = at + 14;
		} else if (end - at >= 17 && !memcmp(at, "@HISTORY_SECONDS@", 17)) {
			buf__printf(out, "%llu", (unsigned long long)history_s);
			p = at + 17;
		} else {
			buf__putc(out, '@');
			p = at + 1;
		}
	}
	buf__append(out, p, end - p);
	return out->err;
}

size_t page__size(size_t *gz)
{
	const struct page_asset *a;
	size_t n = 0, z = 0;

	for (a = page_assets; a->path; a++) {
		n += a->len;
		z += a->gzlen;
	}
	if (gz)
		*gz = z;
	return n;
}
