// SPDX-License-Identifier: GPL-2.0
/* The cgroup ledger: per-label totals from per-cgroup-id BPF counters (see cgacct.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "buf.h"
#include "cgacct.h"
#include "loader.h"
#include "log.h"

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

int cgacct__init(struct cgacct *a, unsigned int nvals, const char *procfs, unsigned int depth,
		 const char *include, const char *exclude, char *err, size_t errlen)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if (!nvals || nvals > CGACCT_MAX_VALUES) {
		snprintf(err, errlen, "%u values per cgroup: at most %d", nvals, CGACCT_MAX_VALUES);
		return -E2BIG;
	}
	rc = cgroups__init(&a->cg, procfs, depth, include, exclude, err, errlen);
	if (rc) {
		cgroups__free(&a->cg);
		return rc;
	}
	a->nvals = nvals; /* set: cgacct__free has a tree to free */
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
	if (array__grow((void **)&a->labels, &a->caplabels, a->nlabels + 1, sizeof(*a->labels)))
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

/* The id is gone: carry its totals into its label, forget it. */
static void remove_id(struct cgacct *a, size_t i)
{
	struct cgacct_id *e = &a->ids[i];
	struct cgacct_label *l;
	unsigned int k;

	if (e->label) {
		/* The label exists: it was created with the id. */
		l = label_get(a, e->label);
		for (k = 0; l && k < a->nvals; k++)
			l->carried[k] += e->v[k];
	}
	free(e->path);
	free(e->label);
	memmove(&a->ids[i], &a->ids[i + 1], (a->nids - i - 1) * sizeof(*a->ids));
	a->nids--;
}

