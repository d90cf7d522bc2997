// SPDX-License-Identifier: GPL-2.0
/* cgroup2 discovery, cgroup roll-up and the walk of a deep tree. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "harness.h"

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

int main(void)
{
	h_suite = "cgroup";
	RUN(finds_cgroup2_mount_on_hybrid_host);
	RUN(roll_up);
	RUN(deep_tree_scan);
	return DONE();
}
