/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An immutable, reference-counted tick: its metric set, and the bodies rendered from it.
 * The sampler publishes one each tick; a scrape takes a reference and serves its bytes
 * without copying them. A body is rendered (and compressed) by the first scrape that asks
 * for it and kept for the snapshot's life, so a tick nobody scrapes renders nothing and
 * every scrape of a tick gets the same bytes.
 */
#ifndef KPULSE_SNAPSHOT_H
#define KPULSE_SNAPSHOT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "metrics.h"

/* Every body a scrape can be served, rendered (and compressed) at most once per tick. */
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

struct snapstore;

struct snapshot {
	int refs;
	uint64_t mono_ns;	/* CLOCK_MONOTONIC when the tick was sampled */
	struct snapstore *home; /* takes the set back when the last reference goes */
	struct mset *set;	/* the tick's samples; read-only once published */
	pthread_mutex_t lock;	/* held while a body is rendered; a failed one is tried again */
	struct snap_bytes body[SNAP_NBODIES];
};

struct snapstore {
	pthread_mutex_t lock;
	struct snapshot *cur;
	uint64_t published_ns; /* CLOCK_MONOTONIC of the last publish */
	/*
	 * The set of a snapshot nobody holds any more, kept for the next tick: its arrays
	 * have the size a tick needs, so a tick allocates nothing.
	 */
	struct mset *spare;
	size_t hint[SNAP_NBODIES]; /* the last rendered size of each body, to allocate once */
};

struct snapshot *snapshot__get(struct snapshot *s);
void snapshot__put(struct snapshot *s);
/*
 * The body @b of @s, rendered now if no scrape asked for it yet; -ENOMEM (then *@out is
 * untouched). The bytes live as long as the caller's reference to @s.
 */
int snapshot__body(struct snapshot *s, enum snap_body b, const struct snap_bytes **out);

void snapstore__init(struct snapstore *st);
void snapstore__destroy(struct snapstore *st);
/* An empty set for the next tick to fill (NULL when out of memory). */
struct mset *snapstore__take_set(struct snapstore *st);
/*
 * Publish @set, sampled at @mono_ns, as the current snapshot, which takes it over; -ENOMEM
 * (the set failed to fill, or no memory for the snapshot) keeps the previous one current.
 */
int snapstore__publish(struct snapstore *st, struct mset *set, uint64_t mono_ns, uint64_t now_ns);
/* A new reference to the current snapshot (NULL before the first tick). */
struct snapshot *snapstore__current(struct snapstore *st, uint64_t *published_ns);

#endif /* KPULSE_SNAPSHOT_H */
