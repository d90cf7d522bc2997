// SPDX-License-Identifier: GPL-2.0
/* CPU lists as the kernel prints them; CPUs beyond @n (not possible) are ignored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpus.h"

int cpus__parse_list(const char *s, bool *online, size_t n)
{
	const char *p = s;

	memset(online, 0, n * sizeof(*online));
	while (*p && *p != '\n') {
		unsigned long a, b;
		char *end;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		a = strtoul(p, &end, 10);
		b = a;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			b = strtoul(p, &end, 10);
		}
		if (b < a)
			return -EINVAL;
		for (; a <= b && a < n; a++)
			online[a] = true;
		p = end;
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return 0;
}

int cpus__read_online(const char *sysfs, bool *online, size_t n)
{
	char path[512], line[4096];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/online", sysfs);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = fgets(line, sizeof(line), f) ? cpus__parse_list(line, online, n) : -EINVAL;
	fclose(f);
	return err;
}
