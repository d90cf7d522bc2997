// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/snmp and /proc/net/netstat (header and value line pairs) and /proc/net/sockstat:
 * the parsers on the raw bytes. A field reported present was named in a header line.
 */
// fuzz-seeds: tests/fixtures/kstat-*/proc/net/snmp tests/fixtures/kstat-*/proc/net/netstat
// tests/fixtures/kstat-*/proc/net/sockstat fuzz-dict: tests/fuzz/kstat.dict
#include "fuzz.h"
#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct snmp_field fields[] = {
		{"Tcp", "RetransSegs"}, {"Tcp", "CurrEstab"},	 {"TcpExt", "ListenOverflows"},
		{"Udp", "InErrors"},	{"Udp", "RcvbufErrors"}, {"TcpExt", "TCPTimeouts"},
	};
	const size_t n = sizeof(fields) / sizeof(fields[0]);
	char *s = fuzz_str(data, size);
	uint64_t out[6], tw = 7;
	uint32_t got;
	size_t i;

	got = snmp__parse(s, fields, n, out);
	FUZZ_CHECK(!(got >> n));
	for (i = 0; i < n; i++)
		if (got & (1u << i))
			FUZZ_CHECK(strstr(s, fields[i].name) && strstr(s, fields[i].prefix));
	if (sockstat__get(s, "TCP", "tw", &tw))
		FUZZ_CHECK(tw == 7); /* a failed lookup leaves the output alone */
	free(s);
	return 0;
}
