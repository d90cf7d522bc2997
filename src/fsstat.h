/* SPDX-License-Identifier: GPL-2.0 */
/*
 * statfs() off the sampler thread, with a deadline. A dead NFS server or a wedged FUSE
 * daemon blocks statfs() for as long as it likes; here a small pool of detached worker
 * threads makes the calls, the sampler waits for the answers a bounded time
 * (pthread_cond_timedwait on CLOCK_MONOTONIC), and a call that outlives its deadline marks
 * the mount hung: no new call is issued for it until the stuck one returns, so one hung
 * mount ties up at most one thread, and freeing the pool never waits for it.
 */
#ifndef KPULSE_FSSTAT_H
#define KPULSE_FSSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fsstat {
	uint64_t blocks, bfree, bavail; /* in units of bsize */
	uint64_t files, ffree;
	uint64_t bsize;
	bool readonly; /* ST_RDONLY: the mount or its superblock is read-only */
};

/* The call the workers make: 0 or -errno. Tests pass a fake one. */
typedef int (*fsstat_fn)(const char *path, struct fsstat *out);

enum fsstat_state {
	FSSTAT_OK,	/* answered in this round; st is valid */
	FSSTAT_ERROR,	/* answered with an error (err) */
	FSSTAT_PENDING, /* still running, but not past its deadline yet */
	FSSTAT_HUNG,	/* running past its deadline: not asked again until it returns */
};

struct fsstat_answer {
	enum fsstat_state state;
	int err;
	struct fsstat st;
	bool changed; /* state went from good to bad or back: worth one log line */
};

struct fsstat_pool;

/* The real statfs(2). */
int fsstat__statfs(const char *path, struct fsstat *out);

/* A pool that runs @fn; calls outliving @timeout_ns are hung. NULL with errno set. */
struct fsstat_pool *fsstat_pool__new(fsstat_fn fn, uint64_t timeout_ns);
/*
 * One round: ask about each of @paths that has no call in flight, then wait until every
 * call not yet hung has answered, or @wait_ns passed. @out[i] answers @paths[i]. Paths not
 * listed are forgotten (once their call, if any, returns). -ENOMEM.
 */
int fsstat_pool__round(struct fsstat_pool *p, const char *const *paths, size_t n, uint64_t wait_ns,
		       struct fsstat_answer *out);
/* Threads of the pool alive now (stuck ones included). */
unsigned int fsstat_pool__threads(struct fsstat_pool *p);
/* Free the pool without waiting: a thread stuck in a call frees what it holds on return. */
void fsstat_pool__free(struct fsstat_pool *p);

#endif /* KPULSE_FSSTAT_H */
