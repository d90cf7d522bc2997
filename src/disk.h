/* SPDX-License-Identifier: GPL-2.0 */
/* What other per-device collectors share with the disk collector. */
#ifndef KPULSE_DISK_H
#define KPULSE_DISK_H

#include <stddef.h>
#include "filter.h"

/*
 * The device filter of --collector.disk.device-include / -exclude (an include drops the
 * default exclude), so every per-disk family reports the same devices; -EINVAL with @err
 * filled if a pattern does not compile.
 */
int disk__filter_init(struct filter *f, char *err, size_t errlen);

#endif /* KPULSE_DISK_H */
