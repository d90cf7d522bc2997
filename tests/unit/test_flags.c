// SPDX-License-Identifier: GPL-2.0
/* Flag values: durations, integers, booleans; bad values are errors, not defaults. */
#include <stdarg.h>
#include <string.h>
#include "flags.h"
#include "harness.h"

TEST(durations)
{
	uint64_t ns;

	CHECK_INT(flags__duration("1s", &ns), 0);
	CHECK_INT(ns, 1000000000ll);
	CHECK_INT(flags__duration("250ms", &ns), 0);
	CHECK_INT(ns, 250000000ll);
	CHECK_INT(flags__duration("1.5s", &ns), 0);
	CHECK_INT(ns, 1500000000ll);
	CHECK_INT(flags__duration("1m30s", &ns), 0);
	CHECK_INT(ns, 90000000000ll);
	CHECK_INT(flags__duration("2h", &ns), 0);
	CHECK_INT(ns, 7200000000000ll);
	CHECK(flags__duration("", &ns) < 0);
	CHECK(flags__duration("1", &ns) < 0);
	/* A bare 0 is the one number that needs no unit (Go's rule too). */
	ns = 1;
	CHECK_INT(flags__duration("0", &ns), 0);
	CHECK_INT(ns, 0);
	CHECK(flags__duration("00", &ns) < 0);
	CHECK(flags__duration("s", &ns) < 0);
	CHECK(flags__duration("-1s", &ns) < 0);
	CHECK(flags__duration("1x", &ns) < 0);
	CHECK(flags__duration("1e400s", &ns) < 0);
	CHECK(flags__duration("99999999999h", &ns) < 0);
}

TEST(values)
{
	unsigned int u = 7;
	bool b = false;
	const char *str = "x";
	uint64_t d = 0;
	char err[256];
	const struct flag fu = {"n", FLAG_UINT, &u, ""}, fb = {"b", FLAG_BOOL, &b, ""},
			  fs = {"s", FLAG_STRING, &str, ""}, fd = {"d", FLAG_DURATION, &d, ""};

	CHECK_INT(flags__set(&fu, "42", false, err, sizeof(err)), 0);
	CHECK_INT(u, 42);
	CHECK(flags__set(&fu, "-1", false, err, sizeof(err)) < 0);
	CHECK(flags__set(&fu, "4294967296", false, err, sizeof(err)) < 0);
	CHECK(flags__set(&fu, "12abc", false, err, sizeof(err)) < 0);
	CHECK_STR(err, "--n=12abc: not a non-negative integer");
	CHECK_INT(u, 42);
	CHECK_INT(flags__set(&fb, NULL, false, err, sizeof(err)), 0);
	CHECK(b);
	CHECK_INT(flags__set(&fb, NULL, true, err, sizeof(err)), 0);
	CHECK(!b);
	CHECK_INT(flags__set(&fb, "true", false, err, sizeof(err)), 0);
	CHECK(b);
	CHECK(flags__set(&fb, "yes please", false, err, sizeof(err)) < 0);
	CHECK(flags__set(&fs, NULL, false, err, sizeof(err)) < 0);
	CHECK(flags__set(&fs, "v", true, err, sizeof(err)) < 0);
	CHECK_INT(flags__set(&fs, "", false, err, sizeof(err)), 0);
	CHECK_STR(str, "");
	CHECK(flags__set(&fd, "soon", false, err, sizeof(err)) < 0);
	CHECK_STR(err, "--d=soon: not a duration (try 1s, 500ms, 2m)");
}

static bool p_bool = true, p_enabled;
static const char *p_str = "default";
static uint64_t p_dur;
static unsigned int p_uint;
static const struct flag p_flags[] = {
	{"b", FLAG_BOOL, &p_bool, ""},
	{"web.s", FLAG_STRING, &p_str, ""},
	{"d", FLAG_DURATION, &p_dur, ""},
	{"u", FLAG_UINT, &p_uint, ""},
	{NULL},
};

/* The table, and a flag the lookup makes up (as main does for --[no-]collector.<name>). */
static const struct flag *p_lookup(const char *name, struct flag *scratch, void *ctx)
{
	if (!strcmp(name, "collector.x")) {
		*scratch = (struct flag){name, FLAG_BOOL, ctx, ""};
		return scratch;
	}
	return flags__find(p_flags, name);
}

static int parse(char *err, size_t len, int argc, ...)
{
	char *argv[16] = {"kpulse"};
	va_list ap;
	int i;

	va_start(ap, argc);
	for (i = 1; i <= argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	return flags__parse(argc + 1, argv, p_lookup, &p_enabled, err, len);
}

/* The four forms: --x, --no-x, --x=v and --x v; and what is not a flag. */
TEST(command_line)
{
	char err[256] = "";

	CHECK_INT(parse(err, sizeof(err), 0), 0);
	CHECK(p_bool);
	CHECK_STR(p_str, "default");
	CHECK_INT(parse(err, sizeof(err), 6, "--no-b", "--web.s=a=b", "--d", "1m30s", "--u", "7"),
		  0);
	CHECK(!p_bool);
	CHECK_STR(p_str, "a=b");
	CHECK_INT(p_dur, 90000000000ll);
	CHECK_INT(p_uint, 7);
	/* A bare boolean takes no value: "false" after it is an argument, not its value. */
	CHECK_INT(parse(err, sizeof(err), 1, "--b"), 0);
	CHECK(p_bool);
	CHECK(parse(err, sizeof(err), 2, "--b", "false") < 0);
	CHECK_STR(err, "unexpected argument 'false' (flags start with --)");
	CHECK_INT(parse(err, sizeof(err), 2, "--collector.x", "--web.s="), 0);
	CHECK(p_enabled);
	CHECK_STR(p_str, "");
	CHECK_INT(parse(err, sizeof(err), 1, "--no-collector.x"), 0);
	CHECK(!p_enabled);
	CHECK(parse(err, sizeof(err), 1, "--nope") < 0);
	CHECK_STR(err, "unknown flag --nope (see --help)");
	CHECK(parse(err, sizeof(err), 1, "--no-nope") < 0);
	CHECK_STR(err, "unknown flag --no-nope (see --help)");
	CHECK(parse(err, sizeof(err), 1, "--") < 0);
	CHECK(parse(err, sizeof(err), 1, "-b") < 0);
	/* A value flag at the end, with nothing after it, is an error, not its default. */
	CHECK(parse(err, sizeof(err), 1, "--d") < 0);
	CHECK(parse(err, sizeof(err), 2, "--u", "seven") < 0);
	CHECK_INT(p_uint, 7);
}

int main(void)
{
	h_suite = "flags";
	RUN(durations);
	RUN(values);
	RUN(command_line);
	return DONE();
}
