// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/softnet_stat: the line parser on every line (32-bit hexadecimal counters, an
 * optional CPU column).
 */
// fuzz-seeds: tests/fixtures/kstat-*/proc/net/softnet_stat
// fuzz-dict: tests/fuzz/kstat.dict
#include "fuzz.h"
#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), *line;
	struct softnet sn;

	for (line = s; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (softnet__parse_line(line, &sn))
			continue;
		FUZZ_CHECK(!(sn.present >> SOFTNET_NFIELDS));
		FUZZ_CHECK(sn.cpu >= -1);
	}
	free(s);
	return 0;
}
