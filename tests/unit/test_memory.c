// SPDX-License-Identifier: GPL-2.0
/*
 * The meminfo parser and the memory collector against fixtures captured from a real
 * machine (tests/fixtures/vm) and against malformed and empty ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "collector.h"
#include "harness.h"
#include "log.h"
#include "mset_check.h"
#include "procfs.h"

extern struct collector memory_collector;

#define FIX "tests/fixtures/"

TEST(meminfo_real_machine)
{
	struct procfs_buf b = {};
	struct meminfo m;

	CHECK_INT(procfs__read(FIX "vm/proc", "meminfo", &b), 0);
	CHECK_INT(meminfo__parse(b.data, &m), 0);
	CHECK_INT(m.present, (1u << MEMINFO_NFIELDS) - 1);
	CHECK_INT(m.bad, 0);
	/* Spot checks against the captured file. */
	CHECK(strstr(b.data, "MemTotal:") != NULL);
	{
		unsigned long long total;

		sscanf(strstr(b.data, "MemTotal:"), "MemTotal: %llu kB", &total);
		CHECK_INT(m.kb[MEMINFO_TOTAL], total);
	}
	procfs__buf_free(&b);
}

TEST(meminfo_malformed)
{
	struct procfs_buf b = {};
	struct meminfo m;

	CHECK_INT(procfs__read(FIX "malformed/proc", "meminfo", &b), 0);
	CHECK_INT(meminfo__parse(b.data, &m), 0);
	CHECK_INT(m.kb[MEMINFO_TOTAL], 1000);
	CHECK_INT(m.kb[MEMINFO_BUFFERS], 12); /* no unit: still kB */
	CHECK_INT(m.kb[MEMINFO_SHMEM], 7);
	/* The last line has no newline: it was cut, and procfs__read left it out. */
	CHECK(!strstr(b.data, "Slab"));
	CHECK_INT(m.present,
		  (1u << MEMINFO_TOTAL) | (1u << MEMINFO_BUFFERS) | (1u << MEMINFO_SHMEM));
	/* abc, above 2^64, MB, -5, 0x10, trailing junk, no value */
	CHECK_INT(m.bad, (1u << MEMINFO_FREE) | (1u << MEMINFO_AVAILABLE) | (1u << MEMINFO_CACHED) |
				 (1u << MEMINFO_SWAP_TOTAL) | (1u << MEMINFO_SWAP_FREE) |
				 (1u << MEMINFO_DIRTY) | (1u << MEMINFO_WRITEBACK));
	/* 2^64 - 1 kB is a number the parser takes (the collector exports it as bytes). */
	CHECK_INT(meminfo__parse("Slab:           18446744073709551615 kB\n", &m), 0);
	CHECK(m.kb[MEMINFO_SLAB] == UINT64_MAX);
	CHECK_INT(meminfo__parse("", &m), -ENODATA);
	CHECK_INT(meminfo__parse("MemTotal:", &m), -ENODATA);
	CHECK_INT(meminfo__parse("MemTot", &m), -ENODATA);
	procfs__buf_free(&b);
}

TEST(memory_collector_real_and_broken)
{
	struct kpulse_config cfg = fixture_config(FIX "vm/proc", FIX "vm/sys");
	struct mset *s;
	int err;

	s = sample_once(&memory_collector, &cfg, &err);
	CHECK_INT(err, 0);
	CHECK_INT(mset_count(s, "kpulse_memory_total_bytes"), 1);
	CHECK(mset_get(s, "kpulse_memory_total_bytes", "") > 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_used_ratio", ""),
		   1 - mset_get(s, "kpulse_memory_available_bytes", "") /
				   mset_get(s, "kpulse_memory_total_bytes", ""),
		   1e-12);
	CHECK(mset_all_finite(s));
	memory_collector.destroy(&memory_collector);
	mset__free(s);

	cfg = fixture_config(FIX "malformed/proc", FIX "malformed/sys");
	s = sample_once(&memory_collector, &cfg, &err);
	CHECK_INT(err, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_total_bytes", ""), 1024000, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_buffers_bytes", ""), 12288, 0);
	MSET_ABSENT(s, "kpulse_memory_slab_bytes", ""); /* its line is cut */
	MSET_ABSENT(s, "kpulse_memory_free_bytes", "");
	MSET_ABSENT(s, "kpulse_memory_available_bytes", "");
	MSET_ABSENT(s, "kpulse_memory_used_ratio", ""); /* needs MemAvailable */
	MSET_ABSENT(s, "kpulse_memory_cached_bytes", "");
	MSET_ABSENT(s, "kpulse_memory_dirty_bytes", "");
	CHECK(mset_all_finite(s));
	memory_collector.destroy(&memory_collector);
	mset__free(s);

	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	s = sample_once(&memory_collector, &cfg, &err);
	CHECK_INT(err, -ENODATA);
	CHECK_INT(s->nsamples, 0);
	memory_collector.destroy(&memory_collector);
	mset__free(s);

	cfg = fixture_config(FIX "nonexistent", FIX "nonexistent");
	s = sample_once(&memory_collector, &cfg, &err);
	CHECK_INT(err, -ENOENT);
	memory_collector.destroy(&memory_collector);
	mset__free(s);
}

/*
 * A meminfo that was read whole but holds no line kpulse exports was logged as "No data
 * available" (strerror(ENODATA), issue 14): the reason must say what is wrong with the
 * file, and an empty one that it has no complete line, never the bare errno text.
 */
TEST(memory_collector_says_why_meminfo_is_unusable)
{
	char dir[] = "/tmp/kpulse-unit-XXXXXX", path[64], cmd[96];
	const char *reason;
	struct kpulse_config cfg;
	struct mset *s;
	int err, fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/meminfo", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, "hello world\nMemTotal is large\n", 30), 30);
	close(fd);
	cfg = fixture_config(dir, dir);
	(void)log__take_reason();
	s = sample_once(&memory_collector, &cfg, &err);
	CHECK_INT(err, -EBADMSG);
	CHECK_INT(s->nsamples, 0);
	reason = log__take_reason();
	CHECK(strstr(reason, "/meminfo has no line kpulse exports (MemTotal, MemFree, ...)"));
	CHECK(!strstr(reason, "No data available"));
	memory_collector.destroy(&memory_collector);
	mset__free(s);

	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	s = sample_once(&memory_collector, &cfg, &err);
	CHECK_INT(err, -ENODATA);
	reason = log__take_reason();
	CHECK(strstr(reason, "/meminfo: no complete line in it"));
	CHECK(!strstr(reason, "No data available"));
	memory_collector.destroy(&memory_collector);
	mset__free(s);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	h_suite = "memory";
	RUN(meminfo_real_machine);
	RUN(meminfo_malformed);
	RUN(memory_collector_real_and_broken);
	RUN(memory_collector_says_why_meminfo_is_unusable);
	return DONE();
}
