// SPDX-License-Identifier: GPL-2.0
/* Comma-separated lists (--process.watch): trimmed, empty items dropped, each once. */
#include "harness.h"
#include "kpulse.h"

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
	h_suite = "list";
	RUN(lists);
	return DONE();
}
