// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/stat: the cpu-line parser on every line and the btime parser, then two readings
 * through the cpu collector (mode counters never go back, mode ratios stay in 0..1).
 * Readings are split at FUZZ_SPLIT (see fuzz.h).
 */
// fuzz-seeds: tests/fixtures/*/proc/stat
// fuzz-dict: tests/fuzz/proc.dict
#include "fuzz.h"
#include "procfs.h"

extern struct collector cpu_collector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *a, *b;
	size_t alen, blen;
	char *s = fuzz_str(data, size), *line;
	struct cpustat c;
	uint64_t btime;

	for (line = s; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (procstat__parse_cpu(line, &c))
			continue;
		FUZZ_CHECK(c.cpu >= -1 && c.cpu < PROCFS_MAX_CPUS);
		FUZZ_CHECK(!(c.present >> CPU_NMODES));
	}
	procstat__btime(s, &btime);
	free(s);
	fuzz_two(data, size, &a, &alen, &b, &blen);
	fuzz_collector(&cpu_collector, "stat", a, alen, b, blen, true);
	return 0;
}
