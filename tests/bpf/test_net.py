#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""net collector against exact traffic, and against /sys/class/net/*/statistics."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import (Kpulse, bpf_prog_ids, cleanup, free_port, main, need_root,  # noqa: E402
                    test, wait_for)
from netns import (PID, UDP_FRAME_OVERHEAD, NetDevMap, cgroup2_mount, del_link,  # noqa: E402
                   free_ifindex, new_netns, sh, snmp, stats, subnet, udp_send, udp_sink, veth)

RX = ("kpulse_network_receive_bytes_total", "kpulse_network_receive_packets_total")
TX = ("kpulse_network_transmit_bytes_total", "kpulse_network_transmit_packets_total")


def dev_counters(m, dev, **labels):
    return {k: m.get(name, device=dev, **labels) for k, name in
            (("rx_bytes", RX[0]), ("rx_packets", RX[1]), ("tx_bytes", TX[0]),
             ("tx_packets", TX[1]))}


def delta(a, b):
    return {k: (b[k] or 0) - (a[k] or 0) for k in b}


@test
def veth_counts_exactly_n_datagrams():
    """1000 UDP datagrams of 1000 bytes each way over a quiet veth pair: kpulse and sysfs
    both count exactly 1000 packets and 1000 x 1042 bytes (Ethernet + IPv4 + UDP headers)."""
    need_root()
    n, size = 1000, 1000
    frame = size + UDP_FRAME_OVERHEAD
    k = Kpulse(interval="200ms")
    ns = new_netns("x")
    host, peer = f"kpx{PID}h", f"kpx{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    udp_sink(host_ip, 9000)
    udp_sink(peer_ip, 9000, netns=ns)
    # Bring the device into kpulse's map and let anything from link-up settle.
    udp_send(peer_ip, 9000, 1, 10)
    time.sleep(0.5)
    m0 = k.next_tick()
    s0 = stats(host)
    k0 = dev_counters(m0, host)
    udp_send(host_ip, 9000, n, size, netns=ns)  # host side receives
    udp_send(peer_ip, 9000, n, size)  # host side transmits
    time.sleep(0.3)
    m1 = k.next_tick()
    s1 = stats(host)
    kd, sd = delta(k0, dev_counters(m1, host)), delta(s0, s1)
    want = {"rx_packets": n, "rx_bytes": n * frame, "tx_packets": n, "tx_bytes": n * frame}
    assert sd == want, f"sysfs of {host} grew {sd} for {n} datagrams of {size} B each way, " \
                       f"want {want}: the pair was not quiet"
    assert kd == want, f"kpulse counted {kd} on {host} for {n} datagrams of {size} B each " \
                       f"way, want {want} (sysfs: {sd})"


@test
def loopback_matches_sysfs():
    """500 datagrams of 1000 bytes on lo are counted (>= 500 x 1028 bytes in /metrics: lo
    counts frames without their Ethernet header), and in a quiet instant the pinned map
    equals lo's sysfs statistics exactly."""
    need_root()
    n, size = 500, 1000
    frame = size + UDP_FRAME_OVERHEAD - 14
    k = Kpulse(interval="200ms")
    port = free_port()
    udp_sink("127.0.0.1", port)
    udp_send("127.0.0.1", port, 1, 10)
    m0 = k.next_tick()
    udp_send("127.0.0.1", port, n, size)
    m1 = k.next_tick()
    for name, want in ((RX[0], n * frame), (RX[1], n), (TX[0], n * frame), (TX[1], n)):
        d = m1.get(name, device="lo") - m0.get(name, device="lo")
        assert d >= want, f"{name}{{device=lo}} grew {d} for {n} datagrams of {size} B, " \
                          f"want >= {want}"
    # Exactness: sysfs read just before and after a map read are equal when lo was quiet
    # for that instant (other tests may use lo); then the map must equal sysfs.
    lo_index = int(open("/sys/class/net/lo/ifindex").read())
    netns = os.stat("/proc/self/ns/net").st_ino
    dm = NetDevMap(f"{k.pin_path}/net_dev")

    def quiet_reading():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            s0 = stats("lo")
            rows = dm.read()
            if stats("lo") != s0:
                continue
            ours = [v for key, v in rows.items() if key[:2] == (netns, lo_index)]
            assert len(ours) == 1, f"expected one net_dev entry for lo, got {len(ours)}"
            return ours[0], s0
        raise AssertionError("lo was never quiet for one map read in 20 s")

    base_k, base_s = quiet_reading()
    udp_send("127.0.0.1", port, n, size)
    got, s0 = quiet_reading()
    kd, sd = delta(base_k, got), delta(base_s, s0)
    assert kd == sd, f"lo after {n} datagrams of {size} B: kpulse map grew {kd}, sysfs {sd} " \
                     f"(read in one quiet instant)"
    assert sd["tx_packets"] >= n and sd["tx_bytes"] >= n * frame, sd


