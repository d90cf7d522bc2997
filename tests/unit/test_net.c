// SPDX-License-Identifier: GPL-2.0
/* The net collector's pure parts: /proc/net/tcp{,6} lines and files, --port.watch lists. */
#include <errno.h>
#include <stdint.h>
#include "harness.h"
#include "proc_net_tcp.h"

TEST(tcp_lines)
{
	static const struct {
		const char *line;
		int err;
		unsigned int port, state;
	} cases[] = {
		{"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 "
		 "1",
		 0, 22, 0x0a},
		{"  12: 0100007F:1F90 0100007F:C350 01 00000000:00000000\n", 0, 8080, 0x01},
		/* IPv6, lower-case hex, the last field at the end of the line */
		{"0: 00000000000000000000000001000000:01bb 00000000000000000000000000000000:0000 "
		 "0a",
		 0, 443, 0x0a},
		{"1: 00000000000000000000000001000000:FFFF 00000000000000000000000000000000:0000 "
		 "0A\n",
		 0, 65535, 0x0a},
		/* the header, and everything malformed */
		{"  sl  local_address rem_address   st tx_queue rx_queue", -EINVAL},
		{"", -EINVAL},
		{"\n", -EINVAL},
		{"   0: 0100007F:1F90 00000000:0000", -EINVAL},	    /* no state */
		{"   0: 0100007F:1F90 00000000:0000 ", -EINVAL},    /* no state */
		{"   0: 0100007F:1F90 00000000:0000 0", -EINVAL},   /* short state */
		{"   0: 0100007F:1F90 00000000:0000 0AB", -EINVAL}, /* long state */
		{"   0: 0100007F:1F90 00000000:0000 ZZ", -EINVAL},
		{"   0: 100007F:1F90 00000000:0000 0A", -EINVAL},   /* 7-digit address */
		{"   0: 0100007F0:1F90 00000000:0000 0A", -EINVAL}, /* 9-digit address */
		{"   0: 0100007F:1F9 00000000:0000 0A", -EINVAL},   /* 3-digit port */
		{"   0: 0100007F:1F900 00000000:0000 0A", -EINVAL}, /* 5-digit port */
		{"   0: 0100007F-1F90 00000000:0000 0A", -EINVAL},
		{"   0 0100007F:1F90 00000000:0000 0A", -EINVAL}, /* no colon after sl */
		{"   x: 0100007F:1F90 00000000:0000 0A", -EINVAL},
		{"   0:0100007F:1F90 00000000:0000 0A", -EINVAL},
		{"   0: 0100007F:1F90 0000:0000 0A", -EINVAL}, /* bad remote */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t port = 0;
		unsigned int state = 0;
		int err = proc_net_tcp__parse_line(cases[i].line, &port, &state);

		if (err != cases[i].err)
			printf("  case %zu: \"%s\"\n", i, cases[i].line);
		CHECK_INT(err, cases[i].err);
		if (!cases[i].err && !err) {
			CHECK_INT(port, cases[i].port);
			CHECK_INT(state, cases[i].state);
		}
	}
}

TEST(counts_listeners_in_fixtures)
{
	const uint16_t ports[] = {22, 8080, 443, 80, 9999};
	int counts[5] = {0};
	unsigned int bad = 0;

	CHECK_INT(proc_net_tcp__count_listeners("tests/fixtures/proc/net/tcp", ports, 5, counts,
						&bad),
		  0);
	CHECK_INT(proc_net_tcp__count_listeners("tests/fixtures/proc/net/tcp6", ports, 5, counts,
						&bad),
		  0);
	CHECK_INT(bad, 0);
	CHECK_INT(counts[0], 2); /* :22 on IPv4 and IPv6 */
	CHECK_INT(counts[1], 2); /* :8080 twice (SO_REUSEPORT); the connection from it is not */
	CHECK_INT(counts[2], 1); /* :443 on IPv6 */
	CHECK_INT(counts[3], 0); /* :80 in TIME_WAIT */
	CHECK_INT(counts[4], 0);
}

TEST(malformed_file)
{
	const uint16_t ports[] = {443, 8080, 22};
	int counts[3] = {0};
	unsigned int bad = 0;

	CHECK_INT(proc_net_tcp__count_listeners("tests/fixtures/proc-malformed/net/tcp", ports, 3,
						counts, &bad),
		  0);
	CHECK_INT(counts[0], 1); /* the one complete line */
	CHECK_INT(counts[1], 1); /* cut after the state: still all we need; before it: bad */
	CHECK_INT(counts[2], 0); /* bad widths, bad state, overlong line */
	CHECK_INT(bad, 9);
	CHECK_INT(proc_net_tcp__count_listeners("tests/fixtures/nonexistent/net/tcp", ports, 3,
						counts, NULL),
		  -ENOENT);
}

TEST(port_lists)
{
	uint16_t p[4];
	char err[128];
	size_t n;

	CHECK_INT(tcp_ports__parse(" 80, 443,,8080 ,80", p, 4, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 3);
	CHECK_INT(p[0], 80);
	CHECK_INT(p[1], 443);
	CHECK_INT(p[2], 8080);
	CHECK_INT(tcp_ports__parse("", p, 4, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 0);
	CHECK_INT(tcp_ports__parse("65535", p, 4, &n, err, sizeof(err)), 0);
	CHECK_INT(p[0], 65535);
	CHECK_INT(tcp_ports__parse("80,http", p, 4, &n, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "'http' is not a TCP port (1-65535)");
	CHECK_INT(tcp_ports__parse("0", p, 4, &n, err, sizeof(err)), -EINVAL);
	CHECK_INT(tcp_ports__parse("65536", p, 4, &n, err, sizeof(err)), -EINVAL);
	CHECK_INT(tcp_ports__parse("99999999999999999999", p, 4, &n, err, sizeof(err)), -EINVAL);
	CHECK_INT(tcp_ports__parse("-1", p, 4, &n, err, sizeof(err)), -EINVAL);
	CHECK_INT(tcp_ports__parse("8 0", p, 4, &n, err, sizeof(err)), -EINVAL);
	CHECK_INT(tcp_ports__parse("1,2,3,4,5", p, 4, &n, err, sizeof(err)), -E2BIG);
	CHECK_STR(err, "at most 4 ports can be watched");
}

int main(void)
{
	h_suite = "net";
	RUN(tcp_lines);
	RUN(counts_listeners_in_fixtures);
	RUN(malformed_file);
	RUN(port_lists);
	return DONE();
}
