// SPDX-License-Identifier: GPL-2.0
/*
 * The diskstats parser and the disk collector against fixtures captured from a real
 * machine (tests/fixtures/vm) and against malformed ones; rates and the device filter.
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
#include "mset_check.h"
#include "procfs.h"
#include "rate.h"

extern struct collector disk_collector;

#define FIX "tests/fixtures/"

TEST(diskstats_lines)
{
	struct diskstat d;

	CHECK_INT(diskstats__parse_line(" 254       0 vda 52921 8452 5193042 48087 10997 7445 "
					"1456360 3848 0 10092 52360 6264 42 238952 380 1404 43",
					&d),
		  0);
	CHECK_STR(d.name, "vda");
	CHECK_INT(d.major, 254);
	CHECK_INT(d.present, (1u << DISK_NFIELDS) - 1);
	CHECK_INT(d.v[DISK_SECTORS_READ], 5193042);
	CHECK_INT(d.v[DISK_SECTORS_WRITTEN], 1456360);
	CHECK_INT(d.v[DISK_IO_MS], 10092);
	/* The 2.6-era 14-field line. */
	CHECK_INT(diskstats__parse_line("8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n", &d), 0);
	CHECK_INT(d.v[DISK_IO_MS], 10);
	CHECK_INT(diskstats__parse_line("8 0 sda 1 2 3", &d), 0);
	CHECK_INT(d.present, 7);
	CHECK_INT(diskstats__parse_line("8 0\n", &d), -EINVAL);
	CHECK_INT(diskstats__parse_line("", &d), -EINVAL);
	CHECK_INT(diskstats__parse_line("x 0 sda 1", &d), -EINVAL);
	CHECK_INT(diskstats__parse_line(
			  "8 0 "
			  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			  " 1",
			  &d),
		  -EINVAL);
}

TEST(disk_collector_real_machine)
{
	struct kpulse_config cfg = fixture_config(FIX "vm/proc", FIX "vm/sys");
	struct mset *s;
	int err;

	s = sample_once(&disk_collector, &cfg, &err);
	CHECK_INT(err, 0);
	/* vda 80675 10240 5718410 53984 13311 8236 1612056 4285 0 11772 ...; loop*, zram0 out. */
	CHECK_INT(mset_count(s, "kpulse_disk_read_bytes_total"), 1);
	CHECK_NEAR(mset_get(s, "kpulse_disk_read_bytes_total", "device=\"vda\""), 5718410.0 * 512,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_written_bytes_total", "device=\"vda\""),
		   1612056.0 * 512, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_reads_completed_total", "device=\"vda\""), 80675, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_writes_completed_total", "device=\"vda\""), 13311, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_read_time_seconds_total", "device=\"vda\""), 53.984,
		   1e-9);
	CHECK_NEAR(mset_get(s, "kpulse_disk_write_time_seconds_total", "device=\"vda\""), 4.285,
		   1e-9);
	CHECK_NEAR(mset_get(s, "kpulse_disk_io_time_seconds_total", "device=\"vda\""), 11.772,
		   1e-9);
	CHECK_NEAR(mset_get(s, "kpulse_disk_io_now", "device=\"vda\""), 0, 0);
	MSET_ABSENT(s, "kpulse_disk_read_bytes_total", "device=\"zram0\"");
	MSET_ABSENT(s, "kpulse_disk_read_bytes_total", "device=\"loop0\"");
	/* No rate from a single reading. */
	CHECK_INT(mset_count(s, "kpulse_disk_read_bytes_per_second"), 0);
	CHECK(mset_all_finite(s));
	disk_collector.destroy(&disk_collector);
	mset__free(s);
}

