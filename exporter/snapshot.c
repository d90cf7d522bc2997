// SPDX-License-Identifier: GPL-2.0
/* Snapshot publication: one mutex held for a pointer swap, never across I/O. */
#include <stdlib.h>
#include "snapshot.h"

struct snapshot *snapshot__new(uint64_t mono_ns)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->refs = 1;
	s->mono_ns = mono_ns;
	return s;
}

struct snapshot *snapshot__get(struct snapshot *s)
{
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void snapshot__put(struct snapshot *s)
{
	int i;

	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < SNAP_NBODIES; i++)
		free(s->body[i].data);
	free(s);
}

void snapstore__init(struct snapstore *st)
{
	pthread_mutex_init(&st->lock, NULL);
	st->cur = NULL;
	st->published_ns = 0;
}

void snapstore__destroy(struct snapstore *st)
{
	snapshot__put(st->cur);
	st->cur = NULL;
	pthread_mutex_destroy(&st->lock);
}

void snapstore__publish(struct snapstore *st, struct snapshot *s, uint64_t now_ns)
{
	struct snapshot *old;

	pthread_mutex_lock(&st->lock);
	old = st->cur;
	st->cur = s;
	st->published_ns = now_ns;
	pthread_mutex_unlock(&st->lock);
	snapshot__put(old);
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
