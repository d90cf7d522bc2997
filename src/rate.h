/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rate math: per-second rates and ratios from two readings of a cumulative counter, the
 * interval they cover (measured with mono_now_ns(), exporter/clock.h).
 */
#ifndef KPULSE_RATE_H
#define KPULSE_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_SEC 1000000000ull

/*
 * The interval a reading at @now_ns closes, the previous one being at @prev_ns (0: none),
 * for rates over a sampler interval of @interval_ns: 0, meaning "publish no rate yet",
 * when there is no previous reading or when less than half an interval has passed. A
 * rate over a few milliseconds is noise, however exactly it is divided.
 */
uint64_t rate__elapsed(uint64_t prev_ns, uint64_t now_ns, uint64_t interval_ns);

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
/*
 * The @q quantile (0..1) of what a histogram counted between two readings: @prev and @cur
 * are per-bucket (not cumulative) counts of the @n finite upper @bounds and +Inf. Linear
 * interpolation within the bucket, from 0 for the first one, and the highest finite bound
 * for a rank in +Inf: what Prometheus' histogram_quantile() answers over the same buckets.
 * false when nothing was counted in between.
 */
bool rate__quantile(const double *bounds, size_t n, const uint64_t *prev, const uint64_t *cur,
		    double q, double *out);

#endif /* KPULSE_RATE_H */
