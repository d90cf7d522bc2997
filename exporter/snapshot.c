// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot publication: one mutex held for a pointer swap, never across I/O; and the
 * bodies of a snapshot, rendered on the first scrape that wants each.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include "expfmt.h"
#include "gzip.h"
#include "snapshot.h"

/*
 * How each body is made: encoded from the set, or compressed from another body. Adding
 * a format is a line here, an enum value and its negotiation; nothing outside exporter/.
 */
static const struct {
	int (*encode)(const struct mset *s, struct buf *out);
	enum snap_body plain; /* with encode NULL: the body this one gzips */
} makers[SNAP_NBODIES] = {
	[SNAP_TEXT] = {expfmt__text},
	[SNAP_TEXT_GZIP] = {NULL, SNAP_TEXT},
	[SNAP_OPENMETRICS] = {expfmt__openmetrics},
	[SNAP_OPENMETRICS_GZIP] = {NULL, SNAP_OPENMETRICS},
};

struct snapshot *snapshot__get(struct snapshot *s)
{
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

/* Keep @set for the next tick if the store has none spare, else free it. */
static void give_back(struct snapstore *st, struct mset *set)
{
	pthread_mutex_lock(&st->lock);
	if (!st->spare) {
		st->spare = set;
		set = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	mset__free(set);
}

void snapshot__put(struct snapshot *s)
{
	int i;

	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < SNAP_NBODIES; i++)
		free(s->body[i].data);
	give_back(s->home, s->set);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Render body @b of @s; with @s->lock held. */
static int render(struct snapshot *s, enum snap_body b)
{
	struct snap_bytes *out = &s->body[b], *plain;
	struct snapstore *st = s->home;
	struct buf buf = {};
	int err;

	if (out->data)
		return 0;
	if (!makers[b].encode) {
		err = render(s, makers[b].plain);
		if (err)
			return err;
		plain = &s->body[makers[b].plain];
		return gzip__compress(plain->data, plain->len, &out->data, &out->len);
	}
	/* One allocation of about the size the last tick needed, not a chain of doublings. */
	buf__reserve(&buf, __atomic_load_n(&st->hint[b], __ATOMIC_RELAXED) * 9 / 8);
	err = makers[b].encode(s->set, &buf);
	out->data = buf__steal(&buf, &out->len);
	if (err || !out->data) {
		free(out->data);
		out->data = NULL;
		buf__free(&buf);
		return err ? err : -ENOMEM;
	}
	__atomic_store_n(&st->hint[b], out->len, __ATOMIC_RELAXED);
	return 0;
}

int snapshot__body(struct snapshot *s, enum snap_body b, const struct snap_bytes **out)
{
	int err;

	pthread_mutex_lock(&s->lock);
	err = render(s, b);
	pthread_mutex_unlock(&s->lock);
	if (!err)
		*out = &s->body[b];
	return err;
}

void snapstore__init(struct snapstore *st)
{
	*st = (struct snapstore){};
	pthread_mutex_init(&st->lock, NULL);
}

void snapstore__destroy(struct snapstore *st)
{
	snapshot__put(st->cur);
	st->cur = NULL;
	mset__free(st->spare);
	st->spare = NULL;
	pthread_mutex_destroy(&st->lock);
}

struct mset *snapstore__take_set(struct snapstore *st)
{
	struct mset *set;

	pthread_mutex_lock(&st->lock);
	set = st->spare;
	st->spare = NULL;
	pthread_mutex_unlock(&st->lock);
	if (!set)
		return mset__new();
	mset__reset(set);
	return set;
}

int snapstore__publish(struct snapstore *st, struct mset *set, uint64_t mono_ns, uint64_t now_ns)
{
	struct snapshot *s, *old;

	/* A set that failed to fill would render as an error: keep serving the last one. */
	s = set->err ? NULL : calloc(1, sizeof(*s));
	if (!s) {
		give_back(st, set);
		return -ENOMEM;
	}
	s->refs = 1;
	s->mono_ns = mono_ns;
	s->home = st;
	s->set = set;
	pthread_mutex_init(&s->lock, NULL);

	pthread_mutex_lock(&st->lock);
	old = st->cur;
	st->cur = s;
	st->published_ns = now_ns;
	pthread_mutex_unlock(&st->lock);
	snapshot__put(old);
	return 0;
}

struct snapshot *snapstore__current(struct snapstore *st, uint64_t *published_ns)
{
	struct snapshot *s;

	pthread_mutex_lock(&st->lock);
	s = snapshot__get(st->cur);
	if (published_ns)
		*published_ns = st->published_ns;
	pthread_mutex_unlock(&st->lock);
	return s;
}
