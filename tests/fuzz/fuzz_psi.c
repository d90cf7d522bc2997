// SPDX-License-Identifier: GPL-2.0
/*
 * Pressure stall information (/proc/pressure/<resource>, cgroup <resource>.pressure): the
 * parser on the raw bytes; a total it reports is one it read.
 */
// fuzz-seeds: tests/fixtures/kstat-*/proc/pressure/* tests/fixtures/kstat-*/cgroup/*.pressure
// tests/fixtures/kstat-*/cgroup/*/*.pressure fuzz-dict: tests/fuzz/kstat.dict
#include "fuzz.h"
#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct psi p;
	int err;

	err = psi__parse(s, &p);
	FUZZ_CHECK(!(p.present >> PSI_NKINDS));
	FUZZ_CHECK(err == (p.present ? 0 : -ENODATA));
	if (p.present)
		FUZZ_CHECK(strstr(s, "total=") != NULL);
	free(s);
	return 0;
}
