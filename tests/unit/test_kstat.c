// SPDX-License-Identifier: GPL-2.0
/*
 * The kstat parsers: PSI, vmstat-style key-value files, snmp/netstat pairs, sockstat and
 * softnet_stat lines, well-formed and malformed.
 */
#include <errno.h>
#include <stdint.h>
#include "harness.h"
#include "kstat.h"

TEST(psi_lines)
{
	static const struct {
		const char *in;
		int err;
		uint32_t present;
		uint64_t some, full;
	} cases[] = {
		{"some avg10=0.12 avg60=0.00 avg300=0.00 total=123\n"
		 "full avg10=0.00 avg60=0.00 avg300=0.00 total=45\n",
		 0, 3, 123, 45},
		/* The kernel before 5.13 wrote no full line for cpu. */
		{"some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", 0, 1, 7, 0},
		{"full avg10=0.00 total=9", 0, 2, 0, 9},
		{"some total=18446744073709551615\n", 0, 1, UINT64_MAX, 0},
		{"some total=18446744073709551616\n", -ENODATA, 0, 0, 0},
		{"some total=-1\nfull total=x\n", -ENODATA, 0, 0, 0},
		{"some avg10=1.00\n", -ENODATA, 0, 0, 0},
		{"somex total=1\nful total=2\n", -ENODATA, 0, 0, 0},
		{"some total=5 total=6\nsome total=7\n", 0, 1, 5, 0}, /* the first one counts */
		{"", -ENODATA, 0, 0, 0},
		{"\n\n", -ENODATA, 0, 0, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct psi p;
		int err = psi__parse(cases[i].in, &p);

		CHECKF(err == cases[i].err && p.present == cases[i].present &&
			       (!(p.present & 1) || p.total_us[PSI_SOME] == cases[i].some) &&
			       (!(p.present & 2) || p.total_us[PSI_FULL] == cases[i].full),
		       "psi__parse(%zu) = %d, present %u, some %llu, full %llu", i, err, p.present,
		       (unsigned long long)p.total_us[0], (unsigned long long)p.total_us[1]);
	}
	CHECK_STR(psi_kind__name(PSI_SOME), "some");
	CHECK_STR(psi_kind__name(PSI_FULL), "full");
	CHECK_STR(psi_kind__name(PSI_NKINDS), "");
}

TEST(kv_lines)
{
	static const char *const keys[] = {"pgmajfault", "oom_kill", "pswpin", "Udp6InErrors"};
	uint64_t v[4] = {0};
	uint32_t f;

	f = kv__parse("pgfault 1\npgmajfault 22\npgmajfault_x 5\noom_kill 3\noom_kill 4\n"
		      "Udp6InErrors    \t  8\npswpin -1\n",
		      keys, 4, v);
	CHECK_INT(f, 1 | 2 | 8);
	CHECK_INT(v[0], 22);
	CHECK_INT(v[1], 3);
	CHECK_INT(v[3], 8);
	CHECK_INT(kv__parse("", keys, 4, v), 0);
	CHECK_INT(kv__parse("pgmajfault\npgmajfault 1x\npswpin 99999999999999999999\n", keys, 4, v),
		  0);
	/* No newline at the end of the buffer. */
	CHECK_INT(kv__parse("oom_kill 6", keys, 4, v), 2);
	CHECK_INT(v[1], 6);
}

TEST(snmp_pairs)
{
	static const struct snmp_field f[] = {{"Tcp", "RetransSegs"},
					      {"Tcp", "MaxConn"},
					      {"Udp", "InErrors"},
					      {"Tcp", "OutRsts"}};
	uint64_t v[4] = {0};
	uint32_t found;

	found = snmp__parse("Ip: Forwarding DefaultTTL\nIp: 2 64\n"
			    "Tcp: MaxConn RetransSegs OutRsts\nTcp: -1 21 227\n"
			    "Udp: InDatagrams InErrors\nUdp: 5 6\n",
			    f, 4, v);
	/* MaxConn is -1 in every kernel: absent, the others still parse. */
	CHECK_INT(found, 1 | 4 | 8);
	CHECK_INT(v[0], 21);
	CHECK_INT(v[2], 6);
	CHECK_INT(v[3], 227);
	/* A value line shorter than its header: the names past its end are absent. */
	CHECK_INT(snmp__parse("Tcp: RetransSegs OutRsts\nTcp: 3\n", f, 4, v), 1);
	CHECK_INT(v[0], 3);
	/* Header and values of different prefixes: resynchronise, never mix them up. */
	CHECK_INT(snmp__parse("Tcp: RetransSegs\nUdp: 9\nTcp: RetransSegs\nTcp: 10\n", f, 4, v), 1);
	CHECK_INT(v[0], 10);
	/* "Tcpx:" is not "Tcp:", and a lone header is ignored. */
	CHECK_INT(snmp__parse("Tcpx: RetransSegs\nTcpx: 1\nTcp: RetransSegs", f, 4, v), 0);
	CHECK_INT(snmp__parse("", f, 4, v), 0);
	CHECK_INT(snmp__parse(":\n:\n", f, 4, v), 0);
}

TEST(sockstat_lines)
{
	const char *buf = "sockets: used 18\nTCP: inuse 3 orphan 0 tw 423 alloc 3 mem 258\n"
			  "UDP: inuse 1 mem 2\n";
	uint64_t v = 0;

	CHECK_INT(sockstat__get(buf, "TCP", "tw", &v), 0);
	CHECK_INT(v, 423);
	CHECK_INT(sockstat__get(buf, "TCP", "mem", &v), 0);
	CHECK_INT(v, 258);
	CHECK_INT(sockstat__get(buf, "UDP", "inuse", &v), 0);
	CHECK_INT(v, 1);
	CHECK_INT(sockstat__get(buf, "UDP", "tw", &v), -ENOENT);
	CHECK_INT(sockstat__get(buf, "RAW", "inuse", &v), -ENOENT);
	/* A value is never taken for a key: "0" after orphan is not a key called "0". */
	CHECK_INT(sockstat__get(buf, "TCP", "0", &v), -ENOENT);
	CHECK_INT(sockstat__get("TCP: inuse 3 tw x\n", "TCP", "tw", &v), -EINVAL);
	CHECK_INT(sockstat__get("TCP: inuse 3 tw\n", "TCP", "tw", &v), -ENOENT);
	CHECK_INT(sockstat__get("", "TCP", "tw", &v), -ENOENT);
}

TEST(softnet_lines)
{
	struct softnet s;

	CHECK_INT(softnet__parse_line("00037c31 00000002 00000003 00000000 00000000 00000000 "
				      "00000000 00000000 00000000 00000000 00000000 00000000 "
				      "00000001 00000000 00000000\n",
				      &s),
		  0);
	CHECK_INT(s.present, 7);
	CHECK_INT(s.v[SOFTNET_PROCESSED], 0x37c31);
	CHECK_INT(s.v[SOFTNET_DROPPED], 2);
	CHECK_INT(s.v[SOFTNET_TIME_SQUEEZE], 3);
	CHECK_INT(s.cpu, 1);
	/* An older kernel: 11 columns, no CPU number. */
	CHECK_INT(softnet__parse_line("ffffffff 00000000 0000000A 00000000 00000000 00000000 "
				      "00000000 00000000 00000000 00000000 00000000",
				      &s),
		  0);
	CHECK_INT(s.v[SOFTNET_PROCESSED], 0xffffffffu);
	CHECK_INT(s.v[SOFTNET_TIME_SQUEEZE], 10);
	CHECK_INT(s.cpu, -1);
	CHECK_INT(softnet__parse_line("00000001 123456789 0000000g\n", &s), 0);
	CHECK_INT(s.present, 1);
	CHECK_INT(softnet__parse_line("00000001", &s), 0);
	CHECK_INT(s.present, 1);
	CHECK_INT(softnet__parse_line("zz 00000001\n", &s), -EINVAL);
	CHECK_INT(softnet__parse_line("", &s), -EINVAL);
	CHECK_INT(softnet__parse_line("\n", &s), -EINVAL);
}

int main(void)
{
	h_suite = "kstat";
	RUN(psi_lines);
	RUN(kv_lines);
	RUN(snmp_pairs);
	RUN(sockstat_lines);
	RUN(softnet_lines);
	return DONE();
}
