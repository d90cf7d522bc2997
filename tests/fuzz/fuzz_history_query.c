// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: /api/v1/history's query string (match[] selectors, start, end) as the
 * HTTP server hands it over, split into parameters, then the answer for a ring holding
 * hostile label text, read in chunks of a size the input picks. Invariants: a refused
 * query says why; an answer is one line of JSON with every control character escaped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "fuzz.h"
#include "history.h"

static const struct metric_desc comm = {"kpulse_fuzz_ratio", METRIC_GAUGE, "name,cpu", "F.",
					METRIC_HISTORY};

static struct history *ring(void)
{
	static const char *const names[] = {
		"ok", "a\"b\\c\nd", "</script>&<", "\x01\x7f\xe2\x80\xa8", "\xff\xfe", ""};
	struct history_opts o = {60000000000ull, 15000000000ull, 1000000000ull, 64};
	struct history *h = history__new(&o);
	struct mset *m = mset__new();
	int t;
	size_t i;

	for (t = 0; h && m && t < 70; t++) {
		mset__reset(m);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if ((t + i) % 7)
				mset__add(m, &comm, t * 0.5 + i, names[i], t % 2 ? "0" : "1");
		history__record(h, m, 1700000000000ll + t * 1000);
	}
	mset__free(m);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct history *h;
	struct selector sel[SELECTOR_MAX_MATCHERS];
	struct api_args a = {};
	struct history_query q;
	struct history_result *r;
	char *s, *p, err[256], out[97];
	size_t chunk = size % 96 + 1;
	ssize_t n;
	int rc;

	if (!h)
		h = ring();
	s = malloc(size + 1);
	if (!s || !h) {
		free(s);
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	/* Parameters as the server splits them: '&' between, the first '=' in each. */
	for (p = strtok(s, "&"); p; p = strtok(NULL, "&")) {
		char *eq = strchr(p, '=');

		if (a.n == sizeof(a.key) / sizeof(a.key[0])) {
			a.dropped++;
			continue;
		}
		if (eq)
			*eq = '\0';
		a.key[a.n] = p;
		a.value[a.n++] = eq ? eq + 1 : NULL;
	}
	err[0] = '\0';
	rc = api__history_query(&a, &q, sel, err, sizeof(err));
	if (rc) {
		FUZZ_CHECK(err[0]);
		api__free_query(&q, sel);
		free(s);
		return 0;
	}
	r = history__query(h, &q);
	api__free_query(&q, sel);
	FUZZ_CHECK(r);
	while ((n = history_result__read(r, out, chunk)) > 0) {
		FUZZ_CHECK((size_t)n <= chunk);
		for (ssize_t i = 0; i < n; i++)
			FUZZ_CHECK((unsigned char)out[i] >= 0x20 || out[i] == '\n');
	}
	FUZZ_CHECK(n == 0);
	history_result__free(r);
	free(s);
	return 0;
}
