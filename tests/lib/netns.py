# SPDX-License-Identifier: GPL-2.0
"""Network namespaces, veth pairs and exact traffic for the net collector's tests.

Every name includes os.getpid() and every object is removed through kpulse.cleanup(), so
tests of several engineers can run side by side on one machine.
"""
import json
import os
import socket
import subprocess
import sys
import time

from kpulse import cleanup

PID = os.getpid()
# Ethernet (14) + IPv4 (20) + UDP (8) header bytes in front of a UDP payload.
UDP_FRAME_OVERHEAD = 14 + 20 + 8


def sh(*cmd, netns=None, check=True):
    """Run @cmd (in @netns if given) and return its stdout."""
    if netns:
        cmd = ("ip", "netns", "exec", netns, *cmd)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def new_netns(tag):
    name = f"kpn{tag}{PID}"
    sh("ip", "netns", "add", name)
    cleanup(lambda: sh("ip", "netns", "del", name, check=False))
    sh("ip", "link", "set", "lo", "up", netns=name)
    return name


def free_ifindex():
    """An ifindex no device in this namespace has, to re-create a device with it."""
    used = set()
    for dev in os.listdir("/sys/class/net"):
        try:
            with open(f"/sys/class/net/{dev}/ifindex") as f:
                used.add(int(f.read()))
        except OSError:
            pass
    i = 20000 + PID % 20000
    while i in used:
        i += 1
    return i


def _mac(dev, netns=None):
    return sh("cat", f"/sys/class/net/{dev}/address", netns=netns).strip()


def veth(ns, host, peer, host_ip, peer_ip, index=None):
    """A veth pair @host (here) -- @peer (in @ns) with /30 addresses, IPv6 off on both ends
    and static neighbour entries, so only the test's own packets cross it. Removed at
    cleanup (deleting one end deletes the pair)."""
    cmd = ["ip", "link", "add", host]
    if index is not None:
        cmd += ["index", str(index)]
    sh(*cmd, "type", "veth", "peer", "name", peer, "netns", ns)
    cleanup(lambda: sh("ip", "link", "del", host, check=False))
    # No IPv6 (router solicitations, DAD, MLD) before the links come up.
    sh("sysctl", "-qw", f"net.ipv6.conf.{host}.disable_ipv6=1")
    sh("sysctl", "-qw", f"net.ipv6.conf.{peer}.disable_ipv6=1", netns=ns)
    sh("ip", "addr", "add", f"{host_ip}/30", "dev", host)
    sh("ip", "addr", "add", f"{peer_ip}/30", "dev", peer, netns=ns)
    sh("ip", "neigh", "replace", peer_ip, "lladdr", _mac(peer, ns), "dev", host,
       "nud", "permanent")
    sh("ip", "neigh", "replace", host_ip, "lladdr", _mac(host), "dev", peer, "nud",
       "permanent", netns=ns)
    sh("ip", "link", "set", host, "up")
    sh("ip", "link", "set", peer, "up", netns=ns)


def del_link(dev, netns=None):
    sh("ip", "link", "del", dev, netns=netns)


def subnet():
    """A private /30 pair unlikely to collide with another test process: (host, peer)."""
    a, b = (PID >> 6) % 250 + 1, (PID % 64) * 4
    return f"10.{200 + PID % 50}.{a}.{b + 1}", f"10.{200 + PID % 50}.{a}.{b + 2}"


def stats(dev, netns=None):
    """The kernel's own statistics of @dev: {rx_bytes, rx_packets, tx_bytes, tx_packets}."""
    out = {}
    for k in ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets"):
        out[k] = int(sh("cat", f"/sys/class/net/{dev}/statistics/{k}", netns=netns))
    return out


def udp_sink(ip, port, netns=None):
    """A bound, never-read UDP socket on @ip:@port, so datagrams to it draw no ICMP error
    (once its buffer is full the socket drops them, after the device counted them)."""
    code = (f"import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"s.bind(({ip!r},{port}))\nprint('ready',flush=True)\ntime.sleep(600)\n")
    cmd = [sys.executable, "-c", code]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    cleanup(lambda: (p.kill(), p.wait()))
    assert p.stdout.readline().strip() == "ready", "udp sink did not start"
    return p


SENDER = """
import socket, sys, time
dst, port, count, size, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = b"k" * size
t0 = time.monotonic()
for i in range(count):
    if rate:
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    assert s.sendto(payload, (dst, port)) == size
"""


def udp_send(dst, port, count, size, netns=None, rate=0.0, wait=True):
    """Send exactly @count datagrams of @size payload bytes to @dst:@port (from @netns),
    paced at @rate per second when given; a Popen when not @wait."""
    cmd = [sys.executable, "-c", SENDER, dst, str(port), str(count), str(size), str(rate)]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    if not wait:
        p = subprocess.Popen(cmd)
        cleanup(lambda: (p.kill(), p.wait()))
        return p
    subprocess.run(cmd, check=True, timeout=120)
    return None


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    raise AssertionError("no cgroup2 mount in /proc/self/mountinfo")


def snmp(proto, field):
    """A counter from /proc/net/snmp, e.g. snmp("Tcp", "RetransSegs")."""
    with open("/proc/net/snmp") as f:
        lines = [l.split() for l in f if l.startswith(proto + ":")]
    return int(lines[1][lines[0].index(field)])


def map_dump(path):
    """bpftool's JSON dump of a pinned per-CPU map: [(key dict, [per-CPU value dicts])]."""
    out = sh("bpftool", "-j", "map", "dump", "pinned", path)
    rows = []
    for e in json.loads(out or "[]"):
        f = e.get("formatted", e)
        rows.append((f["key"], [v["value"] for v in f["values"]]))
    return rows


def wait_port(port, host="127.0.0.1", timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {host}:{port}")
