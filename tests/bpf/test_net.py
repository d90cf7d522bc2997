#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""net collector against exact traffic, and against /sys/class/net/*/statistics."""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import (Kpulse, bpf_prog_ids, cleanup, free_port, main, need_root,  # noqa: E402
                    script, test, wait_for)
from netns import (DEV_FAMILIES, PID, UDP_FRAME_OVERHEAD, cgroup2_mount, del_link,  # noqa: E402
                   free_ifindex, new_netns, sh, snmp, stats, subnet, sysfs_attr,
                   sysfs_devices, sysfs_families, udp_send, udp_sink, veth)

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
    # Let anything from link-up settle.
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
    counts frames without their Ethernet header), and in a quiet instant every lo counter
    in /metrics equals lo's sysfs statistics exactly."""
    need_root()
    n, size = 500, 1000
    frame = size + UDP_FRAME_OVERHEAD - 14
    k = Kpulse(interval="1s")
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
    got, want = quiet_reading(k, ["lo"])["lo"]
    assert got == want, f"lo in a quiet instant: kpulse {got}, sysfs {want}"


def quiet_reading(k, devices, deadline_s=30):
    """{dev: (kpulse's counters, sysfs's)} for each of @devices, from a tick that read the
    kernel while sysfs stood still. @k ticks every second at fixed deadlines: sysfs is
    read half a second after a tick and again half a second after the next one, with no
    scrape in between (a scrape is lo traffic), then /metrics holds that next tick's
    reading. Counters only grow, so equal sysfs reads mean nothing moved between them.
    Tried until every device was quiet once (other work may use lo or eth0)."""
    found = {}
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and len(found) < len(devices):
        k.next_tick()
        t0 = time.monotonic()
        time.sleep(0.5)
        before = {d: sysfs_families(d) for d in devices if d not in found}
        time.sleep(max(0.0, t0 + 1.5 - time.monotonic()))
        after = {d: sysfs_families(d) for d in before}
        assert time.monotonic() < t0 + 1.8, "the test was too slow to bracket one tick"
        m = k.scrape()
        for d, s0 in before.items():
            if s0 is not None and after[d] == s0:
                found[d] = ({fam: m.get(fam, device=d) for fam in DEV_FAMILIES}, s0)
    missing = sorted(set(devices) - set(found))
    assert not missing, f"devices {missing} were never quiet for a tick in {deadline_s} s"
    return found


@test
def every_device_equals_sysfs_at_the_same_instant():
    """Every device in /sys/class/net is in /metrics, and each of its 14
    kpulse_network_*_total counters equals the sum of sysfs statistics files that
    /proc/net/dev and node_exporter use, exactly, read in a quiet instant."""
    need_root()
    ns = new_netns("q")
    host, peer = f"kpq{PID}h", f"kpq{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    udp_sink(peer_ip, 9000, netns=ns)
    udp_send(peer_ip, 9000, 40, 200)
    k = Kpulse(interval="1s")
    for _ in range(20):  # until no device came or went around the tick
        devs = sysfs_devices()
        listed = sorted({s[0]["device"] for s in k.next_tick().series(RX[0])})
        if sysfs_devices() == devs:
            break
    assert listed == devs, f"/metrics lists {listed}, /sys/class/net has {devs}"
    for dev, (got, want) in quiet_reading(k, devs).items():
        assert got == want, f"{dev} in a quiet instant: kpulse {got}, sysfs {want}"


@test
def idle_device_is_listed_with_its_kernel_values():
    """A veth that carried 25 datagrams before kpulse started, and one that never carried
    any (down), are both in the very first /metrics with their sysfs counters: device
    counters count since the device was created, not since kpulse started."""
    need_root()
    ns = new_netns("i")
    host, peer = f"kpi{PID}h", f"kpi{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    udp_sink(peer_ip, 9000, netns=ns)
    udp_send(peer_ip, 9000, 25, 100)
    quiet, quiet_peer = f"kpi{PID}d", f"kpi{PID}e"
    sh("ip", "link", "add", quiet, "type", "veth", "peer", "name", quiet_peer)
    cleanup(lambda: sh("ip", "link", "del", quiet, check=False))
    time.sleep(0.2)
    s_busy, s_idle = sysfs_families(host), sysfs_families(quiet)
    k = Kpulse(interval="1s")
    m = k.scrape()  # the first snapshot, published before kpulse serves
    got_busy = {fam: m.get(fam, device=host) for fam in DEV_FAMILIES}
    got_idle = {fam: m.get(fam, device=quiet) for fam in DEV_FAMILIES}
    assert got_busy[TX[1]] == 25, f"{host} sent 25 datagrams before kpulse started: " \
                                  f"{TX[1]} reads {got_busy[TX[1]]} in the first scrape"
    assert got_busy == s_busy == sysfs_families(host), \
        f"idle {host} in the first scrape: kpulse {got_busy}, sysfs {s_busy}"
    assert got_idle == s_idle and s_idle[RX[0]] == 0, \
        f"never-used {quiet}: kpulse {got_idle}, sysfs {s_idle}"


