// SPDX-License-Identifier: GPL-2.0
/* Include/exclude filters: anchored POSIX extended regexes, and a bad one named. */
#include <string.h>
#include "filter.h"
#include "harness.h"

TEST(filters)
{
	struct filter f;
	char err[256];

	CHECK_INT(filter__init(&f, NULL, "loop[0-9]+|ram[0-9]+", err, sizeof(err)), 0);
	CHECK(filter__match(&f, "sda"));
	CHECK(!filter__match(&f, "loop0"));
	CHECK(filter__match(&f, "xloop0")); /* anchored: the whole name must match */
	filter__free(&f);
	CHECK_INT(filter__init(&f, "eth.*", "eth9", err, sizeof(err)), 0);
	CHECK(filter__match(&f, "eth0"));
	CHECK(!filter__match(&f, "eth9"));
	CHECK(!filter__match(&f, "lo"));
	filter__free(&f);
	CHECK(filter__init(&f, "(", NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "bad regular expression '('") == err);
}

int main(void)
{
	h_suite = "filter";
	RUN(filters);
	return DONE();
}
