// SPDX-License-Identifier: GPL-2.0
/*
 * The kstat parsers (PSI, vmstat-style, snmp/netstat, sockstat, softnet_stat) and the
 * pressure, vmstat and netstat collectors against fixtures captured from this machine
 * (tests/fixtures/kstat-t0, -t1: the same files one interval later, values edited to known
 * numbers) and against malformed ones (tests/fixtures/kstat-malformed).
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "collector.h"
#include "harness.h"
#include "kstat.h"
#include "mset_check.h"
#include "sampler.h"

extern struct collector pressure_collector, vmstat_collector, netstat_collector;

#define FIX "tests/fixtures/"

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

static int set_flag(struct collector *c, const char *name, const char *value)
{
	const struct flag *f = flags__find(c->flags, name);
	char err[128];

	return f ? flags__set(f, value, false, err, sizeof(err)) : -ENOENT;
}

#define CG(path, res, kind) "cgroup=\"" path "\",resource=\"" res "\",kind=\"" kind "\""
#define RES(res, kind) "resource=\"" res "\",kind=\"" kind "\""

TEST(pressure_collector_host_and_cgroups)
{
	char procfs[64] = FIX "kstat-t0/proc";
	struct kpulse_config cfg = fixture_config(procfs, FIX "vm/sys");
	struct tick t = {.seq = 1};
	uint64_t t0, t1;
	double r, elapsed_min, elapsed_max;
	struct mset *s = mset__new();

	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	/* As the sampler does: the tick's now is when the collector's sample begins. */
	t0 = t.now_ns = mono_now_ns();
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	t1 = mono_now_ns();
	/* total= is in microseconds. */
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("cpu", "some")), 2.5,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("memory", "full")),
		   0.0005, 0);
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("io", "full")), 0.2, 0);
	/* No irq file in the fixture (no CONFIG_IRQ_TIME_ACCOUNTING): no irq series. */
	MSET_ABSENT(s, "kpulse_pressure_stalled_seconds_total", RES("irq", "some"));
	/* The first reading has nothing to compare with. */
	CHECK_INT(mset_count(s, "kpulse_pressure_stalled_ratio"), 0);
	/* Cgroups down to depth 3: / a a/b a/b/c z; not a/b/c/d, not "off" (PSI off). */
	CHECK_INT(mset_count(s, "kpulse_cgroup_pressure_stalled_seconds_total"), 5 * 3 * 2);
	CHECK_NEAR(
		mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total", CG("/", "cpu", "some")),
		5, 0);
	CHECK_NEAR(mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total",
			    CG("/a/b/c", "cpu", "full")),
		   1, 0);
	CHECK_NEAR(
		mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total", CG("/z", "io", "some")),
		9e-6, 1e-12);
	MSET_ABSENT(s, "kpulse_cgroup_pressure_stalled_seconds_total",
		    CG("/a/b/c/d", "cpu", "some"));
	MSET_ABSENT(s, "kpulse_cgroup_pressure_stalled_seconds_total", CG("/off", "cpu", "some"));

	/* One interval later: cpu some +0.5 s, io some +0.1 s, io full +0.05 s, memory +0. */
	usleep(300000);
	snprintf(procfs, sizeof(procfs), FIX "kstat-t1/proc");
	mset__reset(s);
	t.now_ns = mono_now_ns();
	elapsed_min = (t.now_ns - t1) / 1e9;
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	elapsed_max = (mono_now_ns() - t0) / 1e9;
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("cpu", "some")), 3.0,
		   0);
	r = mset_get(s, "kpulse_pressure_stalled_ratio", RES("io", "some"));
	CHECK(r >= 0.1 / elapsed_max && r <= 0.1 / elapsed_min);
	r = mset_get(s, "kpulse_pressure_stalled_ratio", RES("io", "full"));
	CHECK(r >= 0.05 / elapsed_max && r <= 0.05 / elapsed_min);
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_ratio", RES("memory", "some")), 0, 0);
	/* 0.5 s of stall in ~0.3 s: clamped to 1, as a share of the interval must be. */
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_ratio", RES("cpu", "some")), 1, 0);
	/* The cgroup files did not move: ratios are 0. */
	CHECK_NEAR(mset_get(s, "kpulse_cgroup_pressure_stalled_ratio", CG("/a", "cpu", "some")), 0,
		   0);
	CHECK(mset_all_finite(s));
	pressure_collector.destroy(&pressure_collector);

	/* Depth 1 and an include pattern: / does not match "/a.*", /a does, /z does not. */
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-depth", "1"), 0);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-include", "/a.*"), 0);
	snprintf(procfs, sizeof(procfs), FIX "kstat-t0/proc");
	mset__reset(s);
	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	CHECK_INT(mset_count(s, "kpulse_cgroup_pressure_stalled_seconds_total"), 6);
	CHECK(!isnan(mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total",
			      CG("/a", "memory", "some"))));
	pressure_collector.destroy(&pressure_collector);

	/* At most 1 cgroup: the root, walked first; the walk adds no more (and says so once). */
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-depth", "3"), 0);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-include", ""), 0);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-max", "1"), 0);
	mset__reset(s);
	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	CHECK_INT(mset_count(s, "kpulse_cgroup_pressure_stalled_seconds_total"), 3 * 2);
	CHECK_NEAR(
		mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total", CG("/", "io", "some")),
		1, 0);
	pressure_collector.destroy(&pressure_collector);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-max", "512"), 0);
	/* A bad pattern is refused at start. */
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-exclude", "("), 0);
	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), -EINVAL);
	pressure_collector.destroy(&pressure_collector);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-exclude", ""), 0);
	mset__free(s);
}