UNKNOWN_ETHERTYPE_SENDER = script("unknown_ethertype")


def tun_without_reader(name, ip, up=True):
    """A TUN device @name (@ip/30, up if @up) whose file descriptor the test holds but
    never reads: after its 500-packet ring fills, every packet sent to it is dropped and
    counted in tx_dropped. The device goes when the descriptor is closed."""
    import fcntl
    import struct
    fd = os.open("/dev/net/tun", os.O_RDWR)
    cleanup(lambda: os.close(fd))
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", name.encode(), 0x0001 | 0x1000))
    sh("sysctl", "-qw", f"net.ipv6.conf.{name}.disable_ipv6=1")
    sh("ip", "addr", "add", f"{ip}/30", "dev", name)
    if up:
        sh("ip", "link", "set", name, "up")


@test
def drop_counters_move_with_sysfs():
    """50 frames of an unknown ethertype into a veth (rx_dropped +50) and 800 datagrams
    into a TUN with no reader (tx_dropped +300 once its 500-packet ring is full): kpulse's
    receive/transmit drop counters grow by exactly what sysfs shows, and every counter of
    both devices equals sysfs in a quiet instant."""
    need_root()
    k = Kpulse(interval="1s")
    ns = new_netns("d")
    host, peer = f"kpd{PID}h", f"kpd{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    tun = f"kpd{PID}t"
    tun_ip, tun_peer = subnet()
    tun_without_reader(tun, tun_ip)
    drop, tx_drop = "kpulse_network_receive_drop_total", "kpulse_network_transmit_drop_total"
    m0 = k.next_tick()
    s0, t0 = sysfs_families(host), sysfs_families(tun)
    sh(sys.executable, UNKNOWN_ETHERTYPE_SENDER, peer, "50", netns=ns)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(800):
        sender.sendto(b"t" * 64, (tun_peer, 9))
    sender.close()
    time.sleep(0.2)
    m1 = k.next_tick()
    s1, t1 = sysfs_families(host), sysfs_families(tun)
    assert s1[drop] - s0[drop] == 50, f"sysfs: {host} dropped {s1[drop] - s0[drop]} of " \
                                      f"50 frames nobody handles"
    assert t1[tx_drop] - t0[tx_drop] >= 100, f"sysfs: {tun} dropped only " \
                                             f"{t1[tx_drop] - t0[tx_drop]} of 800 datagrams"
    got = m1.get(drop, device=host) - m0.get(drop, device=host)
    assert got == 50, f"50 frames of an unknown ethertype into {host}: {drop} grew {got}"
    got = m1.get(tx_drop, device=tun) - m0.get(tx_drop, device=tun)
    assert got == t1[tx_drop] - t0[tx_drop], \
        f"800 datagrams into {tun} (no reader): {tx_drop} grew {got}, sysfs tx_dropped " \
        f"grew {t1[tx_drop] - t0[tx_drop]}"
    for dev, (got, want) in quiet_reading(k, [host, tun]).items():
        assert got == want, f"{dev} in a quiet instant: kpulse {got}, sysfs {want}"


def unescape(v):
    """A label value as the text format escapes it, back to the text."""
    return re.sub(r'\\(.)', lambda g: "\n" if g.group(1) == "n" else g.group(1), v)


def info_of(m, dev):
    """(labels of kpulse_network_info, up, mtu, speed) for @dev."""
    infos = [{k: unescape(v) for k, v in lab.items()}
             for lab, _ in m.series("kpulse_network_info") if lab["device"] == dev]
    assert len(infos) == 1, f"{len(infos)} kpulse_network_info series for {dev}: {infos}"
    return (infos[0], m.get("kpulse_network_up", device=dev),
            m.get("kpulse_network_mtu_bytes", device=dev),
            m.get("kpulse_network_speed_bytes", device=dev))


