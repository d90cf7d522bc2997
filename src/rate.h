/* SPDX-License-Identifier: GPL-2.0 */
/* Rate math: per-second rates and ratios from two readings of a cumulative counter. */
#ifndef KPULSE_RATE_H
#define KPULSE_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define NSEC_PER_SEC 1000000000ull

/*
 * Increase of a counter from @prev to @cur. A counter that went backwards was reset (a
 * restarted source, a re-created device), so everything it counts now is new: the
 * increase is @cur, never negative.
 */
uint64_t rate__delta(uint64_t prev, uint64_t cur);
/* Per-second rate over @elapsed_ns; false (and no value) when nothing elapsed. */
bool rate__per_second(uint64_t prev, uint64_t cur, uint64_t elapsed_ns, double *out);
/* Share of @elapsed_ns that a nanosecond counter grew by, clamped to [0, 1]. */
bool rate__ratio(uint64_t prev_ns, uint64_t cur_ns, uint64_t elapsed_ns, double *out);

#endif /* KPULSE_RATE_H */
