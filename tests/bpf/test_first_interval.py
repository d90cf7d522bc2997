#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The first interval after start: every rate and ratio kpulse publishes covers a whole
interval, or is not published yet; never a rate over the few milliseconds between two
ticks at start. Held against paced loads (tests/workloads/paced.c) that run before kpulse
starts, whose counters a thread of this test records every few ms with the wall-clock time
of each reading, so each rate is compared with what the loads did between the instants
kpulse read its counters, however late this test sees the snapshot."""
import math
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import (Kpulse, Metrics, cleanup, http_get, main, need_root, online_cpus,  # noqa: E402
                    test, wait_for, workload)
from netns import PID, new_netns, stats, subnet, udp_sink, veth  # noqa: E402
from sched import schedstat_seconds  # noqa: E402


def paced(*args):
    """Start tests/workloads/paced with @args; killed at cleanup."""
    p = subprocess.Popen([workload("paced"), *map(str, args)], stdout=subprocess.PIPE,
                         text=True)
    cleanup(lambda: (p.kill(), p.wait()))
    assert p.stdout.readline().strip() == "started", f"paced {args} did not start"
    return p


def count_file():
    fd, path = tempfile.mkstemp(prefix=f"kpulse-paced-{PID}-")
    os.close(fd)
    cleanup(lambda: os.unlink(path))
    return path


def read_count(path):
    with open(path, "rb") as f:
        return struct.unpack("=Q", f.read(8))[0]


def snapshots_from_start(k, seconds, witness=lambda: None):
    """[(time seen, Metrics, witness())] of every distinct snapshot kpulse publishes, from
    its first one (loading and attaching can take seconds) to @seconds after it; polled
    every 5 ms, so each is seen (and its witness read) within ms of its publication."""
    out, last, deadline = [], None, time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _, body = http_get(k.url + "/metrics", timeout=1)
        except OSError:  # not answering yet: the first tick runs before serving
            status = None
        if status == 200 and body != last:
            seen, w = time.monotonic(), witness()
            if not out:
                deadline = seen + seconds
            out.append((seen, Metrics(body.decode()), w))
            last = body
        if k.proc.poll() is not None:
            raise AssertionError(f"kpulse exited: {k.output()}")
        time.sleep(0.005)
    assert out, f"kpulse published nothing in 30 s: {k.output()}"
    return out


def tick_seconds(m):
    """How long the tick of snapshot @m took to sample: its collectors' durations summed."""
    return m.sum("kpulse_collector_duration_seconds")


class Recorder:
    """Reads @read() every 5 ms in a thread, with the wall-clock time of each reading (the
    clock of kpulse_sampler_last_tick_timestamp_seconds), until stop()."""

    def __init__(self, read):
        self.read, self.points, self.done = read, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.is_set():
            v = self.read()
            self.points.append((time.time(), v))
            time.sleep(0.005)

    def stop(self):
        self.done.set()
        self.thread.join()

    def at_most(self, t, key):
        """@key's value at the last reading at or before @t: at most its value at @t."""
        return max((v[key] for ts, v in self.points if ts <= t), default=None)

    def at_least(self, t, key):
        """@key's value at the first reading at or after @t: at least its value at @t."""
        return min((v[key] for ts, v in self.points if ts >= t), default=None)

    def rate_bounds(self, a0, a1, b0, b1, key):
        """(lowest, highest) per-second rate of @key between an instant in [@a0, @a1] and
        one in [@b0, @b1] (counters only grow)."""
        lo = self.at_most(b0, key) - self.at_least(a1, key)
        hi = self.at_least(b1, key) - self.at_most(a0, key)
        return max(lo, 0) / (b1 - a0), hi / max(b0 - a1, 1e-3)