static int add_id(struct cgacct *a, size_t i, uint64_t id, const char *path, const char *label,
		  const uint64_t *v)
{
	struct cgacct_id *e;

	if (array__grow((void **)&a->ids, &a->capids, a->nids + 1, sizeof(*a->ids)))
		return -ENOMEM;
	if (label && !label_get(a, label))
		return -ENOMEM;
	memmove(&a->ids[i + 1], &a->ids[i], (a->nids - i) * sizeof(*a->ids));
	e = &a->ids[i];
	memset(e, 0, sizeof(*e));
	a->nids++;
	e->id = id;
	memcpy(e->v, v, a->nvals * sizeof(*v));
	e->seen = true;
	e->path = strdup(path);
	e->label = label ? strdup(label) : NULL;
	if (!e->path || (label && !e->label)) {
		remove_id(a, i);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Take a new reading of a known id; true if any total grew. The BPF totals are sums of
 * per-CPU counters that only grow; a lower sum (a CPU's share read mid-update) is ignored.
 */
static bool raise_id(const struct cgacct *a, struct cgacct_id *e, const uint64_t *v)
{
	bool grew = false;
	unsigned int k;

	for (k = 0; k < a->nvals; k++)
		if (v[k] > e->v[k]) {
			e->v[k] = v[k];
			grew = true;
		}
	return grew;
}

/*
 * End of a round: ids not read this round left the map (carried); every label's total is
 * recomputed; a label with no live id goes unless it carries counts and its own cgroup is
 * still there (it may get new children, and its counter must not restart).
 */
static void settle(struct cgacct *a)
{
	size_t i, j;
	unsigned int k;
	bool found;

	for (i = a->nids; i-- > 0;)
		if (!a->ids[i].seen)
			remove_id(a, i);
	for (i = 0; i < a->nlabels; i++) {
		memcpy(a->labels[i].total, a->labels[i].carried, sizeof(a->labels[i].total));
		a->labels[i].nids = 0;
	}
	for (i = 0; i < a->nids; i++) {
		if (!a->ids[i].label)
			continue;
		j = label_index(a, a->ids[i].label, &found);
		if (!found)
			continue; /* cannot happen: created with the id */
		for (k = 0; k < a->nvals; k++)
			a->labels[j].total[k] += a->ids[i].v[k];
		a->labels[j].nids++;
	}
	for (i = 0, j = 0; i < a->nlabels; i++) {
		struct cgacct_label *l = &a->labels[i];
		bool carries = false;

		for (k = 0; k < a->nvals; k++)
			carries |= l->carried[k] != 0;
		if (l->nids || (carries && cgroups__alive(&a->cg, l->name, 0))) {
			a->labels[j++] = *l;
			continue;
		}
		free(l->name);
	}
	a->nlabels = j;
}

int cgacct__update(struct cgacct *a, const uint64_t *ids, const uint64_t *vals, size_t n,
		   void (*forget)(uint64_t id, void *ctx), void *ctx)
{
	int err = 0, rc;
	bool walked = false, found;
	size_t i, j;

	for (i = 0; i < a->nids; i++)
		a->ids[i].seen = false;
	for (i = 0; i < n; i++) {
		const uint64_t *v = &vals[i * a->nvals];
		const struct cgroup_node *node;

		j = id_index(a, ids[i], &found);
		if (found) {
			struct cgacct_id *e = &a->ids[j];

			/* Only an id that stopped growing can be gone: one stat, no walk. */
			if (raise_id(a, e, v) || cgroups__alive(&a->cg, e->path, e->id)) {
				e->seen = true;
				continue;
			}
			remove_id(a, j);
			if (forget)
				forget(ids[i], ctx);
			continue;
		}
		/* A new id: walk the tree, at most once a round. */
		if (!walked) {
			walked = true;
			rc = cgroups__scan(&a->cg);
			if (rc) {
				log_debug("failed to walk the cgroups under %s: %s", a->cg.mount,
					  strerror(-rc));
				err = rc;
			}
		}
		if (err)
			continue; /* unresolved until a walk succeeds: keep its map entry */
		node = cgroups__find(&a->cg, ids[i]);
		if (!node) {
			/* Created and removed between two rounds: nothing to carry it into. */
			if (forget)
				forget(ids[i], ctx);
			continue;
		}
		rc = add_id(a, j, ids[i], node->path, node->rolled_up, v);
		if (rc)
			err = rc;
	}
	settle(a);
	return err;
}

static void delete_entry(uint64_t id, void *ctx)
{
	bpf_map__delete_elem(ctx, &id, sizeof(id), 0);
}

int cgacct__sample_map(struct cgacct *a, struct bpf_map *map)
{
	size_t vsize = a->nvals * sizeof(uint64_t), n = 0;
	uint64_t key;
	unsigned int k;
	int cpu, err;

	if (bpf_map__key_size(map) != sizeof(key) || bpf_map__value_size(map) != vsize)
		return -EINVAL;
	if (!a->percpu) {
		a->ncpus = libbpf_num_possible_cpus();
		if (a->ncpus <= 0)
			return a->ncpus ? a->ncpus : -EINVAL;
		a->percpu = calloc(a->ncpus, vsize);
		if (!a->percpu)
			return -ENOMEM;
	}
	/* Read everything first: entries are deleted while the round is settled. */
	loader__for_each_entry(map, &key, a->percpu, vsize * a->ncpus, err)
	{
		if (n == a->capread) {
			size_t cap = a->capread ? a->capread * 2 : 256;
			void *k2 = realloc(a->keys, cap * sizeof(*a->keys));
			void *s2;

			if (k2)
				a->keys = k2;
			s2 = realloc(a->sums, cap * vsize);
			if (s2)
				a->sums = s2;
			if (!k2 || !s2)
				return -ENOMEM;
			a->capread = cap;
		}
		a->keys[n] = key;
		memset(&a->sums[n * a->nvals], 0, vsize);
		for (cpu = 0; cpu < a->ncpus; cpu++)
			for (k = 0; k < a->nvals; k++)
				a->sums[n * a->nvals + k] += a->percpu[cpu * a->nvals + k];
		n++;
	}
	if (err != -ENOENT)
		return err;
	return cgacct__update(a, a->keys, a->sums, n, delete_entry, map);
}

void cgacct__rotate(struct cgacct *a)
{
	size_t i;

	for (i = 0; i < a->nlabels; i++) {
		memcpy(a->labels[i].prev, a->labels[i].total, sizeof(a->labels[i].prev));
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
	free(a->percpu);
	free(a->keys);
	free(a->sums);
	if (a->nvals)
		cgroups__free(&a->cg);
	memset(a, 0, sizeof(*a));
}
