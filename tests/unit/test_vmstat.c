// SPDX-License-Identifier: GPL-2.0
/*
 * The vmstat collector against fixtures captured from this machine and malformed ones.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include "collector.h"
#include "harness.h"
#include "kstat.h"
#include "mset_check.h"

extern struct collector vmstat_collector;

#define FIX "tests/fixtures/"

TEST(vmstat_collector_fixtures)
{
	struct kpulse_config cfg = fixture_config(FIX "kstat-t0/proc", FIX "vm/sys");
	struct tick t = {.seq = 0};
	double page = (double)sysconf(_SC_PAGESIZE);
	struct mset *s = mset__new();

	CHECK_INT(vmstat_collector.init(&vmstat_collector, &cfg), 0);
	CHECK_INT(vmstat_collector.sample(&vmstat_collector, &t, s), 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_major_faults_total", ""), 1579, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_page_faults_total", ""), 14774001, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_swap_in_bytes_total", ""), 10 * page, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_swap_out_bytes_total", ""), 20 * page, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_reclaim_scanned_pages_total", "by=\"direct\""), 100,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_reclaim_scanned_pages_total", "by=\"kswapd\""), 200,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_reclaim_stolen_pages_total", "by=\"kswapd\""), 150,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_workingset_refaults_total", "type=\"anon\""), 3, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_workingset_refaults_total", "type=\"file\""), 143969,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_oom_kills_total", ""), 2, 0);
	vmstat_collector.destroy(&vmstat_collector);

	/* Malformed: pgmajfault is not a number, oom_kill twice (the first counts). */
	cfg = fixture_config(FIX "kstat-malformed/proc", FIX "vm/sys");
	mset__reset(s);
	CHECK_INT(vmstat_collector.init(&vmstat_collector, &cfg), 0);
	CHECK_INT(vmstat_collector.sample(&vmstat_collector, &t, s), 0);
	CHECK_INT(s->nsamples, 2);
	CHECK_NEAR(mset_get(s, "kpulse_memory_page_faults_total", ""), 100, 0);
	CHECK_NEAR(mset_get(s, "kpulse_oom_kills_total", ""), 3, 0);
	MSET_ABSENT(s, "kpulse_memory_major_faults_total", "");
	vmstat_collector.destroy(&vmstat_collector);

	/* Nothing usable, or no file: the collector is down, with the reason. */
	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	mset__reset(s);
	CHECK_INT(vmstat_collector.init(&vmstat_collector, &cfg), 0);
	CHECK_INT(vmstat_collector.sample(&vmstat_collector, &t, s), -ENOENT);
	vmstat_collector.destroy(&vmstat_collector);
	mset__free(s);
}

int main(void)
{
	h_suite = "vmstat";
	RUN(vmstat_collector_fixtures);
	return DONE();
}
