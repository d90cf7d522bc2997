// SPDX-License-Identifier: GPL-2.0
/*
 * The statfs pool against a fake statfs that hangs: a hung mount is reported and never
 * stalls the tick, and freeing the pool does not wait for the stuck call.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "clock.h"
#include "collector.h"
#include "fsstat.h"
#include "harness.h"
#include "mset_check.h"
#include "procfs.h"

#define FIX "tests/fixtures/"

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static bool fake_release;
static int fake_hang_calls, fake_returned;

static int fake_statfs(const char *path, struct fsstat *out)
{
	memset(out, 0, sizeof(*out));
	out->bsize = 4096;
	out->blocks = 100;
	if (!strcmp(path, "/err"))
		return -EACCES;
	if (!strcmp(path, "/hang")) {
		pthread_mutex_lock(&fake_mu);
		if (++fake_hang_calls == 1)
			while (!fake_release)
				pthread_cond_wait(&fake_cv, &fake_mu);
		fake_returned++;
		pthread_mutex_unlock(&fake_mu);
	}
	return 0;
}

static void fake_reset(void)
{
	pthread_mutex_lock(&fake_mu);
	fake_release = false;
	fake_hang_calls = fake_returned = 0;
	pthread_mutex_unlock(&fake_mu);
}

static void fake_unblock(void)
{
	pthread_mutex_lock(&fake_mu);
	fake_release = true;
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
}

static int fake_get(int *v)
{
	int n;

	pthread_mutex_lock(&fake_mu);
	n = *v;
	pthread_mutex_unlock(&fake_mu);
	return n;
}

/* Poll until *@v reaches @n, for up to 5 s (other suites may load the machine). */
static void wait_count(int *v, int n)
{
	int i;

	for (i = 0; i < 5000 && fake_get(v) < n; i++)
		usleep(1000);
}

/*
 * Timing here only bounds from above with a wide margin: the unit tests run while other
 * suites load the machine, and a worker thread may wait tens of ms for a CPU.
 */
TEST(statfs_pool_hung_mount)
{
	const char *paths[] = {"/ok", "/hang", "/err"};
	const uint64_t ms = 1000000ull, wait = 5000 * ms;
	struct fsstat_answer a[3];
	struct fsstat_pool *p;
	uint64_t t0, took;
	int i;

	fake_reset();
	p = fsstat_pool__new(fake_statfs, 1000 * ms);
	CHECK(p != NULL);
	/* Before its deadline a slow call is pending; the round waits no longer than asked. */
	t0 = mono_now_ns();
	CHECK_INT(fsstat_pool__round(p, paths + 1, 1, 50 * ms, a), 0);
	took = mono_now_ns() - t0;
	CHECK(took >= 50 * ms && took < 900 * ms);
	CHECK_INT(a[0].state, FSSTAT_PENDING);
	/* The round ends when the others answered and /hang passed its 1 s deadline. */
	t0 = mono_now_ns();
	CHECK_INT(fsstat_pool__round(p, paths, 3, wait, a), 0);
	took = mono_now_ns() - t0;
	CHECK(took < wait / 2);
	CHECK_INT(a[0].state, FSSTAT_OK);
	CHECK_INT(a[0].st.blocks, 100);
	CHECK_INT(a[1].state, FSSTAT_HUNG);
	CHECK(a[1].changed);
	CHECK_INT(a[2].state, FSSTAT_ERROR);
	CHECK_INT(a[2].err, -EACCES);
	CHECK(a[2].changed);
	/* Hung: reported at once, never waited for, and not asked again. */
	for (i = 0; i < 5; i++) {
		t0 = mono_now_ns();
		CHECK_INT(fsstat_pool__round(p, paths, 3, wait, a), 0);
		took = mono_now_ns() - t0;
		CHECK(took < wait / 2);
		CHECK_INT(a[0].state, FSSTAT_OK);
		CHECK_INT(a[1].state, FSSTAT_HUNG);
		CHECK(!a[1].changed);
		CHECK_INT(a[2].state, FSSTAT_ERROR);
		CHECK(!a[2].changed);
	}
	CHECK_INT(fake_get(&fake_hang_calls), 1);
	/* The stuck call returns: the mount is asked again and answers. */
	fake_unblock();
	wait_count(&fake_returned, 1);
	CHECK_INT(fsstat_pool__round(p, paths, 3, wait, a), 0);
	CHECK_INT(a[1].state, FSSTAT_OK);
	CHECK(a[1].changed);
	CHECK_INT(fake_get(&fake_hang_calls), 2);
	CHECK(fsstat_pool__threads(p) <= 3);
	fsstat_pool__free(p);
}

TEST(statfs_pool_free_while_stuck)
{
	const char *paths[] = {"/hang"};
	struct fsstat_answer a[1];
	struct fsstat_pool *p;
	uint64_t t0;

	fake_reset();
	p = fsstat_pool__new(fake_statfs, 10000000ull);
	CHECK_INT(fsstat_pool__round(p, paths, 1, 2000000000ull, a), 0);
	CHECK_INT(a[0].state, FSSTAT_HUNG);
	wait_count(&fake_hang_calls, 1); /* the thread is inside the call */
	/* Freeing does not wait for the stuck thread... */
	t0 = mono_now_ns();
	fsstat_pool__free(p);
	CHECK(mono_now_ns() - t0 < 100000000ull);
	/* ...which cleans up after itself when its call returns (ASan checks the memory). */
	fake_unblock();
	wait_count(&fake_returned, 1);
	CHECK_INT(fake_get(&fake_returned), 1);
	usleep(50000);
}

int main(void)
{
	h_suite = "fsstat";
	RUN(statfs_pool_hung_mount);
	RUN(statfs_pool_free_while_stuck);
	return DONE();
}
