// SPDX-License-Identifier: GPL-2.0
/*
 * Which mounts the filesystem collector reports, on a real machine's mountinfo and on
 * edge cases.
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

extern struct collector filesystem_collector;

#define FIX "tests/fixtures/"

TEST(filesystem_selection_real_machine)
{
	struct kpulse_config cfg = fixture_config(FIX "vm/proc", FIX "vm/sys");
	struct mset *s;
	int err;

	/* Of the 21 mounts captured only / is a real filesystem: /dev/shm is under /dev,
	 * cgroups, bpf and tracefs are pseudo filesystems or under /sys. */
	s = sample_once(&filesystem_collector, &cfg, &err);
	CHECK_INT(err, 0);
	CHECK_INT(mset_count(s, "kpulse_filesystem_device_error"), 1);
	CHECK_NEAR(mset_get(s, "kpulse_filesystem_device_error",
			    "device=\"/dev/vda\",mountpoint=\"/\",fstype=\"ext4\""),
		   0, 0);
	CHECK(mset_get(s, "kpulse_filesystem_size_bytes",
		       "device=\"/dev/vda\",mountpoint=\"/\",fstype=\"ext4\"") > 0);
	CHECK(mset_all_finite(s));
	filesystem_collector.destroy(&filesystem_collector);
	mset__free(s);

	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	s = sample_once(&filesystem_collector, &cfg, &err);
	CHECK_INT(err, -ENODATA);
	filesystem_collector.destroy(&filesystem_collector);
	mset__free(s);
}

TEST(filesystem_selection_edge_cases)
{
	struct kpulse_config cfg = fixture_config(FIX "mounts/proc", FIX "vm/sys");
	static const char vda2[] = "device=\"/dev/vda2\",mountpoint=\"/\",fstype=\"ext4\"";
	static const char space[] = "device=\"/dev/vdb\",mountpoint=\"/nonexistent-kpulse/with "
				    "space\",fstype=\"ext4\"";
	static const char ro[] = "device=\"/dev/vdc\",mountpoint=\"/nonexistent-kpulse/ro\","
				 "fstype=\"ext4\"";
	static const char robind[] =
		"device=\"/dev/vdf\",mountpoint=\"/nonexistent-kpulse/robind\","
		"fstype=\"ext4\"";
	static const char devices[] = "device=\"/dev/vde\",mountpoint=\"/devices\",fstype=\"ext4\"";
	struct mset *s;
	int err;

	s = sample_once(&filesystem_collector, &cfg, &err);
	CHECK_INT(err, 0);
	/* /proc, /run/credentials/..., /var/lib/docker/... and /sys/... are excluded; /devices
	 * is not /dev; / is mounted twice and the mount on top (listed last) is the one. */
	CHECK_INT(mset_count(s, "kpulse_filesystem_device_error"), 5);
	CHECK_NEAR(mset_get(s, "kpulse_filesystem_device_error", vda2), 0, 0);
	CHECK(mset_get(s, "kpulse_filesystem_size_bytes", vda2) > 0);
	/* \040 is decoded; a mount point statfs cannot reach is a device error, no sizes. */
	CHECK_NEAR(mset_get(s, "kpulse_filesystem_device_error", space), 1, 0);
	MSET_ABSENT(s, "kpulse_filesystem_size_bytes", space);
	CHECK_NEAR(mset_get(s, "kpulse_filesystem_readonly", space), 0, 0);
	/* Read-only from the superblock options even when statfs fails; a read-only mount of
	 * a writable filesystem (a bind mount, a sandbox's view) is not a read-only filesystem. */
	CHECK_NEAR(mset_get(s, "kpulse_filesystem_readonly", ro), 1, 0);
	CHECK_NEAR(mset_get(s, "kpulse_filesystem_readonly", robind), 0, 0);
	CHECK_NEAR(mset_get(s, "kpulse_filesystem_device_error", ro), 1, 0);
	CHECK_NEAR(mset_get(s, "kpulse_filesystem_device_error", devices), 1, 0);
	CHECK(mset_all_finite(s));
	filesystem_collector.destroy(&filesystem_collector);
	mset__free(s);
}

/* A fake statfs: "/hang" blocks until released (its first call only), the rest answer. */

int main(void)
{
	h_suite = "filesystem";
	RUN(filesystem_selection_real_machine);
	RUN(filesystem_selection_edge_cases);
	return DONE();
}
