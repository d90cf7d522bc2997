// SPDX-License-Identifier: GPL-2.0
/* Run-queue latency buckets and per-cgroup carried totals (see sched_acct.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sched_acct.h"

void sched__rq_bounds(double *bounds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		bounds[i] = ldexp(1e-6, (int)i);
}

unsigned int sched__rq_slot(uint64_t ns, unsigned int nbounds)
{
	uint64_t us = ns / 1000;
	unsigned int slot = 0;

	while (us) {
		slot++;
		us >>= 1;
	}
	return slot > nbounds ? nbounds : slot;
}

/*
 * Index of the element that @cmp(element, key) says is @key in the sorted array @base of
 * @n elements of @size bytes, or where it would be inserted (*found false).
 */
static size_t sorted_index(const void *base, size_t n, size_t size, const void *key,
			   int (*cmp)(const void *elem, const void *key), bool *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp((const char *)base + mid * size, key);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int cmp_id(const void *elem, const void *key)
{
	uint64_t a = ((const struct cgacct_id *)elem)->id, b = *(const uint64_t *)key;

	return a < b ? -1 : a > b;
}

static int cmp_label(const void *elem, const void *key)
{
	return strcmp(((const struct cgacct_label *)elem)->name, key);
}

static size_t id_index(const struct cgacct *a, uint64_t id, bool *found)
{
	return sorted_index(a->ids, a->nids, sizeof(*a->ids), &id, cmp_id, found);
}

static size_t label_index(const struct cgacct *a, const char *name, bool *found)
{
	return sorted_index(a->labels, a->nlabels, sizeof(*a->labels), name, cmp_label, found);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t cap2;
	void *q;

	if (need <= *cap)
		return 0;
	cap2 = *cap ? *cap * 2 : 64;
	q = realloc(*p, cap2 * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = cap2;
	return 0;
}

/* The label @name, created (carrying nothing) if new; NULL on -ENOMEM. */
static struct cgacct_label *label_get(struct cgacct *a, const char *name)
{
	struct cgacct_label *l;
	bool found;
	size_t i = label_index(a, name, &found);

	if (found)
		return &a->labels[i];
	if (grow((void **)&a->labels, &a->caplabels, a->nlabels + 1, sizeof(*a->labels)))
		return NULL;
	memmove(&a->labels[i + 1], &a->labels[i], (a->nlabels - i) * sizeof(*a->labels));
	l = &a->labels[i];
	memset(l, 0, sizeof(*l));
	l->name = strdup(name);
	if (!l->name) {
		memmove(&a->labels[i], &a->labels[i + 1], (a->nlabels - i) * sizeof(*a->labels));
		return NULL;
	}
	a->nlabels++;
	return l;
}

void cgacct__begin(struct cgacct *a)
{
	size_t i;

	for (i = 0; i < a->nids; i++)
		a->ids[i].seen = false;
}

struct cgacct_id *cgacct__find(struct cgacct *a, uint64_t id)
{
	bool found;
	size_t i = id_index(a, id, &found);

	return found ? &a->ids[i] : NULL;
}

int cgacct__set(struct cgacct *a, uint64_t id, const char *path, const char *label, uint64_t ns)
{
	struct cgacct_id *e;
	bool found;
	size_t i = id_index(a, id, &found);

	if (found) {
		e = &a->ids[i];
		/* The BPF total is a sum of per-CPU counters that only grow. */
		if (ns > e->ns)
			e->ns = ns;
		e->seen = true;
		return 0;
	}
	if (grow((void **)&a->ids, &a->capids, a->nids + 1, sizeof(*a->ids)))
		return -ENOMEM;
	if (label && !label_get(a, label))
		return -ENOMEM;
	memmove(&a->ids[i + 1], &a->ids[i], (a->nids - i) * sizeof(*a->ids));
	e = &a->ids[i];
	memset(e, 0, sizeof(*e));
	a->nids++;
	e->id = id;
	e->ns = ns;
	e->seen = true;
	e->path = strdup(path);
	e->label = label ? strdup(label) : NULL;
	if (!e->path || (label && !e->label)) {
		cgacct__remove(a, id);
		return -ENOMEM;
	}
	return 0;
}

void cgacct__remove(struct cgacct *a, uint64_t id)
{
	struct cgacct_label *l;
	struct cgacct_id *e;
	bool found;
	size_t i = id_index(a, id, &found);

	if (!found)
		return;
	e = &a->ids[i];
	if (e->label) {
		/* The label exists: it was created with the id. */
		l = label_get(a, e->label);
		if (l)
			l->carried_ns += e->ns;
	}
	free(e->path);
	free(e->label);
	memmove(&a->ids[i], &a->ids[i + 1], (a->nids - i - 1) * sizeof(*a->ids));
	a->nids--;
}

void cgacct__settle(struct cgacct *a, bool (*exists)(const char *label, void *ctx), void *ctx)
{
	size_t i, j;
	bool found;

	for (i = a->nids; i-- > 0;)
		if (!a->ids[i].seen)
			cgacct__remove(a, a->ids[i].id);
	for (i = 0; i < a->nlabels; i++) {
		a->labels[i].total_ns = a->labels[i].carried_ns;
		a->labels[i].nids = 0;
	}
	for (i = 0; i < a->nids; i++) {
		if (!a->ids[i].label)
			continue;
		j = label_index(a, a->ids[i].label, &found);
		if (!found)
			continue; /* cannot happen: created with the id */
		a->labels[j].total_ns += a->ids[i].ns;
		a->labels[j].nids++;
	}
	for (i = 0, j = 0; i < a->nlabels; i++) {
		struct cgacct_label *l = &a->labels[i];

		if (l->nids || (l->carried_ns && exists && exists(l->name, ctx))) {
			a->labels[j++] = *l;
			continue;
		}
		free(l->name);
	}
	a->nlabels = j;
}

void cgacct__rotate(struct cgacct *a)
{
	size_t i;

	for (i = 0; i < a->nlabels; i++) {
		a->labels[i].prev_ns = a->labels[i].total_ns;
		a->labels[i].prev_valid = true;
	}
}

void cgacct__free(struct cgacct *a)
{
	size_t i;

	for (i = 0; i < a->nids; i++) {
		free(a->ids[i].path);
		free(a->ids[i].label);
	}
	for (i = 0; i < a->nlabels; i++)
		free(a->labels[i].name);
	free(a->ids);
	free(a->labels);
	memset(a, 0, sizeof(*a));
}
