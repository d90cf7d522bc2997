/* SPDX-License-Identifier: GPL-2.0 */
/* /api/v1/history's parameters, as Prometheus' query_range reads them. */
#ifndef KPULSE_API_H
#define KPULSE_API_H

#include <stddef.h>
#include <stdint.h>
#include "history.h"
#include "selector.h"

/* A query string, split and URL-decoded by the HTTP server. */
struct api_args {
	const char *key[32];
	const char *value[32];
	size_t n;
	size_t dropped; /* parameters past the 32nd */
};

/*
 * A time as Prometheus takes it: seconds since the epoch ("1700000000.5") or RFC 3339
 * ("2023-11-14T22:13:20.5Z", "...+01:00"); milliseconds since the epoch in @ms, -EINVAL.
 */
int api__parse_time(const char *s, int64_t *ms);

/*
 * Fill @q from @a: every match[] (into @sel, at most SELECTOR_MAX_MATCHERS of them), start
 * and end (default: the whole window); other parameters, such as step, are
 * ignored. -EINVAL with a message in @err that says which parameter is wrong and why.
 * Free the selectors with api__free_query() whatever the result.
 */
int api__history_query(const struct api_args *a, struct history_query *q, struct selector *sel,
		       char *err, size_t errlen);
void api__free_query(struct history_query *q, struct selector *sel);

#endif /* KPULSE_API_H */
