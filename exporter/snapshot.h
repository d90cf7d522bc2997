/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An immutable, reference-counted rendering of one tick. The sampler publishes a new one
 * each tick; a scrape takes a reference and serves the bytes without copying them.
 */
#ifndef KPULSE_SNAPSHOT_H
#define KPULSE_SNAPSHOT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Every body a scrape can be served, rendered (and compressed) once per tick. */
enum snap_body {
	SNAP_TEXT,	  /* text format 0.0.4 */
	SNAP_TEXT_GZIP,	  /* the same, gzip-compressed */
	SNAP_OPENMETRICS, /* OpenMetrics 1.0.0 */
	SNAP_OPENMETRICS_GZIP,
	SNAP_NBODIES,
};

struct snap_bytes {
	char *data;
	size_t len;
};

struct snapshot {
	int refs;
	uint64_t mono_ns; /* CLOCK_MONOTONIC when the tick was sampled */
	struct snap_bytes body[SNAP_NBODIES];
};

struct snapstore {
	pthread_mutex_t lock;
	struct snapshot *cur;
	uint64_t published_ns; /* CLOCK_MONOTONIC of the last publish */
};

struct snapshot *snapshot__new(uint64_t mono_ns);
struct snapshot *snapshot__get(struct snapshot *s);
void snapshot__put(struct snapshot *s);

void snapstore__init(struct snapstore *st);
void snapstore__destroy(struct snapstore *st);
/* Replace the current snapshot; the store takes over the caller's reference. */
void snapstore__publish(struct snapstore *st, struct snapshot *s, uint64_t now_ns);
/* A new reference to the current snapshot (NULL before the first tick). */
struct snapshot *snapstore__current(struct snapstore *st, uint64_t *published_ns);

#endif /* KPULSE_SNAPSHOT_H */
