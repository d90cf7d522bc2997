// SPDX-License-Identifier: GPL-2.0
/* Flag values: durations, integers, booleans; bad values are errors, not defaults. */
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

int main(void)
{
	h_suite = "flags";
	RUN(durations);
	RUN(values);
	return DONE();
}