CGROUP_SENDER = """
import os, socket, sys
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
s.sendall(b"c" * int(sys.argv[3]))
s.close()
"""


def tcp_drain_server():
    """A loopback TCP server (thread) that reads and discards everything: its port."""
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    cleanup(srv.close)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                while c.recv(1 << 16):
                    pass
    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def send_from_cgroup(path, port, nbytes):
    subprocess.run([sys.executable, "-c", CGROUP_SENDER, path, str(port), str(nbytes)],
                   check=True, timeout=60)


@test
def cgroup_transmit_bytes():
    """A process in a fresh cgroup sends 10 MB over TCP on loopback: its cgroup's transmit
    bytes grow by 10 MB to 11 MB; removing a child cgroup never lowers the rolled-up label."""
    need_root()
    nbytes = 10 * 1000 * 1000
    root = cgroup2_mount()
    name = f"kpnet{PID}"
    top = os.path.join(root, name)
    child = os.path.join(top, "child")
    os.mkdir(top)
    cleanup(lambda: os.rmdir(top) if os.path.isdir(top) else None)
    os.mkdir(child)
    cleanup(lambda: os.rmdir(child) if os.path.isdir(child) else None)
    port = tcp_drain_server()
    k = Kpulse("--collector.net.cgroup-depth=1", interval="200ms")
    label = "/" + name
    m0 = k.next_tick()
    before = m0.get("kpulse_cgroup_network_transmit_bytes_total", cgroup=label) or 0
    send_from_cgroup(top, port, nbytes)
    m1 = k.next_tick()
    got = m1.get("kpulse_cgroup_network_transmit_bytes_total", cgroup=label)
    assert got is not None, f"no kpulse_cgroup_network_transmit_bytes_total{{cgroup={label}}}"
    assert nbytes <= got - before <= 1.1 * nbytes, \
        f"cgroup {label} sent {nbytes} B over TCP on lo, kpulse counted {got - before}"
    # A child rolled up into the same label, then removed: the label keeps its bytes.
    send_from_cgroup(child, port, nbytes)
    m2 = k.next_tick()
    with_child = m2.get("kpulse_cgroup_network_transmit_bytes_total", cgroup=label)
    assert with_child - got >= nbytes, f"child cgroup's {nbytes} B not in {label}"
    os.rmdir(child)
    k.next_tick()
    m3 = k.next_tick()
    after = m3.get("kpulse_cgroup_network_transmit_bytes_total", cgroup=label)
    assert after >= with_child, \
        f"{label} went from {with_child} to {after} when its child cgroup was removed"


RETRANSMIT_SERVER = """
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 9100))
s.listen()
print("ready", flush=True)
c, _ = s.accept()
time.sleep(600)
"""


