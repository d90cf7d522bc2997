/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The history ring: the last --history.duration of every sample of the METRIC_HISTORY
 * families, one slot per tick, and from it the <family>_max peaks of /metrics and the
 * matrix that /api/v1/history answers. The sampler records, HTTP threads query: one mutex,
 * never held across I/O.
 */
#ifndef KPULSE_HISTORY_H
#define KPULSE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"
#include "metrics.h"
#include "selector.h"

struct history_opts {
	uint64_t duration_ns;	 /* --history.duration: what the API serves; 0: no API */
	uint64_t peak_window_ns; /* --history.peak-window: 0: no _max families */
	uint64_t interval_ns;	 /* the sampler's: one slot per tick */
	unsigned int max_series; /* --history.max-series: series beyond are not kept */
};

/* Queries answered at once; each holds a copy of what it matched until it is sent. */
#define HISTORY_MAX_READERS 4

struct history;
struct history_result;

/* NULL with errno = 0 when both the duration and the peak window are 0 (all off). */
struct history *history__new(const struct history_opts *o);
void history__free(struct history *h);

/*
 * Keep this tick's samples of every METRIC_HISTORY family of @set, taken at @wall_ms
 * (milliseconds since the epoch). A series absent from a tick has no point there; one
 * absent from the whole ring is forgotten. Returns the number of new series refused
 * because --history.max-series were kept already (0 normally).
 */
size_t history__record(struct history *h, const struct mset *set, int64_t wall_ms);
/* Add to @set, for every kept series, <family>_max: its highest value in the peak window. */
int history__add_peaks(struct history *h, struct mset *set);
/* Series kept now, and the bytes the ring holds for them (allocations, headers excluded). */
size_t history__series(struct history *h, size_t *bytes);
/* Slots per series: max(duration, peak window) / interval. */
size_t history__slots(const struct history *h);
bool history__serves(const struct history *h); /* the duration is not 0 */
uint64_t history__duration_ns(const struct history *h);

/* The HELP of <d>_max with a peak window of @window_ns. */
void history__peak_help(const struct metric_desc *d, uint64_t window_ns, char *out, size_t len);

struct history_query {
	const struct selector *sel; /* a series matching any of them is returned */
	size_t nsel;		    /* 0: every series */
	int64_t start_ms, end_ms;   /* inclusive; milliseconds since the epoch */
};

/*
 * Copy the points of the matching series in [start, end] out of the ring, sorted by name
 * and labels; NULL with errno set: EBUSY when HISTORY_MAX_READERS results exist already,
 * ENOMEM. The copy is what is sent, so the ring moves on meanwhile.
 */
struct history_result *history__query(struct history *h, const struct history_query *q);
/* Points and series in the result. */
size_t history_result__points(const struct history_result *r, size_t *series);
/*
 * Write the next at most @max bytes of the Prometheus query_range JSON answer
 * ({"status":"success","data":{"resultType":"matrix","result":[...]}}) into @out; the
 * number written, 0 at the end, -ENOMEM. Rendering is incremental: a large answer never
 * exists whole.
 */
ssize_t history_result__read(struct history_result *r, char *out, size_t max);
void history_result__free(struct history_result *r);

#endif /* KPULSE_HISTORY_H */
