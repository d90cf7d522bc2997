/* SPDX-License-Identifier: GPL-2.0 */
/* Include/exclude filters on names (devices, mount points, cgroups), as POSIX extended
 * regexes anchored at both ends, the way node_exporter applies its device filters. */
#ifndef KPULSE_FILTER_H
#define KPULSE_FILTER_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

struct filter {
	regex_t include, exclude;
	bool has_include, has_exclude;
};

/*
 * Compile @include and @exclude (NULL or "" for none); -EINVAL with @err naming the
 * pattern and the reason if one does not compile.
 */
int filter__init(struct filter *f, const char *include, const char *exclude, char *err,
		 size_t errlen);
/* true if @name passes: it matches include (when set) and does not match exclude. */
bool filter__match(const struct filter *f, const char *name);
void filter__free(struct filter *f);

#endif /* KPULSE_FILTER_H */