def sysfs_info(dev):
    """What /sys/class/net/@dev says: the same tuple as info_of()."""
    oper = sysfs_attr(dev, "operstate")
    speed = sysfs_attr(dev, "speed")
    labels = {"device": dev, "address": sysfs_attr(dev, "address"),
              "broadcast": sysfs_attr(dev, "broadcast"),
              "duplex": sysfs_attr(dev, "duplex") or "", "ifalias": sysfs_attr(dev, "ifalias"),
              "operstate": oper}
    speed = int(speed) * 125000 if speed is not None and int(speed) >= 0 else None
    return labels, 1.0 if oper == "up" else 0.0, float(sysfs_attr(dev, "mtu")), speed


@test
def info_matches_sysfs_and_follows_link_changes():
    """kpulse_network_info (address, broadcast, duplex, alias, operstate), _up, _mtu_bytes
    and _speed_bytes equal /sys/class/net for every device. After the veth's MTU and alias
    change and its peer goes down, and a TUN comes up (its speed and duplex readable only
    then), they follow within two intervals."""
    need_root()
    ns = new_netns("n")
    host, peer = f"kpn{PID}h", f"kpn{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    sh("ip", "link", "set", host, "alias", 'uplink "a" \\ b')
    tun = f"kpn{PID}t"
    tun_ip, _ = subnet()
    tun_without_reader(tun, tun_ip, up=False)
    k = Kpulse(interval="200ms")
    m = k.next_tick()
    for dev in sysfs_devices():
        got, want = info_of(m, dev), sysfs_info(dev)
        assert got == want, f"{dev}: kpulse {got}, sysfs {want}"
    assert info_of(m, host)[0]["ifalias"] == 'uplink "a" \\ b'
    assert info_of(m, host)[0]["duplex"] == "full" and info_of(m, host)[3] == 10000 * 125000, \
        f"a veth reports 10000 Mb/s full duplex: {info_of(m, host)}"
    assert info_of(m, tun)[3] is None, f"{tun} is down, so has no speed: {info_of(m, tun)}"

    sh("ip", "link", "set", host, "mtu", "1400", "alias", "renamed")
    sh("ip", "link", "set", peer, "down", netns=ns)
    sh("ip", "link", "set", tun, "up")
    time.sleep(0.3)
    k.next_tick()
    m = k.next_tick()
    for dev in (host, tun):
        got, want = info_of(m, dev), sysfs_info(dev)
        assert got == want, f"{dev} after the change: kpulse {got}, sysfs {want}"
    assert info_of(m, host)[0]["operstate"] != "up" and info_of(m, host)[1] == 0, \
        f"{host}'s peer is down: {info_of(m, host)}"
    assert info_of(m, host)[2] == 1400
    assert info_of(m, tun)[3] is not None, f"{tun} is up: speed now known, {info_of(m, tun)}"


CGROUP_SENDER = script("cgroup_send")


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
    subprocess.run([sys.executable, CGROUP_SENDER, path, str(port), str(nbytes)],
                   check=True, timeout=60)


@test
def cgroup_transmit_bytes():
    """With --collector.net.cgroups, a process in a fresh cgroup sends 10 MB over TCP on
    loopback: its cgroup's transmit bytes grow by 10 MB to 11 MB; removing a child cgroup
    never lowers the rolled-up label."""
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
    k = Kpulse("--collector.net.cgroups", "--collector.net.cgroup-depth=1", interval="200ms")
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


