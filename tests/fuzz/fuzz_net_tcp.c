// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/tcp and tcp6: the socket-line parser on every line, the listener count on the
 * input as a file, and the --port.watch list parser on the input as a flag value.
 */
// fuzz-seeds: tests/fixtures/*/net/tcp tests/fixtures/*/net/tcp6
// fuzz-dict: tests/fuzz/proc.dict
#include "fuzz.h"
#include "proc_net_tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = {22, 80, 443, 8080};
	char *s = fuzz_str(data, size), *line, path[128], err[128];
	int counts[4] = {0, 0, 0, 0};
	unsigned int state, bad = 0;
	uint16_t port, parsed[8];
	size_t n = 0, i, lines = 0;

	/* The file may hold NUL bytes the string stops at: count lines in the bytes. */
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	lines++;
	for (line = s; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!proc_net_tcp__parse_line(line, &port, &state))
			FUZZ_CHECK(state <= 0xff);
	}
	fuzz_write("tcp", data, size);
	snprintf(path, sizeof(path), "%s/tcp", fuzz_scratch());
	FUZZ_CHECK(!proc_net_tcp__count_listeners(path, ports, 4, counts, &bad));
	for (i = 0; i < 4; i++)
		FUZZ_CHECK(counts[i] >= 0 && (size_t)counts[i] <= lines);
	if (!tcp_ports__parse(s, parsed, 8, &n, err, sizeof(err))) {
		FUZZ_CHECK(n <= 8);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(parsed[i] != 0);
	}
	free(s);
	return 0;
}