TEST(disk_collector_malformed)
{
	struct kpulse_config cfg = fixture_config(FIX "malformed/proc", FIX "malformed/sys");
	struct mset *s;
	int err;

	s = sample_once(&disk_collector, &cfg, &err);
	CHECK_INT(err, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_read_bytes_total", "device=\"vda\""), 3 * 512, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_written_bytes_total", "device=\"vda\""), 7 * 512, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_io_now", "device=\"vda\""), 9, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_io_time_seconds_total", "device=\"vda\""), 0.010,
		   1e-12);
	/* 2^64 - 1 is a valid counter value, exported as is. */
	CHECK_NEAR(mset_get(s, "kpulse_disk_reads_completed_total", "device=\"vdb\""),
		   (double)UINT64_MAX, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_read_bytes_total", "device=\"vdb\""),
		   (double)UINT64_MAX * 512, 0);
	/* sda 100 0 x 50: reads and read time only. */
	CHECK_NEAR(mset_get(s, "kpulse_disk_reads_completed_total", "device=\"sda\""), 100, 0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_read_time_seconds_total", "device=\"sda\""), 0.05,
		   1e-12);
	MSET_ABSENT(s, "kpulse_disk_read_bytes_total", "device=\"sda\"");
	MSET_ABSENT(s, "kpulse_disk_written_bytes_total", "device=\"sda\"");
	MSET_ABSENT(s, "kpulse_disk_io_now", "device=\"sda\"");
	/* sdc: writes above 2^64 are absent, the rest is there. */
	MSET_ABSENT(s, "kpulse_disk_writes_completed_total", "device=\"sdc\"");
	CHECK_NEAR(mset_get(s, "kpulse_disk_written_bytes_total", "device=\"sdc\""), 7 * 512, 0);
	/* sdd 1 2 3, cut at the end of the file: left out, not exported as 3 sectors. */
	MSET_ABSENT(s, "kpulse_disk_read_bytes_total", "device=\"sdd\"");
	MSET_ABSENT(s, "kpulse_disk_reads_completed_total", "device=\"sdd\"");
	/* Partitions and loop devices are excluded by default. */
	MSET_ABSENT(s, "kpulse_disk_reads_completed_total", "device=\"vda1\"");
	MSET_ABSENT(s, "kpulse_disk_reads_completed_total", "device=\"loop0\"");
	CHECK_INT(mset_count(s, "kpulse_disk_reads_completed_total"), 4); /* vda vdb sda sdc */
	CHECK(mset_all_finite(s));
	disk_collector.destroy(&disk_collector);
	mset__free(s);

	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	s = sample_once(&disk_collector, &cfg, &err);
	CHECK_INT(err, 0); /* a machine without block devices */
	CHECK_INT(s->nsamples, 0);
	disk_collector.destroy(&disk_collector);
	mset__free(s);
}

TEST(disk_rates_and_include_flag)
{
	char procfs[64] = FIX "disk-t0/proc";
	struct kpulse_config cfg = fixture_config(procfs, FIX "vm/sys");
	/* The sampler's interval since the first sample (rate__elapsed): 50 ms. */
	struct tick t = {.elapsed_ns = 50000000, .seq = 1};
	const struct flag *inc = flags__find(disk_collector.flags, "collector.disk.device-include");
	char err[128];
	struct mset *s;
	int rc;

	/* An include pattern drops the default exclude: vda1 is reported when asked for. */
	CHECK_INT(flags__set(inc, "vda1?", false, err, sizeof(err)), 0);
	s = sample_once(&disk_collector, &cfg, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(mset_count(s, "kpulse_disk_writes_per_second"), 0); /* one reading: no interval */
	snprintf(procfs, sizeof(procfs), FIX "disk-t1/proc");
	mset__reset(s);
	CHECK_INT(disk_collector.sample(&disk_collector, &t, s), 0);
	/* 2048 sectors (1 MiB) written, 100 writes, 10 ms of I/O in those 50 ms. */
	CHECK_NEAR(mset_get(s, "kpulse_disk_write_bytes_per_second", "device=\"vda1\""),
		   1048576 / 0.05, 1e-6);
	CHECK_NEAR(mset_get(s, "kpulse_disk_writes_per_second", "device=\"vda\""), 100 / 0.05,
		   1e-9);
	CHECK_NEAR(mset_get(s, "kpulse_disk_utilization_ratio", "device=\"vda\""), 0.010 / 0.05,
		   1e-12);
	CHECK_NEAR(mset_get(s, "kpulse_disk_written_bytes_total", "device=\"vda\""), 6048.0 * 512,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_disk_io_now", "device=\"vda\""), 2, 0);
	disk_collector.destroy(&disk_collector);
	mset__free(s);
	CHECK_INT(flags__set(inc, "", false, err, sizeof(err)), 0);
}

/*
 * A number cut in half at the end of a truncated file ("MemAvailable:   242", no unit, no
 * newline) is not a value: the line is left out, and so is the ratio that needs it.
 */

int main(void)
{
	h_suite = "disk";
	RUN(diskstats_lines);
	RUN(disk_collector_real_machine);
	RUN(disk_collector_malformed);
	RUN(disk_rates_and_include_flag);
	return DONE();
}