@test
def first_rates_cover_a_whole_interval():
    """Loads with known rates run while kpulse starts (1 s interval): 20 000 open+close
    pairs/s, 2 000 datagrams/s of 64 B across a quiet veth pair, and a process on a CPU 40%
    of the time. In every snapshot of kpulse's first 4.5 s, each of their rates is absent
    or agrees with what the load did over that interval, and each is present from the
    second snapshot on, whose tick starts at least 0.75 s after the first one's.
    When did kpulse read? A collector reads within its tick: between the tick's start
    (kpulse_sampler_last_tick_timestamp_seconds) and that plus the tick's collector
    durations (kpulse_collector_duration_seconds summed). The witnesses, recorded every
    5 ms with the time of each reading, bound what the load did between any two such
    instants: the veth's sysfs tx counters (the very counters kpulse reads; tolerance 1%);
    the spinning process's /proc/<pid>/schedstat (1% + 0.005); the paced open loop's own
    count, a floor for the host's opens (every process opens descriptors), and kpulse's
    own kpulse_fd_{opened,closed}_total for the rest (1%). A rate over the 5-60 ms the
    first interval used to cover is outside these bounds, or its tick too close."""
    need_root()
    cpus = len(online_cpus())
    name = f"kfi-spin-{PID % 100000}"
    ns = new_netns("f")
    host, peer = f"kpf{PID}h", f"kpf{PID}n"
    host_ip, peer_ip = subnet()
    veth(ns, host, peer, host_ip, peer_ip)
    udp_sink(peer_ip, 9000, netns=ns)
    opens = count_file()
    paced("open", 20000, opens)
    paced("udp", peer_ip, 9000, 2000)
    spin = paced("spin", 0.4, name)

    def witness():
        st = stats(host)
        return {"opens": read_count(opens), "tx": st["tx_packets"], "txb": st["tx_bytes"],
                "cpu": schedstat_seconds(spin.pid)}

    rec = Recorder(witness)
    cleanup(rec.stop)
    time.sleep(1)  # every load steady before kpulse's first sample
    k = Kpulse("--collector.fd.syscalls", f"--process.watch={name}", interval="1s",
               wait=False)
    snaps = snapshots_from_start(k, 4.5)
    last = snaps[-1][1]
    end = last.get("kpulse_sampler_last_tick_timestamp_seconds") + tick_seconds(last)
    wait_for(lambda: rec.points[-1][0] > end, timeout=5, step=0.01)  # a reading after it
    rec.stop()
    assert len(snaps) >= 4, f"only {len(snaps)} snapshots in 4.5 s at a 1 s interval"
    bad = []
    for i, (_, m, _) in enumerate(snaps):
        want = {}
        if i:
            m0 = snaps[i - 1][1]
            a0 = m0.get("kpulse_sampler_last_tick_timestamp_seconds")
            b0 = m.get("kpulse_sampler_last_tick_timestamp_seconds")
            a1, b1 = a0 + tick_seconds(m0), b0 + tick_seconds(m)
            if b0 - a0 < 0.75:
                bad.append(f"snapshot {i}: its tick started {b0 - a0:.3f} s after the last")
            if b0 - a0 > 1.5:  # this test missed a snapshot: no interval to compare
                continue

            def over(key, rel=0.01, add=0.0, scale=1.0):
                lo, hi = rec.rate_bounds(a0, a1, b0, b1, key)
                return (lo * scale * (1 - rel) - add, hi * scale * (1 + rel) + add)

            def kpulse_total(total):
                """Bounds from kpulse's own counter, read with the rate."""
                d = m.get(total) - m0.get(total)
                return d / (b1 - a0) * 0.99, d / max(b0 - a1, 1e-3) * 1.01

            opens_lo, _ = over("opens")
            for fam in ("opened", "closed"):
                lo, hi = kpulse_total(f"kpulse_fd_{fam}_total")
                want[(f"kpulse_fd_{fam}_per_second", ())] = (max(lo, opens_lo), hi)
            want.update({
                ("kpulse_network_transmit_packets_per_second", (("device", host),)):
                    over("tx"),
                ("kpulse_network_transmit_bytes_per_second", (("device", host),)):
                    over("txb"),
                ("kpulse_process_cpu_ratio", (("name", name),)):
                    over("cpu", add=0.005, scale=1 / cpus),
            })
        for (fam, labels), (lo, hi) in want.items():
            v = m.get(fam, **dict(labels))
            if v is None:
                bad.append(f"snapshot {i}: {fam}{dict(labels)} absent")
            elif not lo <= v <= hi:
                bad.append(f"snapshot {i}: {fam}{dict(labels)} = {v:g}, the witnesses say "
                           f"{lo:g}..{hi:g} (ticks {b0 - a0:.3f} s apart, taking "
                           f"{a1 - a0:.3f} and {b1 - b0:.3f} s)")
        # Whatever else is a rate or a ratio is a finite number, and a share at most 1.
        for (fam, labels), v in m.samples.items():
            if fam.endswith("_per_second") and not (math.isfinite(v) and v >= 0):
                bad.append(f"snapshot {i}: {fam}{dict(labels)} = {v}")
            if fam.endswith("_ratio") and "fd_limit" not in fam and not 0 <= v <= 1:
                bad.append(f"snapshot {i}: {fam}{dict(labels)} = {v}")
    # The first snapshot is taken before any interval has passed: no rate at all.
    first = [f for f in ("kpulse_fd_opened_per_second", "kpulse_process_cpu_ratio",
                         "kpulse_network_transmit_packets_per_second")
             if any(k[0] == f for k in snaps[0][1].samples)]
    assert not first, f"rates in the very first snapshot, before any interval: {first}"
    assert not bad, f"{len(bad)} rates off in the first {len(snaps)} snapshots: " + \
        "; ".join(bad[:8])


@test
def no_second_tick_right_after_the_first():
    """The second tick starts one interval after the first (it used to follow within
    milliseconds, while the HTTP server started). Witness: each snapshot's
    kpulse_sampler_last_tick_timestamp_seconds, the wall clock when its tick started, so
    that this test's own scheduling does not matter; tolerance 0.25 s around a 1 s interval.
    Polled every 5 ms, a snapshot that lives a whole interval is not missed."""
    need_root()
    k = Kpulse(interval="1s", wait=False)
    ticks = [m.get("kpulse_sampler_last_tick_timestamp_seconds")
             for _, m, _ in snapshots_from_start(k, 2.5)]
    assert len(ticks) >= 3, f"only {len(ticks)} snapshots in 2.5 s"
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert all(0.75 <= g <= 1.25 for g in gaps[:2]), \
        f"ticks {['%.3f' % g for g in gaps]} s apart at a 1 s interval"


if __name__ == "__main__":
    main("bpf-first-interval")
