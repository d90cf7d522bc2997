// SPDX-License-Identifier: GPL-2.0
/*
 * The netstat collector (snmp, netstat, sockstat, softnet_stat, conntrack) against
 * fixtures captured from this machine and malformed ones.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include "collector.h"
#include "harness.h"
#include "kstat.h"
#include "mset_check.h"

extern struct collector netstat_collector;

#define FIX "tests/fixtures/"

TEST(netstat_collector_fixtures)
{
	char procfs[64] = FIX "kstat-t0/proc";
	struct kpulse_config cfg = fixture_config(procfs, FIX "vm/sys");
	struct tick t = {.seq = 0};
	struct mset *s = mset__new();

	CHECK_INT(netstat_collector.init(&netstat_collector, &cfg), 0);
	CHECK_INT(netstat_collector.sample(&netstat_collector, &t, s), 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_retransmitted_segments_total", ""), 21, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_in_errors_total", ""), 3, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_out_resets_total", ""), 227, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_established", ""), 5, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_listen_overflows_total", ""), 7, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_listen_drops_total", ""), 9, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_timeouts_total", ""), 6, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_receive_queue_drops_total", ""), 4, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_backlog_drops_total", ""), 2, 0);
	CHECK_NEAR(mset_get(s, "kpulse_udp_in_errors_total", "ip=\"ipv4\""), 1816, 0);
	CHECK_NEAR(mset_get(s, "kpulse_udp_receive_buffer_errors_total", "ip=\"ipv4\""), 1810, 0);
	CHECK_NEAR(mset_get(s, "kpulse_udp_send_buffer_errors_total", "ip=\"ipv4\""), 2, 0);
	CHECK_NEAR(mset_get(s, "kpulse_udp_in_errors_total", "ip=\"ipv6\""), 11, 0);
	CHECK_NEAR(mset_get(s, "kpulse_udp_receive_buffer_errors_total", "ip=\"ipv6\""), 10, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_time_wait", ""), 423, 0);
	CHECK_NEAR(mset_get(s, "kpulse_softnet_processed_total", "cpu=\"0\""), 0xfffffff0u, 0);
	CHECK_NEAR(mset_get(s, "kpulse_softnet_processed_total", "cpu=\"1\""), 0x29f6f, 0);
	CHECK_NEAR(mset_get(s, "kpulse_softnet_dropped_total", "cpu=\"0\""), 3, 0);
	CHECK_NEAR(mset_get(s, "kpulse_softnet_times_squeezed_total", "cpu=\"0\""), 5, 0);
	CHECK_NEAR(mset_get(s, "kpulse_conntrack_entries", ""), 17, 0);
	CHECK_NEAR(mset_get(s, "kpulse_conntrack_entries_limit", ""), 262144, 0);

	/* The next interval: CPU 0's 32-bit processed counter wrapped from 0xfffffff0 to 0x10. */
	snprintf(procfs, sizeof(procfs), FIX "kstat-t1/proc");
	mset__reset(s);
	CHECK_INT(netstat_collector.sample(&netstat_collector, &t, s), 0);
	CHECK_NEAR(mset_get(s, "kpulse_softnet_processed_total", "cpu=\"0\""), 0xfffffff0ull + 0x20,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_softnet_dropped_total", "cpu=\"0\""), 4, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_listen_overflows_total", ""), 57, 0);
	CHECK(mset_all_finite(s));
	netstat_collector.destroy(&netstat_collector);

	cfg = fixture_config(FIX "kstat-malformed/proc", FIX "vm/sys");
	mset__reset(s);
	CHECK_INT(netstat_collector.init(&netstat_collector, &cfg), 0);
	CHECK_INT(netstat_collector.sample(&netstat_collector, &t, s), 0);
	/* Tcp's values stop after CurrEstab. */
	CHECK_NEAR(mset_get(s, "kpulse_tcp_established", ""), 4, 0);
	MSET_ABSENT(s, "kpulse_tcp_retransmitted_segments_total", "");
	MSET_ABSENT(s, "kpulse_tcp_out_resets_total", "");
	/* Udp: -5 and a 23-digit number are not counters. */
	CHECK_NEAR(mset_get(s, "kpulse_udp_in_errors_total", "ip=\"ipv4\""), 1816, 0);
	MSET_ABSENT(s, "kpulse_udp_receive_buffer_errors_total", "ip=\"ipv4\"");
	MSET_ABSENT(s, "kpulse_udp_send_buffer_errors_total", "ip=\"ipv4\"");
	/* netstat: the out-of-step pair is skipped, the first ListenOverflows counts. */
	CHECK_NEAR(mset_get(s, "kpulse_tcp_listen_overflows_total", ""), 12, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_listen_drops_total", ""), 13, 0);
	CHECK_NEAR(mset_get(s, "kpulse_tcp_timeouts_total", ""), 14, 0);
	MSET_ABSENT(s, "kpulse_tcp_receive_queue_drops_total", "");
	CHECK_NEAR(mset_get(s, "kpulse_tcp_backlog_drops_total", ""), 16, 0);
	MSET_ABSENT(s, "kpulse_tcp_time_wait", "");
	/* softnet: the garbage line is skipped; CPU 1's dropped is 9 digits; line 3 has no
	 * CPU column (it is CPU 2 by position), line 4 a CPU number beyond any CPU (CPU 3). */
	CHECK_NEAR(mset_get(s, "kpulse_softnet_processed_total", "cpu=\"1\""), 1, 0);
	MSET_ABSENT(s, "kpulse_softnet_dropped_total", "cpu=\"1\"");
	CHECK_NEAR(mset_get(s, "kpulse_softnet_times_squeezed_total", "cpu=\"1\""), 3, 0);
	CHECK_NEAR(mset_get(s, "kpulse_softnet_processed_total", "cpu=\"2\""), 7, 0);
	CHECK_NEAR(mset_get(s, "kpulse_softnet_processed_total", "cpu=\"3\""), 8, 0);
	CHECK_INT(mset_count(s, "kpulse_softnet_processed_total"), 3);
	/* conntrack: the count is not a number, so neither is exported. */
	MSET_ABSENT(s, "kpulse_conntrack_entries", "");
	MSET_ABSENT(s, "kpulse_conntrack_entries_limit", "");
	CHECK(mset_all_finite(s));
	netstat_collector.destroy(&netstat_collector);

	/* No /proc/net/snmp: down, with the reason. */
	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	mset__reset(s);
	CHECK_INT(netstat_collector.init(&netstat_collector, &cfg), 0);
	CHECK_INT(netstat_collector.sample(&netstat_collector, &t, s), -ENOENT);
	netstat_collector.destroy(&netstat_collector);
	mset__free(s);
}

int main(void)
{
	h_suite = "netstat";
	RUN(netstat_collector_fixtures);
	return DONE();
}
