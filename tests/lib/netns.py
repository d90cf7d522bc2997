# SPDX-License-Identifier: GPL-2.0
"""Network namespaces, veth pairs and exact traffic for the net collector's tests.

Every name includes os.getpid() and every object is removed through kpulse.cleanup(), so
tests of several engineers can run side by side on one machine.
"""
import os
import subprocess
import sys

from kpulse import cgroup2_mount, cleanup  # noqa: F401 - cgroup2_mount re-exported

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


_subnets = 0


def subnet():
    """A private /30 pair, (host, peer): a new one at each call, so a test never meets a
    previous test's leftovers (a lingering TCP socket still retransmitting), and unlikely
    to collide with another test process."""
    global _subnets
    _subnets += 1
    a, b = (PID >> 4) % 250 + 1, ((PID % 16) * 16 + _subnets % 16) * 4 % 256
    return f"10.{200 + PID % 50}.{a}.{b + 1}", f"10.{200 + PID % 50}.{a}.{b + 2}"


def stats(dev, netns=None):
    """The kernel's own statistics of @dev: {rx_bytes, rx_packets, tx_bytes, tx_packets}."""
    out = {}
    for k in ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets"):
        if netns:
            out[k] = int(sh("cat", f"/sys/class/net/{dev}/statistics/{k}", netns=netns))
        else:
            with open(f"/sys/class/net/{dev}/statistics/{k}") as f:
                out[k] = int(f.read())
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


def snmp(proto, field):
    """A counter from /proc/net/snmp, e.g. snmp("Tcp", "RetransSegs")."""
    with open("/proc/net/snmp") as f:
        lines = [l.split() for l in f if l.startswith(proto + ":")]
    return int(lines[1][lines[0].index(field)])


class NetDevMap:
    """kpulse's pinned net_dev map read in-process through libbpf (a read takes well under
    a millisecond, where a bpftool dump takes tens), summed over CPUs per key."""

    FIELDS = ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")

    def __init__(self, path):
        import ctypes
        self.ct = ctypes
        self.lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
        self.lib.bpf_obj_get.argtypes = [ctypes.c_char_p]
        self.fd = self.lib.bpf_obj_get(path.encode())
        assert self.fd >= 0, f"bpf_obj_get({path}) failed: errno {ctypes.get_errno()}"
        cleanup(lambda: os.close(self.fd))
        self.ncpus = self.lib.libbpf_num_possible_cpus()
        self.value_size = 48  # struct kpulse_net_dev: 4 x u64 + char[16]

    def read(self):
        """{(netns, ifindex, dev_id): {field: sum over CPUs}}"""
        import struct
        ct = self.ct
        out = {}
        key, nxt = ct.create_string_buffer(16), ct.create_string_buffer(16)
        vals = ct.create_string_buffer(self.value_size * self.ncpus)
        prev = None
        while self.lib.bpf_map_get_next_key(self.fd, prev, nxt) == 0:
            ct.memmove(key, nxt, 16)
            prev = key
            if self.lib.bpf_map_lookup_elem(self.fd, key, vals):
                continue
            total = [0, 0, 0, 0]
            for c in range(self.ncpus):
                v = struct.unpack_from("<4Q", vals.raw, c * self.value_size)
                total = [a + b for a, b in zip(total, v)]
            out[struct.unpack("<IIQ", key.raw)] = dict(zip(self.FIELDS, total))
        return out


def enter_netns(name):
    """Move this test process (its main thread, and every child it starts from now on) into
    network namespace @name until the test's cleanup, which moves it back: kpulse, its
    scrapes and the workload then all see that namespace's counters and nothing else's."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet = 0x40000000
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(target, clone_newnet):
            raise OSError(ctypes.get_errno(), f"setns into {name} failed")
    finally:
        os.close(target)

    def leave():
        try:
            if libc.setns(home, clone_newnet):
                raise OSError(ctypes.get_errno(), "setns back to the test's namespace failed")
        finally:
            os.close(home)
    cleanup(leave)
