#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Label safety: process names, device names, mount points and cgroup paths made of
quotes, backslashes, newlines, braces, '=', control characters and invalid UTF-8.

Both formats must stay valid (promtool for text 0.0.4, prometheus_client's strict
OpenMetrics parser), every series must appear once, and unescaping a label value must
give the original text back when it was valid UTF-8 without control characters (newline
aside) and at most 256 bytes; otherwise each invalid byte or control character reads as
U+FFFD and the value is cut at 256 bytes, before a character. Names that become the same
text that way (two invalid-UTF-8 names, two values equal in their first 256 bytes, a
--process.watch name given twice) are one series, merged: counts and counters add up
(process_running of two such names is 2), sizes and worst-case ratios keep the highest.
Each value is checked against the kernel's own view: /proc/<pid>/comm and fd, statvfs,
cgroup cpu.stat, sysfs.
"""
import ctypes
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import (Kpulse, cgroup2_mount, cleanup, http_get, main, need_root,  # noqa: E402
                    spawn, test, wait_for)
from serve import need, tempdir  # noqa: E402
from netns import new_netns, sh, stats  # noqa: E402

try:
    from prometheus_client.openmetrics import parser as om_parser
    from prometheus_client import parser as text_parser
except ImportError:  # a Python of its own (pyenv) next to Debian's python3-prometheus-client
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.openmetrics import parser as om_parser
    from prometheus_client import parser as text_parser

OM = "application/openmetrics-text; version=1.0.0"
RUN = os.getpid() % 100
PR_SET_NAME = 15


def unescaped(raw):
    """What a label value made of the bytes @raw must read as once unescaped."""
    n = min(len(raw), 256)
    while 0 < n < len(raw) and raw[n] & 0xc0 == 0x80:
        n -= 1  # cut before a character, never inside
    out, i = [], 0
    while i < n:
        c = raw[i]
        size = 1 if c < 0x80 else 2 if c >> 5 == 6 else 3 if c >> 4 == 14 else \
            4 if c >> 3 == 30 else 0
        try:
            ch = raw[i:i + size].decode() if size and i + size <= n else None
        except UnicodeDecodeError:
            ch = None
        if ch is None or (len(ch) == 1 and (ord(ch) < 0x20 and ch != "\n" or ord(ch) == 0x7f)):
            out.append("\ufffd")
            i += 1
        else:
            out.append(ch)
            i += size
    return "".join(out)


def named(name, work):
    """A child process called @name (prctl PR_SET_NAME) that runs work() then sleeps."""
    def run():
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0):
            os._exit(1)
        work()
        while True:
            time.sleep(60)
    return spawn(run)


def burn(seconds):
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        pass


def comm(pid):
    with open(f"/proc/{pid}/comm", "rb") as f:
        return f.read()[:-1]


def parse(text, om):
    """{(sample name, frozenset(labels)): value} from the strict parser; fails on repeats."""
    fams = (om_parser if om else text_parser).text_string_to_metric_families(text)
    out = {}
    for fam in fams:
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"series repeated: {s.name}{s.labels}"
            out[key] = s.value
    return out


def series(samples, metric, **labels):
    return [(dict(k[1]), v) for k, v in samples.items() if k[0] == metric and
            all(dict(k[1]).get(a) == b for a, b in labels.items())]


@test
def hostile_names():
    need_root()
    promtool = need("promtool")
    d = tempdir("kpulse-labels-")

    # Processes, named by prctl: watched ones (one name twice in --process.watch), and
    # two with 3 000 open descriptors each that enter the top-N by fds.
    procs = [b'q"u\\o{t}=e', b"new\nline", b"cr\rtab\t", "é€😀".encode(),
             b"\xff\xfeinv", b"\xfe\xffinv"]
    watch = procs + [b"new\nline"]
    pids = {name: named(name, lambda: None) for name in procs}

    def many_fds():
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
        fd = os.open("/dev/null", os.O_RDONLY)
        for _ in range(3000):
            os.dup(fd)
    fd_names = [b"\xfd\xfcfds", b"\xfc\xfdfds"]
    fd_pids = [named(name, many_fds) for name in fd_names]

    # Network devices (veth pairs, down): the kernel takes any byte but '/', ':' and
    # whitespace, so no newline here. Two differ only in a byte that is not UTF-8.
    devs = [b'k%02dq"b\\{=}' % RUN, b"k%02d\xc3\xa9\xe2\x82\xac" % RUN, b"k%02dx\xff" % RUN,
            b"k%02dx\xfe" % RUN]
    ip = need("ip")
    for i, dev in enumerate(devs):
        peer = f"kpl{RUN:02d}p{i}"
        subprocess.run([ip, "link", "add", "name", dev, "mtu", str(1400 + 100 * (i == 3)),
                        "type", "veth", "peer", "name", peer], check=True)
        cleanup(lambda peer=peer: subprocess.run([ip, "link", "del", peer],
                                                 capture_output=True))

    # Mount points (tmpfs of distinct sizes), and a weird mount source as the device.
    base = os.fsencode(d)
    mnts = [b'q"u\\o{t}=e', b"new\nline", b"sp ace\ttab", "é€😀".encode(), b"inv\xff",
            b"inv\xfe", b"L" * 200 + b"/" + b"L" * 100 + b"1", b"L" * 200 + b"/" + b"L" * 100 + b"2"]
    paths = [base + b"/" + m for m in mnts]
    for i, p in enumerate(paths):
        os.makedirs(p)
        src = b'src"\\{}=\xff' if i == 0 else b"tmpfs"
        subprocess.run([b"mount", b"-t", b"tmpfs", b"-o", b"size=%dk" % (1024 * (i + 1)), src,
                        p], check=True)
        cleanup(lambda p=p: subprocess.run([b"umount", b"-l", p], capture_output=True))

    # cgroups (v2), each with a process that burns 0.3 s of CPU in it.
    root = os.fsencode(cgroup2_mount())
    cgs = [b'kpl%02d-q"u\\o{t}=e' % RUN, "kpl{:02d}-é€😀".format(RUN).encode(),
           b"kpl%02d-inv\xff" % RUN, b"kpl%02d-inv\xfe" % RUN, b"kpl%02d-cr\rtab\t" % RUN]
    for cg in cgs:
        os.mkdir(root + b"/" + cg)
        cleanup(lambda cg=cg: os.rmdir(root + b"/" + cg))

    def in_cgroup(cg):
        def work():
            with open(root + b"/" + cg + b"/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))
            burn(0.3)
        return work

    def usage(cg):
        with open(root + b"/" + cg + b"/cpu.stat") as f:
            return int(re.search(r"usage_usec (\d+)", f.read()).group(1)) / 1e6

    # kpulse counts cgroup CPU time from sched_switch once attached: burn after start.
    k = Kpulse("--process.watch=" + os.fsdecode(b",".join(watch)))
    for cg in cgs:
        named(b"kplburn", in_cgroup(cg))
    assert wait_for(lambda: all(usage(cg) >= 0.3 for cg in cgs), timeout=20), \
        [usage(cg) for cg in cgs]
    # Let every collector see everything: two more ticks.
    k.next_tick()
    k.next_tick()
    _, _, body = http_get(k.url + "/metrics")
    text = body.decode()
    _, h, body = http_get(k.url + "/metrics", headers={"Accept": OM})
    om = body.decode()
    assert h["Content-Type"].startswith(OM), h["Content-Type"]

    # Valid exposition in both formats; each series once.
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and not (p.stdout + p.stderr).strip(), (p.stdout + p.stderr)[:2000]
    for line in text.splitlines():
        assert "\r" not in line and "\t" not in line, f"raw CR or TAB in {line!r}"
    t = parse(text, om=False)
    o = parse(om, om=True)

    # Processes: the name reads back as the kernel has it; the two invalid ones are one
    # series counting both; the name given twice is watched once (1, not 2).
    for name in procs:
        assert comm(pids[name]) == name, (comm(pids[name]), name)
    for samples in (t, o):
        for name in set(unescaped(n) for n in procs):
            want = sum(unescaped(n) == name for n in procs)
            got = series(samples, "kpulse_process_running", name=name)
            assert [v for _, v in got] == [want], \
                f"kpulse_process_running{{name={name!r}}}: {got}, expected {want} (/proc/*/comm)"
    merged = unescaped(fd_names[0])
    assert merged == unescaped(fd_names[1]) == "\ufffd\ufffdfds"
    fds = sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in fd_pids)
    got = series(t, "kpulse_process_open_fds", name=merged)
    assert [v for _, v in got] == [fds], \
        f"open fds of the two processes named ��fds: {got}, /proc/<pid>/fd says {fds}"

    # Devices: names read back; the pair that collides is one series (MTU: the higher).
    for samples in (t, o):
        for name in set(unescaped(n) for n in devs):
            got = series(samples, "kpulse_network_mtu_bytes", device=name)
            want = max(1400 + 100 * (i == 3) for i, n in enumerate(devs) if unescaped(n) == name)
            assert [v for _, v in got] == [want], f"mtu of {name!r}: {got}, expected {want}"
            got = series(samples, "kpulse_network_receive_bytes_total", device=name)
            assert len(got) == 1, (name, got)

    # Mount points: each reads back, its size is statvfs's; the two cut at 256 bytes and
    # the two invalid ones are one series each, the larger size.
    for samples in (t, o):
        for name in set(unescaped(p) for p in paths):
            got = series(samples, "kpulse_filesystem_size_bytes", mountpoint=name)
            sizes = []
            for p in paths:
                if unescaped(p) == name:
                    st = os.statvfs(p)
                    sizes.append(st.f_blocks * st.f_frsize)
            assert [v for _, v in got] == [max(sizes)], \
                f"size of {name!r}: {got}, statvfs says {sizes}"
            assert got[0][0]["fstype"] == "tmpfs", got
    src = series(t, "kpulse_filesystem_size_bytes", mountpoint=unescaped(paths[0]))
    assert src[0][0]["device"] == unescaped(b'src"\\{}=\xff'), src

    # cgroups: each path reads back, its CPU time is what cpu.stat counted (the two
    # invalid ones together), within 50 ms + 10 %.
    for samples in (t, o):
        for name in set(unescaped(b"/" + c) for c in cgs):
            want = sum(usage(c) for c in cgs if unescaped(b"/" + c) == name)
            got = series(samples, "kpulse_cgroup_cpu_seconds_total", cgroup=name)
            assert len(got) == 1 and abs(got[0][1] - want) <= 0.05 + 0.1 * want, \
                f"cgroup {name!r}: {got}, cpu.stat usage {want:.3f}s"
    print(f"  {len(t)} series in text, {len(o)} in OpenMetrics; names checked: "
          f"{len(procs)} processes, {len(devs)} devices, {len(paths)} mount points, "
          f"{len(cgs)} cgroups", flush=True)



def send_frames(dev, n):
    """@n Ethernet frames of an unused ethertype out of @dev (its tx_packets +n)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((dev, 0))
        for _ in range(n):
            s.send(b"\xff" * 6 + b"\x02" + b"\x00" * 5 + b"\x88\xb5" + b"\x00" * 46)
    finally:
        s.close()


