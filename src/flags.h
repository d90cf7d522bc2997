/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line flags in node_exporter's style: --name=value, --name value, --[no-]bool. */
#ifndef KPULSE_FLAGS_H
#define KPULSE_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum flag_kind {
	FLAG_BOOL,     /* bool * */
	FLAG_STRING,   /* const char ** */
	FLAG_DURATION, /* uint64_t * nanoseconds, from "1s", "500ms", "1m30s" */
	FLAG_UINT,     /* unsigned int * */
};

struct flag {
	const char *name; /* without the leading "--" */
	enum flag_kind kind;
	void *dest; /* holds the default until parsed */
	const char *help;
	bool action; /* --help and the like: no default to show */
};

/* Parse "1s", "250ms", "1.5s", "2m", "1h", "1m30s" into nanoseconds; -EINVAL if not. */
int flags__duration(const char *s, uint64_t *ns);
/* Format @ns the way flags__duration reads it. */
void flags__format_duration(uint64_t ns, char *out, size_t len);
/* Find @name among @flags (terminated by a NULL name). */
const struct flag *flags__find(const struct flag *flags, const char *name);
/* Set @f from the text @val (NULL for a bare boolean); -EINVAL with @err filled if bad. */
int flags__set(const struct flag *f, const char *val, bool negated, char *err, size_t errlen);
/*
 * Where flags__parse finds a flag by @name (without "--" and "no-"): a table's entry, or one
 * the lookup builds in @scratch (e.g. --[no-]collector.<name>); NULL if there is none.
 */
typedef const struct flag *(*flag_lookup_fn)(const char *name, struct flag *scratch, void *ctx);
/*
 * Set every flag of @argv[1..@argc): --name, --no-name (booleans), --name=value and
 * --name value. -EINVAL with @err filled at the first argument that is not a known flag
 * or has a bad value.
 */
int flags__parse(int argc, char **argv, flag_lookup_fn lookup, void *ctx, char *err, size_t errlen);
/* Print one "  --name  help (default: x)" line per flag. */
void flags__usage(FILE *out, const struct flag *flags);

#endif /* KPULSE_FLAGS_H */
