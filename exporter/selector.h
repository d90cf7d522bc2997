/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PromQL series selectors, as /api/v1/history's match[] takes them:
 * name{label="v", label!="v", label=~"re", label!~"re"}, or {__name__="name", ...}.
 */
#ifndef KPULSE_SELECTOR_H
#define KPULSE_SELECTOR_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#define SELECTOR_MAX_MATCHERS 16
#define SELECTOR_MAX_LEN 4096 /* bytes of selector text */

enum matcher_op {
	MATCH_EQUAL,	 /* = */
	MATCH_NOT_EQUAL, /* != */
	MATCH_REGEX,	 /* =~, anchored at both ends as in PromQL */
	MATCH_NOT_REGEX, /* !~ */
};

struct matcher {
	char *label; /* "__name__" for the metric name */
	enum matcher_op op;
	char *value; /* unquoted and unescaped */
	regex_t re;  /* compiled for MATCH_REGEX and MATCH_NOT_REGEX */
};

struct selector {
	struct matcher m[SELECTOR_MAX_MATCHERS];
	size_t n;
};

/*
 * Parse @text into @s; -EINVAL with a message in @err (that quotes no more of the input
 * than it must) if it is not a series selector, -ENOMEM. Regexes are POSIX extended ones,
 * the RE2 subset that PromQL users write (no \d, no (?i)).
 */
int selector__parse(struct selector *s, const char *text, char *err, size_t errlen);
/*
 * Does the series @name{names[i]=values[i]} match? A label the series lacks has the value
 * "", as in PromQL.
 */
bool selector__match(const struct selector *s, const char *name, const char *const *names,
		     const char *const *values, size_t n);
void selector__free(struct selector *s);

#endif /* KPULSE_SELECTOR_H */
