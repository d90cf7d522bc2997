#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""netstat collector against workloads whose answer is known, each run with kpulse in a
network namespace of its own (the counters are per namespace and start at 0 there, so no
other traffic on the machine can move them): a listener that never accepts, a UDP socket
that never reads. nstat, reading the same namespace, is the second witness."""
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import Kpulse, Metrics, main, need_root, only_collectors, test, wait_for  # noqa: E402
from netns import enter_netns, new_netns  # noqa: E402


def nstat(name):
    """The absolute value of counter @name (e.g. TcpExtListenOverflows) in this namespace."""
    out = subprocess.run(["nstat", "-asz", name], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == name:
            return int(f[1])
    raise AssertionError(f"nstat printed no {name}: {out!r}")


def settled(name):
    """nstat's value of @name once it has stopped moving for 300 ms."""
    last = None
    for _ in range(50):
        v = nstat(name)
        if v == last:
            return v
        last = v
        time.sleep(0.3)
    raise AssertionError(f"{name} kept moving: {last}")


@test
def listen_overflows_of_a_listener_that_never_accepts():
    """A listener with backlog 1 that never accepts, hit by 50 non-blocking connects: its
    accept queue holds 2 (backlog + 1), every further SYN and handshake-completing ACK
    overflows it. kpulse_tcp_listen_overflows_total and _listen_drops_total must equal what
    nstat shows (at least 48 overflows)."""
    need_root()
    enter_netns(new_netns("lo"))
    k = Kpulse(*only_collectors("netstat"), interval="200ms")
    m = k.next_tick()
    assert m.get("kpulse_tcp_listen_overflows_total") == 0, "a fresh namespace starts at 0"
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    clients = []
    for _ in range(50):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(srv.getsockname())
        clients.append(c)
    time.sleep(0.5)
    # Closing stops the SYN retries, so the counters settle.
    for c in clients:
        c.close()
    srv.close()
    overflows, drops = settled("TcpExtListenOverflows"), settled("TcpExtListenDrops")
    k.next_tick()
    m = k.next_tick()
    got_o = m.get("kpulse_tcp_listen_overflows_total")
    got_d = m.get("kpulse_tcp_listen_drops_total")
    print(f"  nstat: TcpExtListenOverflows {overflows}, TcpExtListenDrops {drops}; "
          f"kpulse: {got_o:.0f}, {got_d:.0f}")
    assert overflows >= 48, f"nstat shows {overflows} overflows for 50 connects to backlog 1"
    assert got_o == overflows, f"kpulse_tcp_listen_overflows_total {got_o}, nstat {overflows}"
    assert got_d == drops, f"kpulse_tcp_listen_drops_total {got_d}, nstat {drops}"


@test
def udp_receive_buffer_errors_of_a_flooded_socket():
    """A UDP socket with a 16 KiB receive buffer, never read while 300 datagrams of
    200 bytes arrive on loopback, then drained: every datagram it did not get was dropped
    for a full buffer, so kpulse_udp_receive_buffer_errors_total{ip="ipv4"} must be exactly
    300 minus the datagrams read (and InErrors the same, nstat agreeing)."""
    need_root()
    enter_netns(new_netns("udp"))
    k = Kpulse(*only_collectors("netstat"), interval="200ms")
    k.next_tick()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # doubled: room for a few
    rx.bind(("127.0.0.1", 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 300
    for i in range(sent):
        assert tx.sendto(b"u" * 200, rx.getsockname()) == 200
    rx.setblocking(False)
    got = 0
    while True:
        try:
            rx.recv(2048)
            got += 1
        except BlockingIOError:
            break
    dropped = sent - got
    k.next_tick()
    m = k.next_tick()
    kp = m.get("kpulse_udp_receive_buffer_errors_total", ip="ipv4")
    inerr = m.get("kpulse_udp_in_errors_total", ip="ipv4")
    ns = nstat("UdpRcvbufErrors")
    print(f"  sent {sent}, read {got}: {dropped} dropped; kpulse RcvbufErrors {kp:.0f}, "
          f"InErrors {inerr:.0f}; nstat {ns}")
    assert got > 0 and dropped > 0, f"read {got} of {sent}: the buffer was not the bottleneck"
    assert kp == dropped, f"kpulse_udp_receive_buffer_errors_total {kp}, want {dropped} " \
        f"({sent} sent - {got} read)"
    assert inerr == dropped, f"kpulse_udp_in_errors_total {inerr}, want {dropped}"
    assert ns == dropped, f"nstat UdpRcvbufErrors {ns}, want {dropped}"


class QuietKpulse(Kpulse):
    """Scrapes that leave no TCP state behind: the client aborts (SO_LINGER 0, so an RST)
    after reading the answer, so neither end lingers in TIME-WAIT and the namespace's
    connection counts are the workload's alone."""

    def scrape_text(self):
        c = socket.create_connection(("127.0.0.1", self.port))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                     if l.lower().startswith(b"content-length:")]
                if n and len(body) >= n[0]:
                    break
            chunk = c.recv(65536)
            assert chunk, "kpulse closed the connection mid-answer"
            data += chunk
        c.close()
        assert head.startswith(b"HTTP/1.1 200"), head[:40]
        return body.decode()


@test
def softnet_and_connection_counts():
    """softnet_stat per CPU is exported for every online CPU and never goes backwards;
    established and time-wait counts follow a known set of loopback connections: 5 open
    (both ends established: 10), then closed by the client first (5 more in TIME-WAIT than
    before: the start-up health check's connection may already be there, for 60 s)."""
    need_root()
    enter_netns(new_netns("est"))
    k = QuietKpulse(*only_collectors("netstat"), interval="200ms")
    m0 = k.next_tick()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    pairs = []
    for _ in range(5):
        c = socket.create_connection(srv.getsockname())
        s, _ = srv.accept()
        pairs.append((c, s))
    # A tick may fall while a scrape's own connection is open (2 more established sockets).
    seen = []
    m = wait_for(lambda: (lambda x: (seen.append(x.get("kpulse_tcp_established")) or
                                     seen[-1] == 10) and x)(k.next_tick()), timeout=5)
    assert m and all(10 <= v <= 12 for v in seen), \
        f"kpulse_tcp_established read {seen}, want 10 (5 connections, both ends)"
    for c, s in pairs:
        c.close()  # the active closer ends in TIME-WAIT once the server closes too
        s.close()
    srv.close()
    tw0 = m0.get("kpulse_tcp_time_wait")
    seen = []
    m = wait_for(lambda: (lambda x: (seen.append(x.get("kpulse_tcp_time_wait")) or
                                     seen[-1] == tw0 + 5) and x)(k.next_tick()), timeout=5)
    assert m, f"kpulse_tcp_time_wait read {seen}, never {tw0} + 5 after 5 client-closed " \
        "connections"
    assert m.get("kpulse_tcp_established") in (0, 2)
    cpus = {lab["cpu"] for lab, _ in m.series("kpulse_softnet_processed_total")}
    with open("/sys/devices/system/cpu/online") as f:
        online = f.read().strip()
    assert cpus, "no softnet series"
    for lab, v in m.series("kpulse_softnet_processed_total"):
        assert v >= m0.get("kpulse_softnet_processed_total", **lab), \
            f"softnet processed of cpu {lab['cpu']} went backwards"
    print(f"  softnet CPUs {sorted(cpus)} (online: {online})")


if __name__ == "__main__":
    main("netstat")
