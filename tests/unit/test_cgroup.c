// SPDX-License-Identifier: GPL-2.0
/* mountinfo parsing, cgroup2 discovery, cgroup roll-up, include/exclude filters, lists. */
#include <stdlib.h>
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
}

int main(void)
{
	h_suite = "cgroup";
	RUN(mountinfo_lines);
	RUN(finds_cgroup2_mount_on_hybrid_host);
	RUN(roll_up);
	RUN(filters);
	RUN(lists);
	return DONE();
}
