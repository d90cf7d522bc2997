// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/self/mountinfo: the line parser (in place, with octal unescaping) on every line,
 * the cgroup2 mount lookup on the input as a file, the cgroup path roll-up on every path
 * the parser returns, and the filesystem collector's mount table (one entry per mount
 * point, bounded).
 */
// fuzz-seeds: tests/fixtures/*/proc/self/mountinfo
// fuzz-dict: tests/fuzz/proc.dict
#include "cgroup.h"
#include "fuzz.h"
#include "mountinfo.h"

static void check_field(const char *f, const char *buf, size_t size)
{
	FUZZ_CHECK(f >= buf && f <= buf + size);
	FUZZ_CHECK(strlen(f) <= size - (size_t)(f - buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), *line, *next, out[4096];
	unsigned int depth = size ? data[0] % 8 : 3;
	struct mountinfo m;

	for (line = s; line && line < s + size; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (mountinfo__parse(line, &m))
			continue;
		check_field(m.root, s, size);
		check_field(m.mount_point, s, size);
		check_field(m.options, s, size);
		check_field(m.fstype, s, size);
		check_field(m.source, s, size);
		if (*m.super_options)
			check_field(m.super_options, s, size);
		cgroup__roll_up(m.mount_point, depth, out, sizeof(out));
		FUZZ_CHECK(strlen(out) <= strlen(m.mount_point) || !strcmp(out, "/"));
		cgroup__roll_up(m.root, depth, out, sizeof(out));
	}
	free(s);

	/* The mount table: each mount point once, at most t.max of them. */
	{
		static struct filter types;
		static bool ready;
		struct mount_table t = {.max = size ? 1 + data[size - 1] % 64 : 8};
		char err[128];
		size_t i, j;

		if (!ready)
			FUZZ_CHECK(!filter__init(&types, NULL, "proc|sysfs|cgroup2?", err,
						 sizeof(err)));
		ready = true;
		s = fuzz_str(data, size);
		FUZZ_CHECK(!mount_table__parse(&t, s, &types, NULL));
		FUZZ_CHECK(t.n <= t.max);
		for (i = 0; i < t.n; i++) {
			FUZZ_CHECK(strcmp(t.m[i].fstype, "proc"));
			for (j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(t.m[i].mount_point, t.m[j].mount_point));
		}
		mount_table__free(&t);
		free(s);
	}
	fuzz_write("self/mountinfo", data, size);
	cgroup__find_mount(fuzz_scratch(), out, sizeof(out));
	return 0;
}