@test
def retransmits_and_resets():
    """Taking the peer's link down mid-transfer makes TCP retransmit; a connection to a
    closed port on lo is answered with a reset."""
    need_root()
    k = Kpulse(interval="200ms")
    ns = new_netns("r")
    host, peer = f"kpr{PID}h", f"kpr{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    srv = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c",
                            RETRANSMIT_SERVER, peer_ip], stdout=subprocess.PIPE, text=True)
    cleanup(lambda: (srv.kill(), srv.wait()))
    assert srv.stdout.readline().strip() == "ready"
    c = socket.create_connection((peer_ip, 9100), timeout=5)
    # Closed with a reset, not left retransmitting after the test.
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    cleanup(c.close)
    m0 = k.next_tick()
    r0 = m0.get("kpulse_tcp_retransmits_total")
    snmp0 = snmp("Tcp", "RetransSegs")
    sh("ip", "link", "set", peer, "down", netns=ns)
    c.send(b"r" * 1000)  # never acknowledged: retransmitted after 200 ms, 400 ms, ...
    time.sleep(1.6)
    m1 = k.next_tick()
    r1 = m1.get("kpulse_tcp_retransmits_total")
    snmp1 = snmp("Tcp", "RetransSegs")
    assert snmp1 - snmp0 >= 2, f"the kernel retransmitted only {snmp1 - snmp0} segments"
    assert r1 - r0 >= 2, f"a segment unacknowledged for 1.6 s: kpulse_tcp_retransmits_total " \
                         f"grew {r1 - r0}, want >= 2 (RetransSegs grew {snmp1 - snmp0})"

    s0 = m1.get("kpulse_tcp_resets_sent_total")
    rst0 = snmp("Tcp", "OutRsts")
    closed = free_port()
    for _ in range(3):
        try:
            socket.create_connection(("127.0.0.1", closed), timeout=2).close()
            raise AssertionError(f"port {closed} unexpectedly accepted a connection")
        except ConnectionRefusedError:
            pass
    m2 = k.next_tick()
    s1 = m2.get("kpulse_tcp_resets_sent_total")
    assert snmp("Tcp", "OutRsts") - rst0 >= 3
    assert s1 - s0 >= 3, f"3 connections to closed port {closed}: kpulse_tcp_resets_sent_total " \
                         f"grew {s1 - s0}, want >= 3"


@test
def recreated_interface_starts_from_zero():
    """A veth deleted and re-created with the same name and ifindex inside one interval
    starts from the new device's packets; deleted for good, it leaves /metrics."""
    need_root()
    k = Kpulse(interval="1s")
    ns = new_netns("c")
    host, peer = f"kpc{PID}h", f"kpc{PID}n"
    host_ip, peer_ip = subnet()
    index = free_ifindex()
    veth(ns, host, peer, host_ip, peer_ip, index=index)
    udp_sink(peer_ip, 9000, netns=ns)
    udp_send(peer_ip, 9000, 300, 100)
    m0 = k.next_tick()
    old = m0.get(TX[1], device=host)
    assert old == 300, f"300 datagrams sent on {host}: kpulse counted {old}"
    # Same name, same ifindex, well inside one 1 s interval.
    m0 = k.next_tick()
    del_link(host)
    veth(ns, host, peer, host_ip, peer_ip, index=index)
    assert int(open(f"/sys/class/net/{host}/ifindex").read()) == index
    udp_sink(peer_ip, 9001, netns=ns)
    udp_send(peer_ip, 9001, 5, 100)
    m1 = k.next_tick()
    got = m1.get(TX[1], device=host)
    sysfs = stats(host)["tx_packets"]
    assert got == 5 == sysfs, f"{host} re-created with ifindex {index} sent 5 datagrams: " \
                              f"kpulse {got} (the old device had {old}), sysfs {sysfs}"
    series = [s for s in m1.series(TX[1]) if s[0]["device"] == host]
    assert len(series) == 1, f"{host} exported {len(series)} times: {series}"
    del_link(host)
    k.next_tick()
    m2 = k.next_tick()
    left = [s for s in m2.series(TX[1]) if s[0]["device"] == host]
    assert not left, f"{host} was deleted but is still exported after two intervals: {left}"


@test
def listening_port_follows_listen_and_close():
    """A watched port reads 1 within two intervals of listen() (two SO_REUSEPORT sockets
    and one already listening at start count the same), 0 within two of the last close."""
    need_root()
    early, port = socket.socket(), free_port()
    early.bind(("127.0.0.1", 0))
    early.listen()
    cleanup(early.close)
    early_port = early.getsockname()[1]
    k = Kpulse(f"--port.watch={port},{early_port}", interval="200ms")
    m = k.next_tick()
    assert m.get("kpulse_tcp_listening", port=str(early_port)) == 1, \
        f"port {early_port} listened before kpulse started (seeded from /proc/net/tcp)"
    assert m.get("kpulse_tcp_listening", port=str(port)) == 0, f"nothing listens on {port} yet"

    def listening():
        k.next_tick()
        return k.next_tick().get("kpulse_tcp_listening", port=str(port))

    socks = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("::", port))
        s.listen()
        cleanup(s.close)
        socks.append(s)
    assert listening() == 1, f"two sockets listen on {port}: kpulse_tcp_listening 0"
    socks[0].close()
    assert listening() == 1, f"one of two SO_REUSEPORT listeners on {port} closed: read 0"
    socks[1].close()
    assert listening() == 0, f"every listener on {port} closed: kpulse_tcp_listening still 1"
    early.close()
    assert k.next_tick() and k.next_tick().get("kpulse_tcp_listening",
                                               port=str(early_port)) == 0


