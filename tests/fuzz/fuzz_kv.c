// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: kv__parse ("key value" files: /proc/vmstat, /proc/net/snmp6). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"pgmajfault", "pswpin", "oom_kill", "Udp6InErrors", "a"};
	uint64_t out[5];
	char *buf = malloc(size + 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (kv__parse(buf, keys, 5, out) >> 5)
		abort(); /* a bit beyond the keys asked for */
	free(buf);
	return 0;
}
