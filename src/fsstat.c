// SPDX-License-Identifier: GPL-2.0
/* The statfs worker pool; see fsstat.h. Everything shared is under pool->mu. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include "clock.h"
#include "fsstat.h"
#include "log.h"
#include "clock.h"
#include "strindex.h"

/* Threads that are not stuck: enough for fast local filesystems, which answer in µs. */
#define FSSTAT_PARALLEL 2
/* At most this many threads: each hung mount holds one until its call returns. */
#define FSSTAT_MAX_THREADS 32

enum entry_state {
	ENTRY_IDLE,
	ENTRY_QUEUED,
	ENTRY_RUNNING,
	ENTRY_DONE,
};

struct entry {
	char *path;
	enum entry_state state;
	uint64_t issued_ns; /* when the call in flight was queued */
	int err;
	struct fsstat st;
	uint64_t round; /* last round that listed it */
	bool bad;	/* last answer given was ERROR or HUNG */
	bool orphan;	/* the pool is gone: the worker frees the entry */
	struct entry *qnext;
};

struct fsstat_pool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* workers wait for entries to call */
	pthread_cond_t done; /* the sampler waits for answers */
	fsstat_fn fn;
	uint64_t timeout_ns;
	struct entry **entries;
	size_t nentries, capentries;
	struct strindex index; /* path -> position in entries */
	struct entry *qhead, *qtail;
	unsigned int nthreads, idle;
	uint64_t round;
	bool shutdown;
	bool warned_spawn;
};

int fsstat__statfs(const char *path, struct fsstat *out)
{
	struct statfs st;

	if (statfs(path, &st))
		return -errno;
	/* Block counts are in fragment-size units (statvfs(3) says f_frsize). */
	out->bsize = st.f_frsize ? (uint64_t)st.f_frsize : (uint64_t)st.f_bsize;
	out->blocks = st.f_blocks;
	out->bfree = st.f_bfree;
	out->bavail = st.f_bavail;
	out->files = st.f_files;
	out->ffree = st.f_ffree;
	out->readonly = st.f_flags & ST_RDONLY;
	return 0;
}

static void free_entry(struct entry *e)
{
	free(e->path);
	free(e);
}

static void free_pool(struct fsstat_pool *p)
{
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p->entries);
	strindex__free(&p->index);
	free(p);
}

static void *worker(void *arg)
{
	struct fsstat_pool *p = arg;
	bool last;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct entry *e;
		struct fsstat st = {};
		int err;

		while (!p->qhead && !p->shutdown) {
			p->idle++;
			pthread_cond_wait(&p->work, &p->mu);
			p->idle--;
		}
		if (p->shutdown)
			break;
		e = p->qhead;
		p->qhead = e->qnext;
		if (!p->qhead)
			p->qtail = NULL;
		e->state = ENTRY_RUNNING;
		/* The entry is not freed while it runs, so its path stays valid unlocked. */
		pthread_mutex_unlock(&p->mu);
		err = p->fn(e->path, &st);
		pthread_mutex_lock(&p->mu);
		if (e->orphan) {
			free_entry(e);
		} else {
			e->err = err;
			e->st = st;
			e->state = ENTRY_DONE;
			pthread_cond_broadcast(&p->done);
		}
		/* A thread back from a long call is surplus if others already wait. */
		if (p->idle >= FSSTAT_PARALLEL)
			break;
	}
	p->nthreads--;
	last = p->shutdown && !p->nthreads;
	pthread_mutex_unlock(&p->mu);
	if (last)
		free_pool(p);
	return NULL;
}

/* Start one detached worker, every signal blocked (SIGINT/SIGTERM belong to main). */
static int spawn(struct fsstat_pool *p)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	err = pthread_create(&tid, &attr, worker, p);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		p->nthreads++;
	return -err;
}

struct fsstat_pool *fsstat_pool__new(fsstat_fn fn, uint64_t timeout_ns)
{
	struct fsstat_pool *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;

	if (!p)
		return NULL;
	p->fn = fn;
	p->timeout_ns = timeout_ns;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	/* Deadlines on the monotonic clock: a wall-clock step must not stretch a wait. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->work, &ca);
	pthread_cond_init(&p->done, &ca);
	pthread_condattr_destroy(&ca);
	return p;
}

static bool in_flight(const struct entry *e)
{
	return e->state == ENTRY_QUEUED || e->state == ENTRY_RUNNING;
}

static bool hung(const struct fsstat_pool *p, const struct entry *e, uint64_t now)
{
	return in_flight(e) && now - e->issued_ns >= p->timeout_ns;
}

/* The entry of @path, created if there is none: a hash lookup, whatever the mount count. */
static struct entry *lookup(struct fsstat_pool *p, const char *path)
{
	struct entry *e;
	size_t i;

