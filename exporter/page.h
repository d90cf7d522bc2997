/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live page at /: its HTML, script and style, and the dygraphs library, compiled into
 * the binary at build time (.output/page_assets.c, from exporter/page/ and Debian's
 * libjs-dygraphs). Read-only data: it costs nothing until someone opens the page.
 */
#ifndef KPULSE_PAGE_H
#define KPULSE_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct page_asset {
	const char *path; /* "/" or "/static/<name>" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
	const unsigned char *gz; /* the same, gzip-compressed */
	size_t gzlen;
	const char *etag; /* quoted, from the content */
};

/* Every asset, terminated by one with a NULL path. */
extern const struct page_asset page_assets[];

/* The static asset at @path ("/static/..."), or NULL. "/" is not one: see page__index. */
const struct page_asset *page__asset(const char *path);
/*
 * The HTML of "/": its template with the metrics path (HTML-escaped by the caller) and the
 * history's length in seconds filled in; -ENOMEM.
 */
int page__index(const char *metrics_path_html, uint64_t history_s, struct buf *out);
/* Bytes of the page and everything it loads, plain and as served gzip-compressed. */
size_t page__size(size_t *gz);

#endif /* KPULSE_PAGE_H */
