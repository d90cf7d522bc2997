// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/sys/fs/file-nr: three numbers or nothing.
 */
// fuzz-seeds: tests/fixtures/fd/file-nr.*
#include "fd_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	uint64_t alloc = 1, max = 2;

	if (fd__parse_file_nr(s, &alloc, &max)) {
		/* A failed parse leaves the outputs alone. */
		FUZZ_CHECK(alloc == 1 && max == 2);
	} else {
		FUZZ_CHECK(s[0] >= '0' && s[0] <= '9');
	}
	free(s);
	return 0;
}
