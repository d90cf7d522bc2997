// SPDX-License-Identifier: GPL-2.0
/*
 * Comma-separated flag lists ("a,b, c"): empty items are dropped, spaces trimmed, and an
 * item given twice is kept once (--process.watch=x,x would export x's series twice).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "kpulse.h"

static bool listed(char **list, size_t n, const char *item, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && !memcmp(list[i], item, len))
			return true;
	return false;
}

int kpulse__split_list(const char *s, char ***out, size_t *n)
{
	char **list = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	while (s && *s) {
		size_t len = strcspn(s, ",");
		const char *b = s, *e = s + len;
		char **p;

		while (b < e && *b == ' ')
			b++;
		while (e > b && e[-1] == ' ')
			e--;
		if (e > b && !listed(list, cnt, b, e - b)) {
			p = realloc(list, (cnt + 1) * sizeof(*list));
			if (!p || !(p[cnt] = strndup(b, e - b))) {
				kpulse__free_list(p ? p : list, cnt);
				return -ENOMEM;
			}
			list = p;
			cnt++;
		}
		s += len + (s[len] == ',');
	}
	*out = list;
	*n = cnt;
	return 0;
}

void kpulse__free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}
