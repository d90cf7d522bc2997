/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's clocks in nanoseconds. CLOCK_MONOTONIC is the one clock ticks, rates,
 * deadlines and timeouts read; the others are only for converting a kernel stamp.
 */
#ifndef KPULSE_CLOCK_H
#define KPULSE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* @id (CLOCK_REALTIME, CLOCK_BOOTTIME, ...) in nanoseconds. */
uint64_t clock__ns(clockid_t id);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mono_now_ns(void);
/* @ns of some clock as a timespec, for the calls that wait until one (pthread_cond_timedwait). */
struct timespec clock__timespec(uint64_t ns);

#endif /* KPULSE_CLOCK_H */
