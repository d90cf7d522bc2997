// SPDX-License-Identifier: GPL-2.0
/*
 * fd collector helpers: errno names for the error slots, the file-nr parser on fixtures,
 * the executable path built from the walk's components.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "fd.h"
#include "fd_parse.h"
#include "harness.h"

TEST(errno_names)
{
	static const struct {
		int e;
		const char *name;
	} cases[] = {
		{EPERM, "EPERM"},
		{ENOENT, "ENOENT"},
		{EMFILE, "EMFILE"},
		{ENFILE, "ENFILE"},
		{EAGAIN, "EAGAIN"},
		{EACCES, "EACCES"},
		{EOPNOTSUPP, "EOPNOTSUPP"},
		{EDEADLK, "EDEADLK"},
		{EHWPOISON, "EHWPOISON"},
		{512, "ERESTARTSYS"},
		{516, "ERESTART_RESTARTBLOCK"},
		{531, "ENOGRACE"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(fd__errno_name(cases[i].e), cases[i].name);
	CHECK(!fd__errno_name(0));
	CHECK(!fd__errno_name(-1));
	CHECK(!fd__errno_name(41));  /* a hole in the Linux numbering */
	CHECK(!fd__errno_name(520)); /* a hole among the internal codes */
	CHECK(!fd__errno_name(532));
	CHECK(!fd__errno_name(4095));
}

TEST(error_slots_round_trip)
{
	/* The slot mapping of bpf/fd.bpf.c, inverted: each slot names one errno. */
	CHECK_INT(fd__slot_errno(0), 0);
	CHECK_INT(fd__slot_errno(EMFILE), EMFILE);
	CHECK_INT(fd__slot_errno(KPULSE_FD_ERRNO_LOW - 1), KPULSE_FD_ERRNO_LOW - 1);
	CHECK_INT(fd__slot_errno(KPULSE_FD_ERRNO_LOW), 512);
	CHECK_INT(fd__slot_errno(KPULSE_FD_NERR - 1),
		  KPULSE_FD_ERRNO_HIGH_BASE + KPULSE_FD_NERR - 1 - KPULSE_FD_ERRNO_LOW);
	CHECK_INT(fd__slot_errno(KPULSE_FD_NERR), 0);
	/* Every named errno the kernel can return has a slot of its own. */
	CHECK(EHWPOISON < KPULSE_FD_ERRNO_LOW);
	CHECK(KPULSE_FD_ERRNO_HIGH_BASE + KPULSE_FD_NERR - KPULSE_FD_ERRNO_LOW > 531);
}

static int parse_fixture(const char *name, uint64_t *a, uint64_t *m)
{
	char path[256], text[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "tests/fixtures/fd/%s", name);
	f = fopen(path, "r");
	if (!f) {
		printf("  cannot open %s\n", path);
		return -999;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return fd__parse_file_nr(text, a, m);
}

TEST(file_nr_fixtures)
{
	static const struct {
		const char *file;
		int ret;
		uint64_t alloc, max;
	} cases[] = {
		{"file-nr.ok", 0, 1056, 9223372036854775807ull}, /* fs.file-max = LONG_MAX */
		{"file-nr.ok2", 0, 832, 2466170},
		{"file-nr.nonl", 0, 832, 2466170}, /* blanks, no newline: still three numbers */
		{"file-nr.short", -EINVAL},
		{"file-nr.letter", -EINVAL},
		{"file-nr.negative", -EINVAL},
		{"file-nr.overflow", -EINVAL},
		{"file-nr.extra", -EINVAL},
		{"file-nr.empty", -EINVAL},
		{"file-nr.twolines", -EINVAL},
		{"file-nr.glued", -EINVAL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t a = 7, m = 7;
		int ret = parse_fixture(cases[i].file, &a, &m);

		if (ret != cases[i].ret)
			printf("  %s:\n", cases[i].file);
		CHECK_INT(ret, cases[i].ret);
		if (!cases[i].ret) {
			CHECK_INT(a, cases[i].alloc);
			CHECK(m == cases[i].max);
		} else {
			/* A failed parse leaves the outputs alone: no garbage. */
			CHECK_INT(a, 7);
			CHECK_INT(m, 7);
		}
	}
}

static void set_exe(struct kpulse_fd_top *t, const char *const *leaf_first, int n, int more)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < n; i++)
		snprintf(t->exe[i], sizeof(t->exe[i]), "%s", leaf_first[i]);
	t->exe_depth = n;
	t->exe_more = more;
}

TEST(exe_path)
{
	static const char *const usr_bin[] = {"postgres", "bin", "15", "postgresql", "lib", "usr"};
	static const char *const root_file[] = {"init"};
	char long_name[KPULSE_FD_EXE_NAME];
	const char *deep[KPULSE_FD_EXE_DEPTH];
	struct kpulse_fd_top t;
	char out[256], small[17];

	set_exe(&t, usr_bin, 6, 0);
	fd__exe_path(&t, out, sizeof(out));
	CHECK_STR(out, "/usr/lib/postgresql/15/bin/postgres");
	set_exe(&t, root_file, 1, 0);
	fd__exe_path(&t, out, sizeof(out));
	CHECK_STR(out, "/init");
	/* No executable known (the process had no mm): an empty label value. */
	set_exe(&t, NULL, 0, 0);
	fd__exe_path(&t, out, sizeof(out));
	CHECK_STR(out, "");
	/* The walk stopped at its depth: the beginning is unknown, the end is kept. */
	set_exe(&t, usr_bin, 2, 1);
	fd__exe_path(&t, out, sizeof(out));
	CHECK_STR(out, ".../bin/postgres");
	/* Too long for the buffer: whole components from the executable's end. */
	set_exe(&t, usr_bin, 6, 0);
	fd__exe_path(&t, small, sizeof(small));
	CHECK_STR(small, ".../bin/postgres");
	/* 16 components of 63 bytes (1 KiB) into 256: the last three whole ones. */
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	for (int i = 0; i < KPULSE_FD_EXE_DEPTH; i++)
		deep[i] = long_name;
	set_exe(&t, deep, KPULSE_FD_EXE_DEPTH, 0);
	fd__exe_path(&t, out, sizeof(out));
	CHECK_INT(strlen(out), 3 + 3 * 64);
	CHECK(!strncmp(out, ".../aaa", 7));
	/* A component not NUL-terminated by the kernel is still bounded. */
	set_exe(&t, root_file, 1, 0);
	memset(t.exe[0], 'x', KPULSE_FD_EXE_NAME);
	fd__exe_path(&t, out, sizeof(out));
	CHECK_INT(strlen(out), KPULSE_FD_EXE_NAME);
}

int main(void)
{
	h_suite = "fd";
	RUN(errno_names);
	RUN(error_slots_round_trip);
	RUN(file_nr_fixtures);
	RUN(exe_path);
	return DONE();
}