TEST(pressure_collector_malformed_and_disabled)
{
	struct kpulse_config cfg = fixture_config(FIX "kstat-malformed/proc", FIX "vm/sys");
	struct tick t = {.seq = 0};
	struct mset *s = mset__new();

	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	/* Only memory full parses; the cgroup2 mount point does not exist: host only, up. */
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	CHECK_INT(mset_count(s, "kpulse_pressure_stalled_seconds_total"), 1);
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("memory", "full")), 4,
		   0);
	CHECK_INT(mset_count(s, "kpulse_cgroup_pressure_stalled_seconds_total"), 0);
	pressure_collector.destroy(&pressure_collector);

	/* No /proc/pressure at all (CONFIG_PSI off, psi=0): up but empty. */
	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	mset__reset(s);
	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	CHECK_INT(s->nsamples, 0);
	pressure_collector.destroy(&pressure_collector);
	mset__free(s);
}

TEST(vmstat_collector_fixtures)
{
	struct kpulse_config cfg = fixture_config(FIX "kstat-t0/proc", FIX "vm/sys");
	struct tick t = {.seq = 0};
	double page = (double)sysconf(_SC_PAGESIZE);
	struct mset *s = mset__new();

	CHECK_INT(vmstat_collector.init(&vmstat_collector, &cfg), 0);
	CHECK_INT(vmstat_collector.sample(&vmstat_collector, &t, s), 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_major_faults_total", ""), 1579, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_page_faults_total", ""), 14774001, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_swap_in_bytes_total", ""), 10 * page, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_swap_out_bytes_total", ""), 20 * page, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_reclaim_scanned_pages_total", "by=\"direct\""), 100,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_reclaim_scanned_pages_total", "by=\"kswapd\""), 200,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_reclaim_stolen_pages_total", "by=\"kswapd\""), 150,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_workingset_refaults_total", "type=\"anon\""), 3, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_workingset_refaults_total", "type=\"file\""), 143969,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_oom_kills_total", ""), 2, 0);
	vmstat_collector.destroy(&vmstat_collector);

	/* Malformed: pgmajfault is not a number, oom_kill twice (the first counts). */
	cfg = fixture_config(FIX "kstat-malformed/proc", FIX "vm/sys");
	mset__reset(s);
	CHECK_INT(vmstat_collector.init(&vmstat_collector, &cfg), 0);
	CHECK_INT(vmstat_collector.sample(&vmstat_collector, &t, s), 0);
	CHECK_INT(s->nsamples, 2);
	CHECK_NEAR(mset_get(s, "kpulse_memory_page_faults_total", ""), 100, 0);
	CHECK_NEAR(mset_get(s, "kpulse_oom_kills_total", ""), 3, 0);
	MSET_ABSENT(s, "kpulse_memory_major_faults_total", "");
	vmstat_collector.destroy(&vmstat_collector);

	/* Nothing usable, or no file: the collector is down, with the reason. */
	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	mset__reset(s);
	CHECK_INT(vmstat_collector.init(&vmstat_collector, &cfg), 0);
	CHECK_INT(vmstat_collector.sample(&vmstat_collector, &t, s), -ENOENT);
	vmstat_collector.destroy(&vmstat_collector);
	mset__free(s);
}

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
	h_suite = "kstat";
	RUN(psi_lines);
	RUN(kv_lines);
	RUN(snmp_pairs);
	RUN(sockstat_lines);
	RUN(softnet_lines);
	RUN(pressure_collector_host_and_cgroups);
	RUN(pressure_collector_malformed_and_disabled);
	RUN(vmstat_collector_fixtures);
	RUN(netstat_collector_fixtures);
	return DONE();
}
