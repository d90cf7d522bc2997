/* SPDX-License-Identifier: GPL-2.0 */
/* The sampler: once per tick, every collector reads its sources; the result is published
 * as an immutable snapshot, which the first scrape of each format renders. */
#ifndef KPULSE_SAMPLER_H
#define KPULSE_SAMPLER_H

#include "buf.h"
#include "collector.h"
#include "history.h"
#include "metrics.h"
#include "snapshot.h"

struct sampler {
	const struct kpulse_config *cfg;
	struct snapstore *store;
	struct mset *set;	 /* the set being filled, during a tick */
	struct history *history; /* NULL when --history.* turned it off */
	uint64_t prev_ns;	 /* when the last tick began; 0 before the first */
	uint64_t seq;
	bool history_full; /* logged that --history.max-series refused series */
};

/* Families the sampler adds about kpulse itself, NULL-terminated. */
extern const struct metric_desc *const sampler_metrics[];

/* @history (may be NULL) records every tick; it stays the caller's. */
int sampler__init(struct sampler *s, const struct kpulse_config *cfg, struct snapstore *store,
		  struct history *history);
/* Sample every started collector and publish; -ENOMEM if the set could not be filled. */
int sampler__tick(struct sampler *s);
void sampler__destroy(struct sampler *s);

#endif /* KPULSE_SAMPLER_H */
