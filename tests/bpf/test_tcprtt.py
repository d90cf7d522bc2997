#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tcprtt collector (iter/tcp once per --collector.tcprtt.interval) against connections whose round-trip time is
known, with kpulse in a network namespace of its own so that it sees only the test's
connections: loopback ones, and ones over a link that delays every packet by a fixed amount
(a TUN relay: netem is not built into these kernels). `ss -ti`, which reads the same
tcp_sock.srtt_us through tcp_info, is the second witness, socket by socket."""
import http.client
import math
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import Kpulse, Metrics, main, need_root, only_collectors, script, test  # noqa: E402
from netns import delayed_link, enter_netns, new_netns, subnet  # noqa: E402

ALL = "kpulse_tcp_rtt_seconds"
PORT = "kpulse_tcp_port_rtt_seconds"
N_LO, N_FAR = 8, 6
DELAY = 0.020  # one way: a round trip of 40 ms, in the bucket (32.768, 65.536] ms


class Scraper:
    """Scrapes over one keep-alive connection, so that the scrapes themselves are exactly
    one established connection (two sockets, both in kpulse's namespace) at every tick."""

    def __init__(self, k):
        self.conn = http.client.HTTPConnection("127.0.0.1", k.port, timeout=5)

    def text(self):
        self.conn.request("GET", "/metrics")
        r = self.conn.getresponse()
        body = r.read().decode()
        assert r.status == 200, f"/metrics answered {r.status}"
        return body

    def next_tick(self, timeout=5):
        first = self.text()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if text != first:
                return Metrics(text)
            time.sleep(0.01)
        raise AssertionError("kpulse published no new snapshot")


def slot_bound(us):
    """The upper bound in seconds of the log2 bucket of an RTT of @us µs: the smallest
    2^i µs (i >= 0) that is at least @us."""
    return 2.0 ** max(0, (us - 1).bit_length()) / 1e6


def ss_rtts(port):
    """tcpi_rtt (srtt in µs) of every established socket in this namespace whose local port
    is @port, from `ss -ti` (it prints the µs as ms with three decimals)."""
    out = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return [round(float(x) * 1000) for x in re.findall(r"\brtt:([\d.]+)/", out)]


def hist(m, name, **labels):
    """({le: cumulative count}, count, sum) of gauge histogram @name{labels}."""
    b = {}
    for lab, v in m.series(name + "_bucket"):
        le = lab.pop("le")
        if lab == labels:
            b[math.inf if le == "+Inf" else float(le)] = v
    return b, m.get(name + "_count", **labels), m.get(name + "_sum", **labels)


def expected(rtts, bounds):
    """The cumulative buckets a histogram of @rtts (µs) has at @bounds."""
    return {le: sum(1 for us in rtts if slot_bound(us) <= le) for le in bounds}


@test
def known_round_trip_times_land_in_their_buckets():
    """In a namespace of kpulse's own: 8 loopback connections accepted on port A, and 6
    connections from a second namespace accepted on port B over a link that delays every
    packet by 20 ms each way (a TUN relay), with --port.watch=A,B.
    - kpulse_tcp_port_rtt_seconds{port=B}: _count 6, every RTT in the bucket
      (32.768, 65.536] ms (40 ms plus the relay's own time);
    - {port=A}: _count 8, every RTT at most 1.024 ms (loopback);
    - both, bucket by bucket and _sum to the µs, what `ss -ti` shows for the same sockets
      (tcpi_rtt, the same srtt_us >> 3);
    - kpulse_tcp_rtt_seconds_count is every established socket: 8 x 2 loopback ends, 6,
      and the test's one keep-alive scrape connection (2);
    - it is a gauge: once the loopback connections are closed it counts 6 + 2."""
    need_root()
    enter_netns(new_netns("rt"))
    far = new_netns("rtf")
    near_ip, far_ip = subnet()
    delayed_link(far, near_ip, far_ip, DELAY)

    lo_srv = socket.socket()
    lo_srv.bind(("127.0.0.1", 0))
    lo_srv.listen(N_LO)
    far_srv = socket.socket()
    far_srv.bind((near_ip, 0))
    far_srv.listen(N_FAR)
    pa, pb = lo_srv.getsockname()[1], far_srv.getsockname()[1]

    # A walk at every tick, so that each tick shows the sockets of that tick.
    k = Kpulse(*only_collectors("tcprtt"), f"--port.watch={pa},{pb}",
               "--collector.tcprtt.interval=200ms", interval="200ms")
    scr = Scraper(k)

    lo_clients = [socket.create_connection(("127.0.0.1", pa)) for _ in range(N_LO)]
    lo_accepted = [lo_srv.accept()[0] for _ in range(N_LO)]
    # The far ends hold their connections open until their stdin closes.
    clients = subprocess.Popen(["ip", "netns", "exec", far, sys.executable,
                                script("tcp_connect_hold"), near_ip, str(pb), str(N_FAR)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert clients.stdout.readline().strip() == "connected", \
            "the far namespace's clients did not connect"
        far_accepted = [far_srv.accept()[0] for _ in range(N_FAR)]

        scr.next_tick()
        m = scr.next_tick()
        rtt_a, rtt_b = ss_rtts(pa), ss_rtts(pb)
        ba, ca, sa = hist(m, PORT, port=str(pa))
        bb, cb, sb = hist(m, PORT, port=str(pb))
        _, call, _ = hist(m, ALL)
        print(f"  ss: port A (loopback) rtt {sorted(rtt_a)} us; port B (2 x 20 ms) "
              f"{sorted(rtt_b)} us")
        print(f"  kpulse: port A _count {ca:.0f} _sum {sa * 1e6:.0f} us; port B _count "
              f"{cb:.0f} _sum {sb * 1e6:.0f} us; all _count {call:.0f}")
        assert len(rtt_a) == N_LO and len(rtt_b) == N_FAR, \
            f"ss shows {len(rtt_a)} and {len(rtt_b)} connections, want {N_LO} and {N_FAR}"
        assert cb == N_FAR and bb[0.032768] == 0 and bb[0.065536] == N_FAR, \
            f"{PORT}{{port={pb}}}: _count {cb}, {bb[0.032768]:.0f} at <= 32.768 ms and " \
            f"{bb[0.065536]:.0f} at <= 65.536 ms: want all {N_FAR} delayed by 40 ms between"
        assert ca == N_LO and ba[0.001024] == N_LO, \
            f"{PORT}{{port={pa}}}: _count {ca}, {ba[0.001024]:.0f} at <= 1.024 ms: want " \
            f"all {N_LO} loopback connections there"
        for port, b, c, s, rtts in ((pa, ba, ca, sa, rtt_a), (pb, bb, cb, sb, rtt_b)):
            assert b == expected(rtts, b), \
                f"{PORT}{{port={port}}} buckets {b}, ss -ti {expected(rtts, b)}"
            assert abs(s * 1e6 - sum(rtts)) < 0.5, \
                f"{PORT}{{port={port}}}_sum {s * 1e6:.1f} us, ss -ti rtts sum to {sum(rtts)}"
        want = 2 * N_LO + N_FAR + 2
        assert call == want, f"{ALL}_count {call}, want {want}: 2 x {N_LO} loopback ends, " \
                             f"{N_FAR} accepted from the far namespace, 2 of the scrape's"

        for s in lo_clients + lo_accepted:
            s.close()
        scr.next_tick()
        m = scr.next_tick()
        _, call, _ = hist(m, ALL)
        _, ca, _ = hist(m, PORT, port=str(pa))
        assert call == N_FAR + 2 and ca == 0, \
            f"after closing the loopback connections {ALL}_count {call} (want {N_FAR + 2}) " \
            f"and port A's {ca} (want 0)"
        for s in far_accepted:
            s.close()
    finally:
        clients.stdin.close()
        clients.wait(10)
        lo_srv.close()
        far_srv.close()


@test
def the_iterator_walks_once_per_interval_and_serves_its_snapshot_between():
    """kpulse alone in a namespace of its own, 200 ms ticks, --collector.tcprtt.interval=700ms
    (rounded up to 800 ms: a walk every 4th tick), --bpf.stats. The witness of a walk is the
    kernel's own run count of the iterator program (bpf_prog_info.run_cnt, exported as
    kpulse_bpf_program_runs_total{program="tcprtt"}; it runs once per socket plus once at the
    end of each walk, so every walk raises it). Over 17 consecutive ticks:
    - the first tick kpulse serves already has the histogram (the first tick walks, or finds
      no established connection and serves an empty one without walking);
    - the run count rises on exactly one tick in four, 4 ticks apart, and on no other;
    - 3 loopback connections (6 sockets) opened just after a walk are not in
      kpulse_tcp_rtt_seconds_count on the 3 ticks that follow (the walk's snapshot is served
      again, unchanged), and are in it from the next walk on."""
    need_root()
    enter_netns(new_netns("rtw"))
    every = 4
    k = Kpulse(*only_collectors("tcprtt"), "--bpf.stats", "--collector.tcprtt.interval=700ms",
               interval="200ms")
    scr = Scraper(k)
    first = Metrics(scr.text())
    # A walk, or none because the kernel counted no established connection (Tcp CurrEstab 0
    # in this new namespace until the scraper's keep-alive connection): either way a count.
    assert first.get(ALL + "_count") is not None, \
        "the first snapshot kpulse served has no walk of the iterator in it"
    assert "walking every 800ms instead" in k.output(), \
        f"700ms was not rounded up to 800ms, or not logged: {k.output()!r}"
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(3)
    conns = []
    ticks = []  # (tick timestamp, run count, _count)
    try:
        opened_at = None
        while len(ticks) < 17:
            m = scr.next_tick()
            ticks.append((m.get("kpulse_sampler_last_tick_timestamp_seconds"),
                          m.get("kpulse_bpf_program_runs_total", program="tcprtt"),
                          m.get(ALL + "_count")))
            if opened_at is None and len(ticks) >= 6 and ticks[-1][1] != ticks[-2][1]:
                # Just after a walk: the next 3 ticks must serve it again.
                for _ in range(3):
                    c = socket.create_connection(("127.0.0.1", srv.getsockname()[1]))
                    conns += [c, srv.accept()[0]]
                opened_at = len(ticks) - 1
        for (a, _, _), (b, _, _) in zip(ticks, ticks[1:]):
            assert 0.1 < b - a < 0.3, f"ticks {a:.3f} and {b:.3f} are not consecutive 200 ms " \
                                      "ticks: the machine was too busy to scrape each tick"
        walks = [i for i in range(1, len(ticks)) if ticks[i][1] != ticks[i - 1][1]]
        print(f"  run count by tick: {[int(r) for _, r, _ in ticks]}")
        print(f"  {ALL}_count by tick: {[int(c) for _, _, c in ticks]}; walks at {walks}")
        assert len(walks) >= 3 and all(b - a == every for a, b in zip(walks, walks[1:])), \
            f"the iterator's run count rose at ticks {walks}: want every {every}th tick " \
            "(700ms rounded up to 4 x 200 ms)"
        assert opened_at is not None, "no walk seen after the 6th tick"
        before = ticks[opened_at][2]
        for i in range(opened_at + 1, opened_at + every):
            assert ticks[i][2] == before, \
                f"tick {i}, between walks: {ALL}_count {ticks[i][2]}, want the last " \
                f"walk's {before} served again (the 6 new sockets only at the next walk)"
        after = ticks[opened_at + every][2]
        assert after == before + 6, \
            f"at the walk after opening 3 loopback connections {ALL}_count {after}, want " \
            f"{before} + 6"
    finally:
        for c in conns:
            c.close()
        srv.close()
        k.stop()


@test
def a_bad_interval_is_refused_with_the_reason():
    """--collector.tcprtt.interval=0 (it would never walk) and =2h (over the 1h bound): the
    log names the flag and the bound, and the collector reports kpulse_collector_up 0."""
    need_root()
    for bad in ("0s", "2h"):
        k = Kpulse(*only_collectors("tcprtt"), f"--collector.tcprtt.interval={bad}")
        try:
            m = k.next_tick()
            up = m.get("kpulse_collector_up", collector="tcprtt")
            log = k.output()
            assert up == 0, f"--collector.tcprtt.interval={bad}: kpulse_collector_up {up}, want 0"
            assert "--collector.tcprtt.interval" in log and "at most 1h" in log, \
                f"--collector.tcprtt.interval={bad}: the log does not say why: {log!r}"
        finally:
            k.stop()


if __name__ == "__main__":
    main("tcprtt")
