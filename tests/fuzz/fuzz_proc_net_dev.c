// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/<pid>/net/dev, as the net collector reads it for another network namespace: every
 * line it accepts names a device of 1..15 characters without ':', '|' or blanks.
 */
// fuzz-seeds: tests/fixtures/proc/net/dev
#include "fuzz.h"
#include "netdev.h"

static int check(const struct netdev *d, void *ctx)
{
	size_t len = strnlen(d->name, sizeof(d->name));

	FUZZ_CHECK(len > 0 && len < sizeof(d->name));
	FUZZ_CHECK(!strpbrk(d->name, ": \n|"));
	FUZZ_CHECK(!d->has_info);
	(*(unsigned int *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	unsigned int bad = 0, good = 0;

	FUZZ_CHECK(!netdev__parse_proc(s, check, &good, &bad));
	free(s);
	return 0;
}
