// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/meminfo: the parser on the raw bytes, then the memory collector on them as a file
 * (so the reader's cut-line rule and the used ratio are covered too).
 */
// fuzz-seeds: tests/fixtures/*/proc/meminfo
// fuzz-dict: tests/fuzz/proc.dict
#include "fuzz.h"
#include "procfs.h"

extern struct collector memory_collector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct meminfo m;
	int err;

	err = meminfo__parse(s, &m);
	FUZZ_CHECK(!(m.present & m.bad));
	FUZZ_CHECK(!(m.present >> MEMINFO_NFIELDS) && !(m.bad >> MEMINFO_NFIELDS));
	FUZZ_CHECK(err == (m.present ? 0 : -ENODATA));
	free(s);
	fuzz_collector(&memory_collector, "meminfo", data, size, data, size, false);
	return 0;
}