RETRANSMIT_SERVER = script("tcp_accept_hold")


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
    srv = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable,
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
def device_deleted_in_a_live_namespace_leaves():
    """With --collector.net.all-namespaces, a veth pair created and deleted inside another
    namespace that stays alive (a task keeps it) is exported with that namespace's netns
    label, equal to its sysfs counters there, and leaves /metrics within two intervals of
    its deletion, while the namespace's lo stays."""
    need_root()
    ns = new_netns("l")
    keeper = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"])
    cleanup(lambda: (keeper.kill(), keeper.wait()))
    ns_ino = str(os.stat(f"/run/netns/{ns}").st_ino)
    a, b = f"kpl{PID}a", f"kpl{PID}b"
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, netns=ns)
    sh("ip", "link", "set", a, "up", netns=ns)
    sh("ip", "link", "set", b, "up", netns=ns)
    k = Kpulse("--collector.net.all-namespaces", interval="200ms")

    def in_ns(m):
        return {s[0]["device"]: s[1] for s in m.series(TX[1]) if s[0].get("netns") == ns_ino}

    wait_for(lambda: keeper.poll() is None and a in in_ns(k.next_tick()), timeout=5)
    for _ in range(20):  # a quiet instant: sysfs in the namespace equal before and after
        s0 = stats(a, netns=ns)["tx_packets"]
        got = in_ns(k.next_tick()).get(a)
        if stats(a, netns=ns)["tx_packets"] == s0:
            break
    assert got == s0, f"{a} in netns {ns_ino}: kpulse {got}, sysfs there {s0}"
    del_link(a, netns=ns)
    k.next_tick()
    left = in_ns(k.next_tick())
    assert a not in left and b not in left, \
        f"{a}/{b} were deleted in live netns {ns_ino} two intervals ago: still {left}"
    assert "lo" in left, f"netns {ns_ino} is alive, its lo must stay: {left}"


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
    # The kernel's own counters: bytes exactly as the driver counts them (veth in NAPI
    # mode counts them without the Ethernet header).
    assert kd["rx_bytes"] == sd["rx_bytes"], \
        f"rx bytes: kpulse {kd['rx_bytes']}, sysfs {sd['rx_bytes']}"


NET_PROGS = {f"{tp}_{kind}" for kind in ("btf", "raw") for tp in (
    "sock_send_length", "sock_recv_length", "tcp_retransmit_skb", "tcp_send_reset",
    "inet_sock_set_state")} | {"net_ns_iter"}
# The programs that counted device traffic per packet before the kernel's counters were
# read instead: none of them may be loaded.
OLD_DEVICE_PROGS = {f"{tp}_{kind}" for kind in ("btf", "raw") for tp in (
    "napi_gro_receive_entry", "napi_gro_frags_entry", "netif_receive_skb_entry",
    "netif_receive_skb_list_entry", "netif_rx_entry", "netif_rx_exit", "net_dev_xmit")}


@test
def loads_one_twin_each_and_detaches_on_exit():
    """With every feature on, one program per hook is loaded (tp_btf or raw_tp, never both)
    plus the namespace iterator, none runs per packet, and SIGTERM leaves none behind."""
    need_root()
    before = bpf_prog_ids(NET_PROGS | OLD_DEVICE_PROGS)
    k = Kpulse(f"--port.watch={free_port()}", "--collector.net.all-namespaces",
               "--collector.net.cgroups")
    ours = bpf_prog_ids(NET_PROGS | OLD_DEVICE_PROGS) - before
    assert len(ours) == 6, f"expected 5 hooks + net_ns_iter loaded, found {len(ours)}"
    assert not (ours & bpf_prog_ids(OLD_DEVICE_PROGS)), "a per-packet device program is loaded"
    assert k.stop() == 0, k.output()
    left = wait_for(lambda: not (ours & bpf_prog_ids(NET_PROGS))) or ours
    assert left is True, f"programs {left} still loaded 5 s after SIGTERM"


@test
def nothing_on_the_socket_path_by_default():
    """By default the net collector loads only tcp_retransmit_skb and tcp_send_reset (rare
    events): no program on sock_send_length / sock_recv_length, which run on every sendmsg
    and recvmsg, and no per-cgroup bytes; --collector.net.cgroups turns both on."""
    need_root()
    sock = {f"sock_{d}_length_{kind}" for d in ("send", "recv") for kind in ("btf", "raw")}
    before = bpf_prog_ids(NET_PROGS | OLD_DEVICE_PROGS)
    k = Kpulse(interval="200ms")
    ours = bpf_prog_ids(NET_PROGS | OLD_DEVICE_PROGS) - before
    assert len(ours) == 2 and not (ours & bpf_prog_ids(sock)), \
        f"default net collector: {len(ours)} programs loaded, want tcp_retransmit_skb and " \
        f"tcp_send_reset only"
    with socket.create_connection(("127.0.0.1", tcp_drain_server())) as c:
        c.sendall(b"x" * 100000)  # socket bytes that an attached program would count
    k.next_tick()
    m = k.next_tick()
    assert not m.series("kpulse_cgroup_network_transmit_bytes_total"), \
        "per-cgroup bytes exported without --collector.net.cgroups"
    assert k.stop() == 0
    kc = Kpulse("--collector.net.cgroups", interval="200ms")
    assert bpf_prog_ids(sock) - before, "--collector.net.cgroups loaded no sock_*_length program"
    assert kc.stop() == 0


if __name__ == "__main__":
    main("bpf-net")
