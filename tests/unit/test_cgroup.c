// SPDX-License-Identifier: GPL-2.0
/* mountinfo parsing, cgroup2 discovery, cgroup roll-up, include/exclude filters, lists. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "filter.h"
#include "harness.h"
#include "kpulse.h"
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

TEST(finds_cgroup2_mount_on_hybrid_host)
{
	char mount[256];

	CHECK_INT(cgroup__find_mount("tests/fixtures/proc", mount, sizeof(mount)), 0);
	CHECK_STR(mount, "/sys/fs/cgroup/unified");
	CHECK(cgroup__find_mount("tests/fixtures/nonexistent", mount, sizeof(mount)) < 0);
}

TEST(roll_up)
{
	char out[256];

	cgroup__roll_up("/system.slice/x.service/sub/leaf", 3, out, sizeof(out));
	CHECK_STR(out, "/system.slice/x.service/sub");
	cgroup__roll_up("/system.slice/x.service", 3, out, sizeof(out));
	CHECK_STR(out, "/system.slice/x.service");
	cgroup__roll_up("/system.slice/x.service", 1, out, sizeof(out));
	CHECK_STR(out, "/system.slice");
	cgroup__roll_up("/system.slice/x.service", 0, out, sizeof(out));
	CHECK_STR(out, "/");
	cgroup__roll_up("/", 3, out, sizeof(out));
	CHECK_STR(out, "/");
}

/*
 * A 3 000-level tree (mkdir is enough: the walk reads directories, any filesystem will do).
 * The recursive walk took a 4 KiB path buffer per level and overflowed the stack at
 * ~1 900 levels of a real cgroup tree, at every start. Now every node whose path fits in
 * PATH_MAX is found (the deepest is level 2 047 of "/a/a/..."), the rest is skipped with
 * one warning, and ids still map to paths rolled up to the depth.
 */
TEST(deep_tree_scan)
{
	char dir[] = "/tmp/kpulse-cgroup-deep-XXXXXX", cmd[96], err[128];
	const struct cgroup_node *deep = NULL;
	struct cgroups c;
	struct stat st;
	size_t i;
	int fd, next, level;

	CHECK(mkdtemp(dir) != NULL);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	for (level = 1; level <= 3000 && fd >= 0; level++) {
		CHECK_INT(mkdirat(fd, "a", 0700), 0);
		next = openat(fd, "a", O_RDONLY | O_DIRECTORY);
		if (level == 3)
			CHECK_INT(fstat(next, &st), 0);
		close(fd);
		fd = next;
	}
	close(fd);
	memset(&c, 0, sizeof(c));
	snprintf(c.mount, sizeof(c.mount), "%s", dir);
	c.depth = 3;
	CHECK_INT(filter__init(&c.filter, NULL, NULL, err, sizeof(err)), 0);
	CHECK_INT(cgroups__scan(&c), 0);
	CHECK_INT(c.n, 2048); /* "/" and levels 1..2 047: 2 x 2 047 < PATH_MAX */
	CHECK(c.warned_long);
	for (i = 0; i < c.n; i++)
		if (strlen(c.nodes[i].path) == 2 * 2047)
			deep = &c.nodes[i];
	CHECK(deep && !strcmp(deep->rolled_up, "/a/a/a"));
	CHECK(cgroups__find(&c, st.st_ino) &&
	      !strcmp(cgroups__find(&c, st.st_ino)->path, "/a/a/a"));
	/* A second scan (new and removed cgroups) gives the same answer. */
	CHECK_INT(cgroups__scan(&c), 0);
	CHECK_INT(c.n, 2048);
	cgroups__free(&c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

TEST(filters)
{
	struct filter f;
	char err[256];

	CHECK_INT(filter__init(&f, NULL, "loop[0-9]+|ram[0-9]+", err, sizeof(err)), 0);
	CHECK(filter__match(&f, "sda"));
	CHECK(!filter__match(&f, "loop0"));
	CHECK(filter__match(&f, "xloop0")); /* anchored: the whole name must match */
	filter__free(&f);
	CHECK_INT(filter__init(&f, "eth.*", "eth9", err, sizeof(err)), 0);
	CHECK(filter__match(&f, "eth0"));
	CHECK(!filter__match(&f, "eth9"));
	CHECK(!filter__match(&f, "lo"));
	filter__free(&f);
	CHECK(filter__init(&f, "(", NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "bad regular expression '('") == err);
}

TEST(lists)
{
	char **l;
	size_t n;

	CHECK_INT(kpulse__split_list(" sshd, nginx,,kpulse-watch-t ", &l, &n), 0);
	CHECK_INT(n, 3);
	CHECK_STR(l[0], "sshd");
	CHECK_STR(l[1], "nginx");
	CHECK_STR(l[2], "kpulse-watch-t");
	kpulse__free_list(l, n);
	CHECK_INT(kpulse__split_list("", &l, &n), 0);
	CHECK_INT(n, 0);
	kpulse__free_list(l, n);
	/* --process.watch=dup,dup is one name, or its series would be exported twice. */
	CHECK_INT(kpulse__split_list("dup,dup, dup ,dupe,dup", &l, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(l[0], "dup");
	CHECK_STR(l[1], "dupe");
	kpulse__free_list(l, n);
}

int main(void)
{
	h_suite = "cgroup";
	RUN(mountinfo_lines);
	RUN(mount_table);
	RUN(finds_cgroup2_mount_on_hybrid_host);
	RUN(roll_up);
	RUN(deep_tree_scan);
	RUN(filters);
	RUN(lists);
	return DONE();
}
