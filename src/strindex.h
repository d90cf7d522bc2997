/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An index from strings to positions, so that looking a name up (a device, a mount point,
 * a statfs path) costs the same with 20 000 of them as with 20: open addressing, FNV-1a,
 * at most half full. Keys are not copied: each must stay valid and unchanged until the
 * next strindex__clear. Rebuilt per tick by its users, so there is no removal.
 */
#ifndef KPULSE_STRINDEX_H
#define KPULSE_STRINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strindex_slot {
	const char *key; /* NULL: empty */
	uint64_t hash;
	size_t val;
};

struct strindex {
	struct strindex_slot *slots;
	size_t cap, n; /* cap is 0 or a power of two */
};

/* FNV-1a of @s: the hash the index uses, for anyone who needs one. */
uint64_t strindex__hash(const char *s);
/* Forget every key; the memory is kept, unless it is far larger than what was used. */
void strindex__clear(struct strindex *x);
/* Map @key to @val, replacing its value if it is there; -ENOMEM. */
int strindex__put(struct strindex *x, const char *key, size_t val);
/* true and *@val if @key is there. */
bool strindex__get(const struct strindex *x, const char *key, size_t *val);
void strindex__free(struct strindex *x);

#endif /* KPULSE_STRINDEX_H */