@test
def packet_rate_matches_paced_sender():
    """200 datagrams/s for 5 s over veth: every full-interval
    kpulse_network_transmit_packets_per_second sample is within 5% of 200."""
    need_root()
    rate, secs = 200, 5
    k = Kpulse(interval="1s")
    ns = new_netns("p")
    host, peer = f"kpp{PID}h", f"kpp{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    udp_sink(peer_ip, 9000, netns=ns)
    t0 = time.monotonic()
    p = udp_send(peer_ip, 9000, rate * secs, 100, rate=rate, wait=False)
    samples = []
    while p.poll() is None:
        m = k.next_tick()
        now = time.monotonic()
        # The interval of a sample seen at `now` lies inside (now - 1.1 s, now].
        if now - 1.2 > t0 and p.poll() is None:
            samples.append(m.get("kpulse_network_transmit_packets_per_second", device=host))
    assert p.returncode == 0
    assert len(samples) >= 2, f"only {len(samples)} samples inside the {secs} s of sending"
    bad = [s for s in samples if s is None or abs(s - rate) > 0.05 * rate]
    assert not bad, f"paced sender at {rate}/s: kpulse_network_transmit_packets_per_second " \
                    f"samples {samples} (want all within 5%)"


@test
def other_namespaces_only_with_flag():
    """A device in another namespace is exported only with --collector.net.all-namespaces,
    then with that namespace's inode as netns label, until the namespace is deleted."""
    need_root()
    ns = new_netns("a")
    host, peer = f"kpa{PID}h", f"kpa{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    ns_ino = str(os.stat(f"/run/netns/{ns}").st_ino)
    k = Kpulse(interval="200ms")
    ka = Kpulse("--collector.net.all-namespaces", interval="200ms")
    sink = udp_sink(peer_ip, 9000, netns=ns)
    udp_send(peer_ip, 9000, 7, 100)
    time.sleep(0.3)
    m, ma = k.next_tick(), ka.next_tick()
    assert not [s for s in m.series(RX[1]) if s[0]["device"] == peer], \
        f"{peer} lives in another namespace but is exported without the flag"
    got = ma.get(RX[1], device=peer, netns=ns_ino)
    assert got == 7, f"7 datagrams received by {peer} in netns {ns_ino}: kpulse {got}"
    self_ino = str(os.stat("/proc/self/ns/net").st_ino)
    assert ma.get(TX[1], device=host, netns=self_ino) == 7
    # The namespace goes away (its last process exits, its mount is removed): so do its
    # series.
    sink.kill()
    sink.wait()
    sh("ip", "netns", "del", ns)
    ka.next_tick()
    left = [s for s in ka.next_tick().series(RX[1]) if s[0].get("netns") == ns_ino]
    assert not left, f"netns {ns_ino} was deleted but is still exported: {left}"


@test
def filters_renames_and_restart():
    """--collector.net.device-exclude hides a device; a renamed device keeps its counters
    under the new name; a restart on the same pinned maps continues the counters."""
    need_root()
    ns = new_netns("f")
    host, peer, renamed = f"kpf{PID}h", f"kpf{PID}n", f"kpf{PID}r"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    udp_sink(peer_ip, 9000, netns=ns)
    k = Kpulse(interval="200ms")
    kx = Kpulse(f"--collector.net.device-exclude=lo|{host}", interval="200ms")
    udp_send(peer_ip, 9000, 11, 100)
    m, mx = k.next_tick(), kx.next_tick()
    assert m.get(TX[1], device=host) == 11, f"11 datagrams sent on {host}: {m.get(TX[1], device=host)}"
    hidden = [s for s in mx.series(TX[1]) if s[0]["device"] in ("lo", host)]
    assert not hidden, f"--collector.net.device-exclude=lo|{host} still exports {hidden}"
    assert kx.stop() == 0
    sh("ip", "link", "set", host, "down")
    sh("ip", "link", "set", host, "name", renamed)
    cleanup(lambda: sh("ip", "link", "del", renamed, check=False))
    sh("ip", "link", "set", renamed, "up")
    sh("ip", "neigh", "replace", peer_ip, "lladdr",
       sh("cat", f"/sys/class/net/{peer}/address", netns=ns).strip(), "dev", renamed,
       "nud", "permanent")
    udp_send(peer_ip, 9000, 2, 100)
    k.next_tick()
    m = k.next_tick()
    assert m.get(TX[1], device=renamed) == 13, \
        f"{host} renamed {renamed} after 11 datagrams, then 2 more: kpulse {m.get(TX[1], device=renamed)}"
    assert m.get(TX[1], device=host) is None, f"the old name {host} is still exported"
    assert k.stop(keep_pins=True) == 0
    k2 = Kpulse(interval="200ms", pin_path=k.pin_path)
    m2 = k2.next_tick()
    assert m2.get(TX[1], device=renamed) == 13, \
        f"after a restart on the same pins {renamed} reads {m2.get(TX[1], device=renamed)}, want 13"


