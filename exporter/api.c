// SPDX-License-Identifier: GPL-2.0
/* Query parameters of /api/v1/history, checked the way Prometheus' HTTP API checks them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"

/* "2023-11-14T22:13:20", ".123456789", then "Z" or "+01:00". */
static int parse_rfc3339(const char *s, int64_t *ms)
{
	struct tm tm = {};
	int y, mo, d, h, mi, sec, n = 0, off = 0, oh, om, frac_ms = 0, digits = 0;
	const char *p;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	p = s + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
		if (!digits)
			return -EINVAL;
		for (; digits < 3; digits++)
			frac_ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) == 2 &&
		   n == 5 && oh < 24 && om < 60) {
		off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = ((int64_t)t - off) * 1000 + frac_ms;
	return 0;
}

int api__parse_time(const char *s, int64_t *ms)
{
	char *end;
	double v;

	if (!*s)
		return -EINVAL;
	v = strtod(s, &end);
	if (!*end) {
		/* Within what milliseconds in an int64 hold, and a number at all. */
		if (!isfinite(v) || fabs(v) > 9e15)
			return -EINVAL;
		*ms = (int64_t)llround(v * 1000);
		return 0;
	}
	return parse_rfc3339(s, ms);
}

int api__history_query(const struct api_args *a, struct history_query *q, struct selector *sel,
		       char *err, size_t errlen)
{
	bool have_start = false, have_end = false;
	char why[160];
	size_t i;
	int rc;

	memset(q, 0, sizeof(*q));
	q->sel = sel;
	for (i = 0; i < a->n; i++) {
		const char *k = a->key[i], *v = a->value[i] ? a->value[i] : "";

		if (!strcmp(k, "match[]")) {
			if (q->nsel == SELECTOR_MAX_MATCHERS) {
				snprintf(err, errlen, "more than %d match[] parameters",
					 SELECTOR_MAX_MATCHERS);
				return -EINVAL;
			}
			rc = selector__parse(&sel[q->nsel], v, why, sizeof(why));
			if (rc) {
				snprintf(err, errlen, "invalid parameter \"match[]\": %s", why);
				return rc;
			}
			q->nsel++;
		} else if (!strcmp(k, "start") || !strcmp(k, "end")) {
			bool start = k[0] == 's';

			if (api__parse_time(v, start ? &q->start_ms : &q->end_ms)) {
				snprintf(err, errlen,
					 "invalid parameter \"%s\": not seconds since the epoch or "
					 "an RFC 3339 time",
					 k);
				return -EINVAL;
			}
			*(start ? &have_start : &have_end) = true;
		}
	}
	if (a->dropped) {
		snprintf(err, errlen, "more than %zu query parameters",
			 sizeof(a->key) / sizeof(a->key[0]));
		return -EINVAL;
	}
	if (!have_end)
		q->end_ms = INT64_MAX;
	if (!have_start)
		q->start_ms = INT64_MIN;
	if (q->end_ms < q->start_ms) {
		snprintf(err, errlen, "end timestamp must not be before start time");
		return -EINVAL;
	}
	return 0;
}

void api__free_query(struct history_query *q, struct selector *sel)
{
	size_t i;

	for (i = 0; i < q->nsel; i++)
		selector__free(&sel[i]);
	q->nsel = 0;
}
