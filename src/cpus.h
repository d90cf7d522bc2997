/* SPDX-License-Identifier: GPL-2.0 */
/* Which CPUs are online, from <sysfs>/devices/system/cpu/online ("0-3,5,7-8"). */
#ifndef KPULSE_CPUS_H
#define KPULSE_CPUS_H

#include <stdbool.h>
#include <stddef.h>

/* Parse a kernel CPU list into @online[0..n); -EINVAL if it does not parse. */
int cpus__parse_list(const char *s, bool *online, size_t n);
/* Read the online list under @sysfs; -errno on failure. */
int cpus__read_online(const char *sysfs, bool *online, size_t n);

#endif /* KPULSE_CPUS_H */