	if (strindex__get(&p->index, path, &i))
		return p->entries[i];
	if (p->nentries == p->capentries) {
		size_t cap = p->capentries ? p->capentries * 2 : 16;
		struct entry **n = realloc(p->entries, cap * sizeof(*n));

		if (!n)
			return NULL;
		p->entries = n;
		p->capentries = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		return NULL;
	}
	/* The key is the entry's own copy of the path: it lives as long as the entry. */
	if (strindex__put(&p->index, e->path, p->nentries)) {
		free_entry(e);
		return NULL;
	}
	p->entries[p->nentries++] = e;
	return e;
}

static void enqueue(struct fsstat_pool *p, struct entry *e, uint64_t now)
{
	e->state = ENTRY_QUEUED;
	e->issued_ns = now;
	e->qnext = NULL;
	if (p->qtail)
		p->qtail->qnext = e;
	else
		p->qhead = e;
	p->qtail = e;
}

/* Enough threads for what is queued, not counting those stuck in a hung call. */
static void grow(struct fsstat_pool *p, uint64_t now)
{
	unsigned int stuck = 0, queued = 0;
	struct entry *e;
	size_t i;

	for (i = 0; i < p->nentries; i++)
		stuck += p->entries[i]->state == ENTRY_RUNNING && hung(p, p->entries[i], now);
	for (e = p->qhead; e; e = e->qnext)
		queued++;
	while (queued > p->idle && p->nthreads - stuck < FSSTAT_PARALLEL &&
	       p->nthreads < FSSTAT_MAX_THREADS) {
		int err = spawn(p);

		if (err) {
			if (!p->warned_spawn)
				log_warn("failed to start a statfs thread: %s", strerror(-err));
			p->warned_spawn = true;
			break;
		}
		queued--;
	}
}

int fsstat_pool__round(struct fsstat_pool *p, const char *const *paths, size_t n, uint64_t wait_ns,
		       struct fsstat_answer *out)
{
	struct entry **mine = calloc(n ? n : 1, sizeof(*mine));
	uint64_t now, deadline;
	struct timespec ts;
	size_t i, j, next;

	if (!mine)
		return -ENOMEM;
	pthread_mutex_lock(&p->mu);
	p->round++;
	now = mono_now_ns();
	for (i = 0; i < n; i++) {
		struct entry *e = lookup(p, paths[i]);

		if (!e) {
			pthread_mutex_unlock(&p->mu);
			free(mine);
			return -ENOMEM;
		}
		mine[i] = e;
		if (e->round == p->round)
			continue; /* listed twice */
		e->round = p->round;
		if (!in_flight(e))
			enqueue(p, e, now);
	}
	grow(p, now);
	pthread_cond_broadcast(&p->work);

	/*
	 * Wait for the calls that may still answer in time, at most @wait_ns. The first call
	 * still waited for is kept in @next: calls are answered roughly in order, and one
	 * that has answered or turned hung stays so, so each wake-up looks at a few calls,
	 * not all of them (20 000 mounts cost 2.4 s per tick when every answer rescanned all).
	 */
	deadline = now + wait_ns;
	for (next = 0;;) {
		uint64_t wake = deadline;

		now = mono_now_ns();
		while (next < n && (!in_flight(mine[next]) || hung(p, mine[next], now)))
			next++;
		if (next == n || now >= deadline)
			break;
		/* Wake when this call turns hung: no answer will signal that. */
		if (mine[next]->issued_ns + p->timeout_ns < wake)
			wake = mine[next]->issued_ns + p->timeout_ns;
		ts = clock__timespec(wake);
		pthread_cond_timedwait(&p->done, &p->mu, &ts);
	}

	for (i = 0; i < n; i++) {
		struct entry *e = mine[i];
		bool bad;

		memset(&out[i], 0, sizeof(out[i]));
		if (e->state == ENTRY_DONE) {
			out[i].state = e->err ? FSSTAT_ERROR : FSSTAT_OK;
			out[i].err = e->err;
			out[i].st = e->st;
		} else if (hung(p, e, now)) {
			out[i].state = FSSTAT_HUNG;
			out[i].err = -ETIMEDOUT;
		} else {
			out[i].state = FSSTAT_PENDING;
			continue;
		}
		bad = out[i].state != FSSTAT_OK;
		out[i].changed = bad != e->bad;
		e->bad = bad;
	}
	/* Answers are used once: the next round asks again. */
	for (i = 0; i < n; i++)
		if (mine[i]->state == ENTRY_DONE)
			mine[i]->state = ENTRY_IDLE;
	/* Forget mounts no longer listed, unless a thread still holds them. */
	for (i = j = 0; i < p->nentries; i++) {
		struct entry *e = p->entries[i];

		if (e->round != p->round && !in_flight(e))
			free_entry(e);
		else
			p->entries[j++] = e;
	}
	if (j != p->nentries) {
		/*
		 * Positions moved: index them again. Out of memory, a path left out gets a
		 * second entry next round, and the first is forgotten the round after.
		 */
		p->nentries = j;
		strindex__clear(&p->index);
		for (i = 0; i < j; i++)
			if (strindex__put(&p->index, p->entries[i]->path, i))
				break;
	}
	pthread_mutex_unlock(&p->mu);
	free(mine);
	return 0;
}

unsigned int fsstat_pool__threads(struct fsstat_pool *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->mu);
	n = p->nthreads;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void fsstat_pool__free(struct fsstat_pool *p)
{
	bool last;
	size_t i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->shutdown = true;
	for (i = 0; i < p->nentries; i++) {
		struct entry *e = p->entries[i];

		/* Never join a thread stuck in statfs: it frees its entry when it returns. */
		if (e->state == ENTRY_RUNNING)
			e->orphan = true;
		else
			free_entry(e);
	}
	p->nentries = 0;
	p->qhead = p->qtail = NULL;
	pthread_cond_broadcast(&p->work);
	last = !p->nthreads;
	pthread_mutex_unlock(&p->mu);
	if (last)
		free_pool(p);
}
