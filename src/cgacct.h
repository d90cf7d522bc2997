/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cgroup ledger: per-cgroup counters that a BPF map keeps per cgroup v2 id, turned
 * into per-label totals that never go backwards while cgroups come and go. Every
 * collector that counts per cgroup (sched, net) keeps one.
 *
 * Each tick the collector hands over every id of its map with the id's N totals:
 *  - an id not seen before is resolved by one walk of the cgroup tree (at most one walk
 *    per tick) to its path and label (the path rolled up to the depth, or filtered out);
 *  - an id whose totals grew is alive: no system call;
 *  - an id whose totals stopped growing is checked with one stat() of its path; if its
 *    directory is gone, its totals are carried into its label and the id is forgotten
 *    (the collector deletes its map entry), so the label's counter keeps them;
 *  - a label none of whose ids is alive is dropped once its own cgroup is gone as well,
 *    so `cgroup` label values do not pile up on a host where cgroups churn.
 * Counts of a cgroup created and removed between two ticks cannot be resolved: lost.
 */
#ifndef KPULSE_CGACCT_H
#define KPULSE_CGACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cgroup.h"

/* Most values one cgroup carries (sched: CPU ns; net: bytes sent and received). */
#define CGACCT_MAX_VALUES 4

struct bpf_map;

/* One cgroup id seen in the map. */
struct cgacct_id {
	uint64_t id;
	uint64_t v[CGACCT_MAX_VALUES]; /* its totals as last read (never lowered) */
	char *path;		       /* below the cgroup2 mount */
	char *label;		       /* exported label it rolls up into, NULL if filtered out */
	bool seen;		       /* read in the current round */
};

/* One exported label. */
struct cgacct_label {
	char *name;
	uint64_t carried[CGACCT_MAX_VALUES]; /* totals of its cgroups that went away */
	uint64_t total[CGACCT_MAX_VALUES];   /* carried + live ids, as of the last round */
	uint64_t prev[CGACCT_MAX_VALUES];    /* total of the round before (cgacct__rotate) */
	bool prev_valid;
	size_t nids; /* live ids rolling up into it */
};

struct cgacct {
	struct cgroups cg; /* mount, depth, filters and the last walk of the tree */
	unsigned int nvals;
	int ncpus;	       /* possible CPUs: the map is per-CPU */
	uint64_t *percpu;      /* one map value over every CPU */
	uint64_t *keys, *sums; /* one round's ids and totals (cgacct__sample_map) */
	size_t capread;
	struct cgacct_id *ids; /* sorted by id */
	size_t nids, capids;
	struct cgacct_label *labels; /* sorted by name */
	size_t nlabels, caplabels;
};

/*
 * Find the cgroup2 mount and compile the filters for @nvals values per cgroup, labels
 * rolled up to @depth path components; -errno with @err saying what failed (-EINVAL: a
 * bad regex, -ENOENT: no cgroup2 mount).
 */
int cgacct__init(struct cgacct *a, unsigned int nvals, const char *procfs, unsigned int depth,
		 const char *include, const char *exclude, char *err, size_t errlen);
/*
 * One round: @ids[i] has the @nvals totals at @vals[i * nvals]. @forget(id) is called for
 * every id that is gone (its map entry can go). Recomputes every label's total; -errno
 * if the tree cannot be walked (the round is then still complete for known ids).
 */
int cgacct__update(struct cgacct *a, const uint64_t *ids, const uint64_t *vals, size_t n,
		   void (*forget)(uint64_t id, void *ctx), void *ctx);
/*
 * cgacct__update from a per-CPU hash keyed by cgroup id (__u64) whose value is @nvals
 * __u64 counters, summed over CPUs; the entries of removed cgroups are deleted.
 */
int cgacct__sample_map(struct cgacct *a, struct bpf_map *map);
/* Remember every label's total as its prev, for the next round's rates. */
void cgacct__rotate(struct cgacct *a);
void cgacct__free(struct cgacct *a);

#endif /* KPULSE_CGACCT_H */
