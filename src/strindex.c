// SPDX-License-Identifier: GPL-2.0
/* String index by open addressing; see strindex.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "strindex.h"

uint64_t strindex__hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/* The slot holding @key, or the empty one where it would go. */
static struct strindex_slot *find(const struct strindex *x, const char *key, uint64_t h)
{
	size_t i = h & (x->cap - 1);

	while (x->slots[i].key && (x->slots[i].hash != h || strcmp(x->slots[i].key, key)))
		i = (i + 1) & (x->cap - 1);
	return &x->slots[i];
}

static int grow(struct strindex *x)
{
	size_t cap = x->cap ? x->cap * 2 : 64, i;
	struct strindex_slot *old = x->slots;
	struct strindex y = {.cap = cap, .n = x->n};

	y.slots = calloc(cap, sizeof(*y.slots));
	if (!y.slots)
		return -ENOMEM;
	for (i = 0; i < x->cap; i++)
		if (old[i].key)
			*find(&y, old[i].key, old[i].hash) = old[i];
	free(old);
	*x = y;
	return 0;
}

void strindex__clear(struct strindex *x)
{
	/* A tick with 100 000 mounts must not pin 100 000 slots for the daemon's life. */
	if (x->cap > 1024 && x->n * 8 < x->cap) {
		strindex__free(x);
		return;
	}
	if (x->slots)
		memset(x->slots, 0, x->cap * sizeof(*x->slots));
	x->n = 0;
}

int strindex__put(struct strindex *x, const char *key, size_t val)
{
	struct strindex_slot *s;
	uint64_t h = strindex__hash(key);

	if ((x->n + 1) * 2 > x->cap && grow(x))
		return -ENOMEM;
	s = find(x, key, h);
	if (!s->key) {
		s->key = key;
		s->hash = h;
		x->n++;
	}
	s->val = val;
	return 0;
}

bool strindex__get(const struct strindex *x, const char *key, size_t *val)
{
	const struct strindex_slot *s;

	if (!x->cap)
		return false;
	s = find(x, key, strindex__hash(key));
	if (!s->key)
		return false;
	*val = s->val;
	return true;
}

void strindex__free(struct strindex *x)
{
	free(x->slots);
	x->slots = NULL;
	x->cap = x->n = 0;
}
