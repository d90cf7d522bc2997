// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/diskstats: the line parser, then two readings through the disk collector (rates
 * finite and non-negative, utilization within 0..1, one series per device name).
 * Readings are split at FUZZ_SPLIT (see fuzz.h).
 */
// fuzz-seeds: tests/fixtures/*/proc/diskstats
// fuzz-dict: tests/fuzz/proc.dict
#include "fuzz.h"
#include "procfs.h"

extern struct collector disk_collector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *a, *b;
	size_t alen, blen;
	char *s = fuzz_str(data, size), *line;
	struct diskstat d;

	for (line = s; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (diskstats__parse_line(line, &d))
			continue;
		FUZZ_CHECK(d.name[0] && strlen(d.name) < DISK_NAME_MAX);
		FUZZ_CHECK(!strpbrk(d.name, " \t\n"));
		FUZZ_CHECK(!(d.present >> DISK_NFIELDS));
	}
	free(s);
	fuzz_two(data, size, &a, &alen, &b, &blen);
	fuzz_collector(&disk_collector, "diskstats", a, alen, b, blen, false);
	return 0;
}