@test
def gro_merged_frames_count_one_by_one():
    """5 MB over TCP into a veth with GRO on, from a peer without TSO/GSO: GRO merges the
    frames, yet kpulse counts every frame, exactly as the driver does (sysfs)."""
    need_root()
    import threading
    k = Kpulse(interval="200ms")
    ns = new_netns("g")
    host, peer = f"kpg{PID}h", f"kpg{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    sh("ethtool", "-K", host, "gro", "on")
    sh("ethtool", "-K", peer, "tso", "off", "gso", "off", netns=ns)
    srv = socket.socket()
    srv.bind((host_ip, 0))
    srv.listen()
    cleanup(srv.close)

    def serve():
        c, _ = srv.accept()
        with c:
            while c.recv(1 << 16):
                pass
    threading.Thread(target=serve, daemon=True).start()
    m0 = k.next_tick()
    s0 = stats(host)
    sh(sys.executable, "-c", "import socket, sys; s = socket.create_connection((sys.argv[1], "
       "int(sys.argv[2]))); s.sendall(b'g' * 5000000); s.close()",
       host_ip, str(srv.getsockname()[1]), netns=ns)
    time.sleep(0.3)
    m1 = k.next_tick()
    kd, sd = delta(dev_counters(m0, host), dev_counters(m1, host)), delta(s0, stats(host))
    assert sd["rx_packets"] > 3000, f"5 MB in MTU frames should be > 3000 packets: {sd}"
    assert kd["rx_packets"] == sd["rx_packets"], \
        f"5 MB of TCP merged by GRO on {host}: kpulse counted {kd['rx_packets']} packets, " \
        f"sysfs {sd['rx_packets']}"
    # veth in NAPI mode (GRO on) counts skb->len after eth_type_trans(), without the
    # Ethernet header, unlike veth without NAPI and NIC drivers, which count the whole
    # frame as kpulse does: 14 bytes per frame apart, and exactly that.
    assert kd["rx_bytes"] == sd["rx_bytes"] + 14 * sd["rx_packets"], \
        f"rx bytes: kpulse {kd['rx_bytes']}, sysfs {sd['rx_bytes']} + 14 x {sd['rx_packets']}"


NET_PROGS = {f"{tp}_{kind}" for kind in ("btf", "raw") for tp in (
    "napi_gro_receive_entry", "napi_gro_frags_entry", "netif_receive_skb_entry",
    "netif_receive_skb_list_entry", "netif_rx_entry", "netif_rx_exit", "net_dev_xmit",
    "sock_send_length", "sock_recv_length", "tcp_retransmit_skb", "tcp_send_reset",
    "inet_sock_set_state")} | {"net_ns_iter"}


@test
def loads_one_twin_each_and_detaches_on_exit():
    """With every feature on, one program per hook is loaded (tp_btf or raw_tp, never both)
    plus the namespace iterator, and SIGTERM leaves none of them behind."""
    need_root()
    before = bpf_prog_ids(NET_PROGS)
    k = Kpulse(f"--port.watch={free_port()}", "--collector.net.all-namespaces")
    ours = bpf_prog_ids(NET_PROGS) - before
    assert len(ours) == 13, f"expected 12 hooks + net_ns_iter loaded, found {len(ours)}"
    assert k.stop() == 0, k.output()
    left = wait_for(lambda: not (ours & bpf_prog_ids(NET_PROGS))) or ours
    assert left is True, f"programs {left} still loaded 5 s after SIGTERM"


if __name__ == "__main__":
    main("bpf-net")
