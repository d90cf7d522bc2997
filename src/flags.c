// SPDX-License-Identifier: GPL-2.0
/* Flags: the command line parsed, and values (booleans, strings, durations, unsigned
 * integers) read strictly. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "flags.h"

int flags__duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	double total = 0;
	const char *p = s;

	if (!*p)
		return -EINVAL;
	/* A bare 0 needs no unit, as in Go's time.ParseDuration: "--history.duration=0". */
	if (!strcmp(p, "0")) {
		*ns = 0;
		return 0;
	}
	while (*p) {
		char *end;
		double v;
		size_t i, best = 0, bestlen = 0;

		if (!(*p >= '0' && *p <= '9') && *p != '.')
			return -EINVAL;
		v = strtod(p, &end);
		if (end == p || !isfinite(v))
			return -EINVAL;
		/* The longest unit that matches: "ms" before "m". */
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].unit);

			if (!strncmp(end, units[i].unit, n) && n > bestlen)
				best = i, bestlen = n;
		}
		if (!bestlen)
			return -EINVAL;
		total += v * units[best].ns;
		p = end + bestlen;
	}
	if (total >= 1.8e19)
		return -EINVAL;
	*ns = (uint64_t)total;
	return 0;
}

void flags__format_duration(uint64_t ns, char *out, size_t len)
{
	if (ns % 1000000000ull == 0)
		snprintf(out, len, "%llus", (unsigned long long)(ns / 1000000000ull));
	else if (ns % 1000000ull == 0)
		snprintf(out, len, "%llums", (unsigned long long)(ns / 1000000ull));
	else
		snprintf(out, len, "%lluns", (unsigned long long)ns);
}

const struct flag *flags__find(const struct flag *flags, const char *name)
{
	for (; flags && flags->name; flags++)
		if (!strcmp(flags->name, name))
			return flags;
	return NULL;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int flags__set(const struct flag *f, const char *val, bool negated, char *err, size_t errlen)
{
	unsigned long long u;
	char *end;
	bool b;

	if (negated && f->kind != FLAG_BOOL) {
		snprintf(err, errlen, "--no-%s: only a boolean flag can be negated", f->name);
		return -EINVAL;
	}
	if (f->kind == FLAG_BOOL) {
		if (!val) {
			*(bool *)f->dest = !negated;
			return 0;
		}
		if (negated || parse_bool(val, &b)) {
			snprintf(err, errlen, "--%s=%s: expected true or false", f->name, val);
			return -EINVAL;
		}
		*(bool *)f->dest = b;
		return 0;
	}
	if (!val) {
		snprintf(err, errlen, "--%s needs a value", f->name);
		return -EINVAL;
	}
	switch (f->kind) {
	case FLAG_STRING:
		*(const char **)f->dest = val;
		return 0;
	case FLAG_DURATION:
		if (flags__duration(val, (uint64_t *)f->dest)) {
			snprintf(err, errlen, "--%s=%s: not a duration (try 1s, 500ms, 2m)",
				 f->name, val);
			return -EINVAL;
		}
		return 0;
	case FLAG_UINT:
		errno = 0;
		u = strtoull(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-' || u > UINT_MAX) {
			snprintf(err, errlen, "--%s=%s: not a non-negative integer", f->name, val);
			return -EINVAL;
		}
		*(unsigned int *)f->dest = u;
		return 0;
	default:
		return -EINVAL;
	}
}

void flags__usage(FILE *out, const struct flag *flags)
{
	char def[512], name[64]; /* defaults can be long regexes */

	for (; flags && flags->name; flags++) {
		switch (flags->kind) {
		case FLAG_BOOL:
			snprintf(def, sizeof(def), "%s", *(bool *)flags->dest ? "true" : "false");
			snprintf(name, sizeof(name), "--[no-]%s", flags->name);
			break;
		case FLAG_STRING:
			snprintf(def, sizeof(def), "\"%s\"",
				 *(const char **)flags->dest ? *(const char **)flags->dest : "");
			snprintf(name, sizeof(name), "--%s=STRING", flags->name);
			break;
		case FLAG_DURATION:
			flags__format_duration(*(uint64_t *)flags->dest, def, sizeof(def));
			snprintf(name, sizeof(name), "--%s=DURATION", flags->name);
			break;
		case FLAG_UINT:
			snprintf(def, sizeof(def), "%u", *(unsigned int *)flags->dest);
			snprintf(name, sizeof(name), "--%s=N", flags->name);
			break;
		}
		if (flags->action) {
			snprintf(name, sizeof(name), "--%s", flags->name);
			fprintf(out, "  %-40s %s\n", name, flags->help);
		} else
			fprintf(out, "  %-40s %s (default: %s)\n", name, flags->help, def);
	}
}

int flags__parse(int argc, char **argv, flag_lookup_fn lookup, void *ctx, char *err, size_t errlen)
{
	struct flag scratch;
	const struct flag *f;
	char name[256];
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *val = NULL;
		bool negated = false;

		if (strncmp(arg, "--", 2) || !arg[2]) {
			snprintf(err, errlen, "unexpected argument '%s' (flags start with --)",
				 arg);
			return -EINVAL;
		}
		arg += 2;
		if (!strncmp(arg, "no-", 3)) {
			negated = true;
			arg += 3;
		}
		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
		f = lookup(name, &scratch, ctx);
		if (!f) {
			snprintf(err, errlen, "unknown flag --%s%s (see --help)",
				 negated ? "no-" : "", name);
			return -EINVAL;
		}
		if (eq)
			val = eq + 1;
		else if (f->kind != FLAG_BOOL && !negated && i + 1 < argc)
			val = argv[++i]; /* --flag value */
		if (flags__set(f, val, negated, err, errlen))
			return -EINVAL;
	}
	return 0;
}
