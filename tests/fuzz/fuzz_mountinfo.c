// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/self/mountinfo: the line parser (in place, with octal unescaping) on every line,
 * the cgroup2 mount lookup on the input as a file, and the cgroup path roll-up on every
 * path the parser returns.
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
	fuzz_write("self/mountinfo", data, size);
	cgroup__find_mount(fuzz_scratch(), out, sizeof(out));
	return 0;
}
