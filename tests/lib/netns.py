# SPDX-License-Identifier: GPL-2.0
"""Network namespaces, veth pairs and exact traffic for the net collector's tests.

Every name includes os.getpid() and every object is removed through kpulse.cleanup(), so
tests of several engineers can run side by side on one machine.
"""
import os
import subprocess
import sys

from kpulse import cgroup2_mount, cleanup, script  # noqa: F401 - cgroup2_mount re-exported

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


def stats(dev, netns=None, keys=("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")):
    """The kernel's own statistics of @dev: {rx_bytes, rx_packets, tx_bytes, tx_packets}."""
    if netns:
        vals = sh("cat", *[f"/sys/class/net/{dev}/statistics/{k}" for k in keys],
                  netns=netns).split()
        return {k: int(v) for k, v in zip(keys, vals)}
    out = {}
    for k in keys:
        with open(f"/sys/class/net/{dev}/statistics/{k}") as f:
            out[k] = int(f.read())
    return out


# kpulse's device counter families and the /sys/class/net/<dev>/statistics files each one
# sums: /proc/net/dev's columns (net/core/net-procfs.c), node_exporter's names.
DEV_FAMILIES = {
    "kpulse_network_receive_bytes_total": ("rx_bytes",),
    "kpulse_network_receive_packets_total": ("rx_packets",),
    "kpulse_network_receive_errs_total": ("rx_errors",),
    "kpulse_network_receive_drop_total": ("rx_dropped", "rx_missed_errors"),
    "kpulse_network_receive_fifo_total": ("rx_fifo_errors",),
    "kpulse_network_receive_frame_total": ("rx_length_errors", "rx_over_errors",
                                           "rx_crc_errors", "rx_frame_errors"),
    "kpulse_network_receive_multicast_total": ("multicast",),
    "kpulse_network_transmit_bytes_total": ("tx_bytes",),
    "kpulse_network_transmit_packets_total": ("tx_packets",),
    "kpulse_network_transmit_errs_total": ("tx_errors",),
    "kpulse_network_transmit_drop_total": ("tx_dropped",),
    "kpulse_network_transmit_fifo_total": ("tx_fifo_errors",),
    "kpulse_network_transmit_colls_total": ("collisions",),
    "kpulse_network_transmit_carrier_total": ("tx_carrier_errors", "tx_aborted_errors",
                                              "tx_window_errors", "tx_heartbeat_errors"),
}
STAT_FILES = sorted({f for files in DEV_FAMILIES.values() for f in files})


def sysfs_families(dev, netns=None):
    """{family: the sum of its sysfs statistics files} for @dev, the kernel's own answer to
    each kpulse_network_*_total; None if the device went away while being read."""
    try:
        raw = stats(dev, netns, STAT_FILES)
    except (OSError, AssertionError, ValueError):
        return None
    return {fam: sum(raw[f] for f in files) for fam, files in DEV_FAMILIES.items()}


def sysfs_devices():
    return sorted(os.listdir("/sys/class/net"))


def sysfs_attr(dev, attr):
    """/sys/class/net/@dev/@attr stripped, or None when the kernel refuses (EINVAL: speed
    and duplex of a device that is down or has no link settings)."""
    try:
        with open(f"/sys/class/net/{dev}/{attr}") as f:
            return f.read().strip()
    except OSError:
        return None


def udp_sink(ip, port, netns=None):
    """A bound, never-read UDP socket on @ip:@port, so datagrams to it draw no ICMP error
    (once its buffer is full the socket drops them, after the device counted them)."""
    cmd = [sys.executable, script("udp_sink"), ip, str(port)]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    cleanup(lambda: (p.kill(), p.wait()))
    assert p.stdout.readline().strip() == "ready", "udp sink did not start"
    return p


SENDER = script("udp_send")


def udp_send(dst, port, count, size, netns=None, rate=0.0, wait=True):
    """Send exactly @count datagrams of @size payload bytes to @dst:@port (from @netns),
    paced at @rate per second when given; a Popen when not @wait."""
    cmd = [sys.executable, SENDER, dst, str(port), str(count), str(size), str(rate)]
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


# A point-to-point link between this namespace and another whose packets arrive a fixed
# delay after they were sent: two TUN devices, one in each namespace, and this relay between
# them. netem is not built into the test kernels; a TUN relay needs nothing but /dev/net/tun.
TUN_RELAY = script("tun_relay")


def delayed_link(far_ns, near_ip, far_ip, delay):
    """A point-to-point IPv4 link from this namespace (@near_ip) into @far_ns (@far_ip) over
    which every packet, either way, arrives @delay seconds after it was sent: a round trip
    takes 2 x @delay plus the relay's own few hundred microseconds. Gone at cleanup."""
    near, far = f"kpt{PID}a", f"kpt{PID}b"
    p = subprocess.Popen([sys.executable, TUN_RELAY, near, far_ns, far, str(delay)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    cleanup(lambda: (p.kill(), p.wait()))
    assert p.stdout.readline().strip() == "ready", "the TUN relay did not start"
    for dev, ns, ip, peer in ((near, None, near_ip, far_ip), (far, far_ns, far_ip, near_ip)):
        sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1", netns=ns)
        sh("ip", "addr", "add", ip, "peer", peer, "dev", dev, netns=ns)
        sh("ip", "link", "set", dev, "up", netns=ns)
    return p
