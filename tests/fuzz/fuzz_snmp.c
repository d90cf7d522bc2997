// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: snmp__parse (/proc/net/snmp, /proc/net/netstat header/value pairs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct snmp_field f[] = {
		{"Tcp", "RetransSegs"},	       {"Tcp", "MaxConn"},	  {"Udp", "InErrors"},
		{"TcpExt", "ListenOverflows"}, {"TcpExt", "TCPTimeouts"}, {"A", "B"},
	};
	uint64_t out[6];
	char *buf = malloc(size + 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (snmp__parse(buf, f, 6, out) >> 6)
		abort();
	free(buf);
	return 0;
}
