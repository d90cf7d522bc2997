// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/loadavg, /proc/cpuinfo and sysfs CPU lists (devices/system/cpu/online): the host
 * collector's parsers. The input is all three at once: each parser takes what it can.
 */
// fuzz-seeds: tests/fixtures/*/proc/loadavg tests/fixtures/*/proc/cpuinfo
// tests/fixtures/*/sys/devices/system/cpu/online
#include <stdbool.h>
#include "cpus.h"
#include "fuzz.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), model[64];
	bool online[64];
	double load[3] = {0, 0, 0};
	unsigned int ok, i;

	ok = loadavg__parse(s, load);
	FUZZ_CHECK(ok < 8);
	for (i = 0; i < 3; i++)
		if (ok & (1u << i))
			FUZZ_CHECK(isfinite(load[i]) && load[i] >= 0);
	if (!cpuinfo__model(s, model, sizeof(model)))
		FUZZ_CHECK(model[0] && strlen(model) < sizeof(model) && !strchr(model, '\n'));
	cpus__parse_list(s, online, sizeof(online) / sizeof(online[0]));
	free(s);
	return 0;
}
