// SPDX-License-Identifier: GPL-2.0
/*
 * "key value" files, /proc/vmstat and /proc/net/snmp6: the parser on the raw bytes, then
 * two readings through the vmstat collector (its counters are the kernel's as they are).
 * Readings are split at FUZZ_SPLIT (see fuzz.h).
 */
// fuzz-seeds: tests/fixtures/kstat-*/proc/vmstat tests/fixtures/kstat-*/proc/net/snmp6
// fuzz-dict: tests/fuzz/kstat.dict
#include "fuzz.h"
#include "kstat.h"

extern struct collector vmstat_collector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"pgfault", "pgmajfault",   "oom_kill",
					   "pswpin",  "Udp6InErrors", "workingset_refault_anon"};
	const size_t n = sizeof(keys) / sizeof(keys[0]);
	const uint8_t *a, *b;
	size_t alen, blen;
	char *s = fuzz_str(data, size);
	uint64_t out[6];
	uint32_t got;
	size_t i;

	got = kv__parse(s, keys, n, out);
	FUZZ_CHECK(!(got >> n));
	for (i = 0; i < n; i++)
		if (got & (1u << i))
			FUZZ_CHECK(strstr(s, keys[i]) != NULL);
	free(s);
	fuzz_two(data, size, &a, &alen, &b, &blen);
	fuzz_collector(&vmstat_collector, "vmstat", a, alen, b, blen, false);
	return 0;
}
