// SPDX-License-Identifier: GPL-2.0
/* mountinfo lines (escapes, the optional fields, malformed lines) and the mount table. */
#include <string.h>
#include "filter.h"
#include "harness.h"
#include "mountinfo.h"

TEST(mountinfo_lines)
{
	char line[] = "90 26 0:50 / /mnt/my\\040disk rw,relatime shared:3 master:1 - tmpfs "
		      "none\\011x rw,size=102400k\n";
	char bad1[] = "90 26 0:50 / /mnt rw,relatime shared:3\n"; /* no "-" separator */
	char bad2[] = "90 26 zero / /mnt rw - tmpfs none rw\n";
	char bad3[] = "\n";
	struct mountinfo m;

	CHECK_INT(mountinfo__parse(line, &m), 0);
	CHECK_STR(m.mount_point, "/mnt/my disk");
	CHECK_STR(m.fstype, "tmpfs");
	CHECK_STR(m.source, "none\tx");
	CHECK_STR(m.options, "rw,relatime");
	CHECK_STR(m.super_options, "rw,size=102400k");
	CHECK_INT(m.major, 0);
	CHECK_INT(m.minor, 50);
	CHECK(mountinfo__parse(bad1, &m) < 0);
	CHECK(mountinfo__parse(bad2, &m) < 0);
	CHECK(mountinfo__parse(bad3, &m) < 0);
}

/*
 * The filesystem collector's mount table: one entry per mount point, the last line for a
 * point listed twice (the mount on top, which statfs sees), filters, the bound, and the
 * superblock's read-only flag.
 */
TEST(mount_table)
{
	char buf[] = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
		     "23 22 0:5 / /proc rw - proc proc rw\n"
		     "24 22 0:40 / /mnt rw - tmpfs first rw\n"
		     "garbage\n"
		     "25 24 0:41 / /mnt rw - tmpfs second ro,size=1k\n"
		     "26 22 0:42 / /srv rw - xfs /dev/sdb rw\n";
	char copy[sizeof(buf)], err[128];
	struct mount_table t = {};
	struct filter types;

	CHECK_INT(filter__init(&types, NULL, "proc", err, sizeof(err)), 0);
	memcpy(copy, buf, sizeof(buf));
	CHECK_INT(mount_table__parse(&t, copy, &types, NULL), 0);
	CHECK_INT(t.n, 3);
	CHECK_INT(t.bad, 1);
	CHECK_STR(t.m[0].mount_point, "/");
	CHECK_STR(t.m[1].mount_point, "/mnt");
	CHECK_STR(t.m[1].device, "second");
	CHECK(t.m[1].readonly && !t.m[0].readonly);
	CHECK_STR(t.m[2].mount_point, "/srv");
	/* At most two mount points: the first two listed, the third is counted as dropped. */
	t.max = 2;
	memcpy(copy, buf, sizeof(buf));
	CHECK_INT(mount_table__parse(&t, copy, &types, NULL), 0);
	CHECK_INT(t.n, 2);
	CHECK_INT(t.dropped, 1);
	CHECK_STR(t.m[1].device, "second"); /* a point already kept is still replaced */
	mount_table__free(&t);
	filter__free(&types);
}

int main(void)
{
	h_suite = "mountinfo";
	RUN(mountinfo_lines);
	RUN(mount_table);
	return DONE();
}