@test
def device_moved_renamed_and_replaced():
    """A device moved into another namespace and renamed there, and a new device given its
    old name here: the attack on landed main saw the old device's series stay under the
    name, a duplicate of the new one's. Each device is exported once, under the name and
    namespace it has now, with its own counters (the kernel's, read in its namespace around
    the tick), with and without --collector.net.all-namespaces."""
    need_root()
    ns = new_netns("mv")
    keeper = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"])
    cleanup(lambda: (keeper.kill(), keeper.wait()))
    ns_ino = str(os.stat(f"/run/netns/{ns}").st_ino)
    self_ino = str(os.stat("/proc/self/ns/net").st_ino)
    old, peer, moved, peer2 = (f"kpm{RUN:02d}{x}" for x in "apcq")
    sh("ip", "link", "add", old, "type", "veth", "peer", "name", peer)
    cleanup(lambda: sh("ip", "link", "del", peer, check=False))
    for dev in (old, peer):
        sh("ip", "link", "set", dev, "up")
    ka = Kpulse("--collector.net.all-namespaces", interval="200ms")
    k = Kpulse(interval="200ms")
    send_frames(old, 30)
    assert wait_for(lambda: ka.next_tick().get(
        "kpulse_network_transmit_packets_total", device=old, netns=self_ino), timeout=5)
    # Move it away under another name, and give its name to a new device here.
    sh("ip", "link", "set", old, "netns", ns)
    sh("ip", "link", "set", old, "name", moved, netns=ns)
    sh("ip", "link", "set", moved, "up", netns=ns)
    sh("ip", "link", "add", old, "type", "veth", "peer", "name", peer2)
    cleanup(lambda: sh("ip", "link", "del", peer2, check=False))
    for dev in (old, peer2):
        sh("ip", "link", "set", dev, "up")
    send_frames(old, 7)
    want = {}
    for _ in range(20):  # a quiet instant: the kernel's counts equal before and after
        before = (stats(old)["tx_packets"], stats(moved, netns=ns)["tx_packets"])
        k.next_tick()
        ka.next_tick()
        ma, m = ka.next_tick(), k.next_tick()
        if (stats(old)["tx_packets"], stats(moved, netns=ns)["tx_packets"]) == before:
            want = {"new": before[0], "moved": before[1]}
            break
    assert want, "the devices never stayed quiet for a tick"
    assert want["moved"] >= 30 and want["new"] >= 7, want
    for what, metrics, labels in (("all namespaces", ma, {"netns": self_ino}),
                                  ("default", m, {})):
        for fam in ("kpulse_network_transmit_packets_total", "kpulse_network_mtu_bytes",
                    "kpulse_network_up"):
            got = [lb for lb, _ in metrics.series(fam) if lb["device"] == old]
            assert got == [{"device": old, **labels}], f"{what}: {fam} of {old}: {got}"
        got = metrics.get("kpulse_network_transmit_packets_total", device=old, **labels)
        assert got == want["new"], \
            f"{what}: the new {old} sent {want['new']} frames (sysfs), kpulse says {got}"
    got = ma.get("kpulse_network_transmit_packets_total", device=moved, netns=ns_ino)
    assert got == want["moved"], \
        f"{old} moved to netns {ns_ino} as {moved}: sysfs there {want['moved']}, kpulse {got}"
    assert not [lb for lb, _ in m.series("kpulse_network_transmit_packets_total")
                if lb["device"] == moved], f"{moved} is in another namespace: not by default"
    print(f"  {old}: new device {want['new']} frames, moved one as {moved} in netns {ns_ino} "
          f"{want['moved']} frames; one series each", flush=True)


if __name__ == "__main__":
    main("labels")
