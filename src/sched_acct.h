/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure bookkeeping of the sched collector (no BPF, unit-tested): run-queue latency
 * bucket bounds. Per-cgroup CPU totals are kept by the shared cgroup ledger (cgacct.h).
 */
#ifndef KPULSE_SCHED_ACCT_H
#define KPULSE_SCHED_ACCT_H

#include <stddef.h>
#include <stdint.h>

/* The @n finite upper bounds, in seconds, of the BPF log2 slots: 2^i µs, i = 0..n-1. */
void sched__rq_bounds(double *bounds, size_t n);

#endif /* KPULSE_SCHED_ACCT_H */
