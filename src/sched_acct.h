/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure bookkeeping of the sched collector (no BPF, unit-tested): run-queue latency
 * bucket bounds, and per-cgroup CPU totals that never go backwards while cgroups come
 * and go and are rolled up into shared labels.
 */
#ifndef KPULSE_SCHED_ACCT_H
#define KPULSE_SCHED_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The @n finite upper bounds, in seconds, of the BPF log2 slots: 2^i µs, i = 0..n-1. */
void sched__rq_bounds(double *bounds, size_t n);
/* The slot the BPF side puts a wait of @ns in (mirror of bpf/sched.bpf.c, for tests). */
unsigned int sched__rq_slot(uint64_t ns, unsigned int nbounds);

/* One cgroup id seen in sched_cgcpu. */
struct cgacct_id {
	uint64_t id;
	uint64_t ns; /* its total as last read (sum over CPUs) */
	char *path;  /* below the cgroup2 mount */
	char *label; /* exported label it rolls up into, NULL if filtered out */
	bool seen;   /* read in the current round */
};

/* One exported label: carried_ns keeps the totals of its cgroups that went away. */
struct cgacct_label {
	char *name;
	uint64_t carried_ns;
	uint64_t total_ns; /* carried + live ids, as of the last cgacct__settle */
	uint64_t prev_ns;  /* total_ns of the settle before */
	bool prev_valid;
	size_t nids; /* live ids rolling up into it */
};

struct cgacct {
	struct cgacct_id *ids; /* sorted by id */
	size_t nids, capids;
	struct cgacct_label *labels; /* sorted by name */
	size_t nlabels, caplabels;
};

/* Start a round: every id is unseen until cgacct__set or cgacct__seen. */
void cgacct__begin(struct cgacct *a);
struct cgacct_id *cgacct__find(struct cgacct *a, uint64_t id);
/* Add id @id (path, label NULL if filtered) or update it; marks it seen; -ENOMEM. */
int cgacct__set(struct cgacct *a, uint64_t id, const char *path, const char *label, uint64_t ns);
/* The cgroup @id is gone: carry its last total into its label, forget it. */
void cgacct__remove(struct cgacct *a, uint64_t id);
/*
 * End a round: ids not seen are removed (carried); every label's total_ns is recomputed;
 * a label with no live id is dropped unless it carries time and @exists says its cgroup
 * is still there. Call cgacct__rotate after exporting.
 */
void cgacct__settle(struct cgacct *a, bool (*exists)(const char *label, void *ctx), void *ctx);
/* Remember every label's total as prev_ns for the next ratio. */
void cgacct__rotate(struct cgacct *a);
void cgacct__free(struct cgacct *a);

#endif /* KPULSE_SCHED_ACCT_H */
