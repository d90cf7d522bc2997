/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Metrics about kpulse itself: the process (named as client_golang's process collector
 * names them) and the BPF programs it loaded, optionally with kernel run statistics.
 */
#ifndef KPULSE_SELF_H
#define KPULSE_SELF_H

#include <stdbool.h>
#include "metrics.h"

/*
 * Find every BPF program this process holds (all collectors' skeletons) and where each
 * is attached; with @stats, enable kernel BPF run-time statistics for as long as kpulse
 * runs. Call after the collectors started and before privileges are dropped (finding
 * attach points and enabling statistics need them). -errno if @stats cannot be enabled.
 */
int self__init(const char *procfs, bool stats);
/* Add the process and program families to @out. */
void self__sample(struct mset *out);
void self__destroy(void);

extern const struct metric_desc *const self_metrics[];

#endif /* KPULSE_SELF_H */
