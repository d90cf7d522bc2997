// SPDX-License-Identifier: GPL-2.0
/* CPU lists as the kernel prints them; CPUs beyond @n (not possible) are ignored. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpus.h"
#include "procfs.h"

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
	/*
	 * One buffer for every caller (host and sched read it each tick), which keeps the
	 * file open between reads; the lock, as callers may be on different threads.
	 */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct procfs_buf b;
	char path[512];
	int err;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/online", sysfs);
	pthread_mutex_lock(&lock);
	err = procfs__read_path(path, &b);
	if (!err)
		err = cpus__parse_list(b.data, online, n);
	pthread_mutex_unlock(&lock);
	return err;
}
