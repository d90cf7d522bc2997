// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: psi__parse (/proc/pressure/<resource>, <cgroup>/<resource>.pressure). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct psi p;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (!psi__parse(buf, &p) && !p.present)
		abort(); /* success means at least one total parsed */
	free(buf);
	return 0;
}
