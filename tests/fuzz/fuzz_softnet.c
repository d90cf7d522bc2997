// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: softnet__parse_line (one line of /proc/net/softnet_stat). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kstat.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct softnet s;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (!softnet__parse_line(buf, &s) &&
	    (!(s.present & 1) || s.cpu >= PROCFS_MAX_CPUS || s.cpu < -1))
		abort(); /* a parsed line has its first counter and a bounded CPU */
	free(buf);
	return 0;
}
