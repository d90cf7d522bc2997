// SPDX-License-Identifier: GPL-2.0
/* Include/exclude name filters; a pattern must match the whole name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "filter.h"

static int compile(regex_t *re, const char *pattern, char *err, size_t errlen)
{
	char *anchored;
	size_t n = strlen(pattern) + 5;
	int rc;

	anchored = malloc(n);
	if (!anchored)
		return -ENOMEM;
	snprintf(anchored, n, "^(%s)$", pattern);
	rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc) {
		char why[128];

		regerror(rc, re, why, sizeof(why));
		snprintf(err, errlen, "bad regular expression '%s': %s", pattern, why);
		return -EINVAL;
	}
	return 0;
}

int filter__init(struct filter *f, const char *include, const char *exclude, char *err,
		 size_t errlen)
{
	int rc;

	memset(f, 0, sizeof(*f));
	if (include && *include) {
		rc = compile(&f->include, include, err, errlen);
		if (rc)
			return rc;
		f->has_include = true;
	}
	if (exclude && *exclude) {
		rc = compile(&f->exclude, exclude, err, errlen);
		if (rc) {
			filter__free(f);
			return rc;
		}
		f->has_exclude = true;
	}
	return 0;
}

bool filter__match(const struct filter *f, const char *name)
{
	if (f->has_include && regexec(&f->include, name, 0, NULL, 0))
		return false;
	if (f->has_exclude && !regexec(&f->exclude, name, 0, NULL, 0))
		return false;
	return true;
}

void filter__free(struct filter *f)
{
	if (f->has_include)
		regfree(&f->include);
	if (f->has_exclude)
		regfree(&f->exclude);
	f->has_include = f->has_exclude = false;
}
