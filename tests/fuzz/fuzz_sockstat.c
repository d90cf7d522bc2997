// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: sockstat__get (/proc/net/sockstat). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	uint64_t v;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	sockstat__get(buf, "TCP", "tw", &v);
	sockstat__get(buf, "UDP", "inuse", &v);
	free(buf);
	return 0;
}
