#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""block collector against a workload whose answer is known and /proc/diskstats: 256 O_DIRECT
reads of 4 KiB from a loop device over a file of our own."""
import math
import mmap
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import Kpulse, cleanup, main, need_root, only_collectors, test  # noqa: E402

PID = os.getpid()
N = 256
LAT = "kpulse_block_io_latency_seconds"
SIZE = "kpulse_block_io_size_bytes"


def loop_device(size_mb=64, direct_io=True):
    """A loop device over a fresh file of random bytes under /var/tmp (on a real disk, so
    with direct I/O each read reaches it); detached and removed at cleanup. Its name."""
    path = f"/var/tmp/kpulse-blk-{PID}.img"
    with open(path, "wb") as f:
        f.write(os.urandom(size_mb << 20))
    cleanup(lambda: os.unlink(path))
    dev = subprocess.run(["losetup", "-f", "--show", f"--direct-io={'on' if direct_io else 'off'}",
                          path], capture_output=True, text=True, check=True).stdout.strip()
    cleanup(lambda: subprocess.run(["losetup", "-d", dev], check=False))
    return os.path.basename(dev)


def diskstats(name):
    """(reads completed, sectors read, ms reading) of @name from /proc/diskstats."""
    with open("/proc/diskstats") as f:
        for line in f:
            fields = line.split()
            if fields[2] == name:
                return int(fields[3]), int(fields[5]), int(fields[6])
    raise AssertionError(f"{name} not in /proc/diskstats")


def buckets(m, name, **labels):
    out = []
    for lab, v in m.series(name + "_bucket"):
        le = lab.pop("le")
        if lab == labels:
            out.append((math.inf if le == "+Inf" else float(le), v))
    return sorted(out)


def read_hist(m, dev):
    lab = {"device": dev, "op": "read"}
    return {"count": m.get(LAT + "_count", **lab) or 0, "sum": m.get(LAT + "_sum", **lab) or 0,
            "queue": m.get("kpulse_block_io_queue_seconds_total", **lab) or 0,
            "bytes": m.get(SIZE + "_sum", **lab) or 0, "lat": buckets(m, LAT, **lab),
            "size": buckets(m, SIZE, **lab)}


def settled_tick(k, name):
    """A snapshot taken while @name is idle: /proc/diskstats does not move around it."""
    for _ in range(20):
        before = diskstats(name)
        m = k.next_tick()
        if diskstats(name) == before:
            return m, before
    raise AssertionError(f"{name} never went idle")


def direct_reads_match_diskstats(*flags):
    """256 O_DIRECT reads of 4 KiB from a loop device (direct I/O to its backing file):
    - kpulse_block_io_latency_seconds_count{op="read"} grows by exactly the reads
      /proc/diskstats completed (256: each read is one request, issued alone);
    - none of them (nor any other request meanwhile) completes without an issue time;
    - every one lands in the 4096-byte size bucket, and the size _sum equals the sectors
      diskstats read x 512;
    - _sum (issue -> completion: the kernel's own issue stamp rq->io_start_time_ns, or with
      --collector.block.own-clock kpulse's bpf_ktime_get_ns at issue; bpf_ktime_get_ns at
      completion) plus kpulse_block_io_queue_seconds_total
      (allocation -> issue) is what diskstats times: allocation -> end of the request, in
      the same CLOCK_MONOTONIC. Two differences remain, both known: diskstats prints whole
      milliseconds (its delta is off by < 1 ms), and its end stamp is taken after the
      request's bios were ended (the reader woken), a few µs after the completion
      tracepoint; allowed: 20 µs per request. So diskstats - 1 ms - 20 µs x 256 <= kpulse
      <= diskstats + 1 ms."""
    need_root()
    dev = loop_device()
    k = Kpulse(*only_collectors("block"), f"--collector.disk.device-include={dev}", *flags,
               interval="200ms")
    buf = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT wants
    fd = os.open(f"/dev/{dev}", os.O_RDONLY | os.O_DIRECT)
    cleanup(lambda: os.close(fd))
    m0, d0 = settled_tick(k, dev)
    h0 = read_hist(m0, dev)
    for i in range(N):
        assert os.preadv(fd, [buf], (i * 7919 % 16000) * 4096) == 4096
    m1, d1 = settled_tick(k, dev)
    h1 = read_hist(m1, dev)
    reads, sectors, ms = (d1[i] - d0[i] for i in range(3))
    count = h1["count"] - h0["count"]
    lat_ms = (h1["sum"] - h0["sum"]) * 1e3
    queue_ms = (h1["queue"] - h0["queue"]) * 1e3
    print(f"  {dev}: diskstats {reads} reads, {sectors} sectors, {ms} ms reading; kpulse "
          f"{count:.0f} requests, latency sum {lat_ms:.3f} ms + queue {queue_ms:.3f} ms = "
          f"{lat_ms + queue_ms:.3f} ms")
    assert reads == N, f"diskstats counted {reads} reads for {N} O_DIRECT reads"
    assert count == reads, f"{LAT}_count grew {count}, /proc/diskstats reads {reads}"
    untimed = m1.get("kpulse_block_io_untimed_total") - m0.get("kpulse_block_io_untimed_total")
    assert untimed == 0, f"{untimed:.0f} requests completed without an issue time meanwhile"
    assert h1["bytes"] - h0["bytes"] == sectors * 512 == N * 4096, \
        f"size _sum grew {h1['bytes'] - h0['bytes']}, diskstats {sectors} sectors, want {N * 4096}"
    grew = {le: c - dict(h0["size"]).get(le, 0) for le, c in h1["size"]}
    assert grew[2048] == 0 and grew[4096] == N and grew[math.inf] == N, \
        f"size buckets grew {grew}: want all {N} at le=4096"
    lat = h1["lat"]
    assert lat and lat[0][0] == 1e-6 and lat[-1][0] == math.inf and lat[-1][1] == h1["count"], \
        f"latency buckets {lat}"
    assert all(b[1] <= c[1] for b, c in zip(lat, lat[1:])), f"not cumulative: {lat}"
    total = lat_ms + queue_ms
    assert ms - 1 - 0.020 * N <= total <= ms + 1, \
        f"latency + queue sums {total:.3f} ms, diskstats {ms} ms: outside " \
        f"[{ms - 1 - 0.020 * N:.2f}, {ms + 1}] ms"


@test
def direct_reads_on_a_loop_device_match_diskstats():
    """The kernel stamps the issue of each request on a loop device's queue (writeback
    throttling keeps QUEUE_FLAG_STATS on it): kpulse reads that stamp, no map, one clock
    read per request."""
    direct_reads_match_diskstats()


@test
def direct_reads_timed_by_kpulse_match_diskstats():
    """The same with --collector.block.own-clock: every request stamped at issue by kpulse
    and kept in the in-flight map, as on a queue the kernel does not stamp."""
    direct_reads_match_diskstats("--collector.block.own-clock")


def diskstats_ops(name):
    """{op: (completed, sectors)} of @name from /proc/diskstats: read, write, discard (fields
    4/6, 8/10, 15/17) and flush (field 19; a flush moves no sector)."""
    with open("/proc/diskstats") as f:
        for line in f:
            x = line.split()
            if x[2] == name:
                x = [int(v) for v in x[3:]]
                return {"read": (x[0], x[2]), "write": (x[4], x[6]), "discard": (x[11], x[13]),
                        "flush": (x[15], 0)}
    raise AssertionError(f"{name} not in /proc/diskstats")


def settled_ops_tick(k, name):
    for _ in range(20):
        before = diskstats_ops(name)
        m = k.next_tick()
        if diskstats_ops(name) == before:
            return m, before
    raise AssertionError(f"{name} never went idle")


@test
def writes_flushes_and_discards_match_diskstats():
    """On a loop device: 64 O_DIRECT writes of 4 KiB, one fsync of the device and a
    BLKDISCARD of 1 MiB. For each of write, flush and discard,
    kpulse_block_io_latency_seconds_count{op} grows by exactly the requests /proc/diskstats
    completed for it (none may be 0 but read, which must stay 0), and
    kpulse_block_io_size_bytes_sum{op} by its sectors x 512 (0 for a flush), with one known
    difference: the fsync is an empty write with REQ_PREFLUSH, which the flush machinery
    ends, never issued, once the flush request it sends the device (a loop device has a
    volatile write cache) is done. diskstats counts it as a write of 0 sectors; kpulse counts
    the flush request only, so its writes are diskstats' less 1. Nothing is untimed (the
    empty write is no request that lost its issue time, on this device or on the disk under
    the loop device's backing file, which the loop device's flush fsyncs)."""
    need_root()
    import fcntl
    dev = loop_device(size_mb=16)
    k = Kpulse(*only_collectors("block"), f"--collector.disk.device-include={dev}",
               interval="200ms")
    buf = mmap.mmap(-1, 4096)
    buf.write(b"w" * 4096)
    fd = os.open(f"/dev/{dev}", os.O_RDWR | os.O_DIRECT)
    cleanup(lambda: os.close(fd))
    m0, d0 = settled_ops_tick(k, dev)
    for i in range(64):
        assert os.pwritev(fd, [buf], (i * 31 % 2048) * 4096) == 4096
    os.fsync(fd)
    BLKDISCARD = 0x1277
    fcntl.ioctl(fd, BLKDISCARD, struct.pack("QQ", 8 << 20, 1 << 20))
    m1, d1 = settled_ops_tick(k, dev)
    problems, seen = [], []
    for op in ("read", "write", "flush", "discard"):
        lab = {"device": dev, "op": op}
        count = (m1.get(LAT + "_count", **lab) or 0) - (m0.get(LAT + "_count", **lab) or 0)
        size = (m1.get(SIZE + "_sum", **lab) or 0) - (m0.get(SIZE + "_sum", **lab) or 0)
        done, sectors = (d1[op][i] - d0[op][i] for i in range(2))
        if op == "write":
            done -= 1  # the fsync's empty write
        seen.append(f"{op} kpulse {count:.0f} ({size:.0f} B), diskstats {done} ({sectors * 512} B)"
                    + (" less the empty write" if op == "write" else ""))
        if count != done or size != sectors * 512:
            problems.append(seen[-1])
        if (done == 0) != (op == "read"):
            problems.append(f"{op}: diskstats completed {done}: the workload did not do what "
                            "it should")
    untimed = m1.get("kpulse_block_io_untimed_total") - m0.get("kpulse_block_io_untimed_total")
    print(f"  {dev}: " + "; ".join(seen) + f"; untimed +{untimed:.0f}")
    assert not problems, "; ".join(problems)
    assert untimed == 0, f"kpulse_block_io_untimed_total grew {untimed:.0f}"


@test
def devices_follow_the_disk_filters():
    """With the default disk filters loop devices are left out, as the disk collector leaves
    them out; kpulse_block_io_untimed_total never goes backwards."""
    need_root()
    dev = loop_device(size_mb=4)
    k = Kpulse(*only_collectors("block"), interval="200ms")
    buf = mmap.mmap(-1, 4096)
    fd = os.open(f"/dev/{dev}", os.O_RDONLY | os.O_DIRECT)
    cleanup(lambda: os.close(fd))
    m0 = k.next_tick()
    for i in range(16):
        os.preadv(fd, [buf], i * 4096)
    m1 = k.next_tick()
    m1 = k.next_tick()
    devices = {lab["device"] for lab, _ in m1.series(LAT + "_count")}
    assert dev not in devices, f"{dev} reported despite the default exclude: {devices}"
    assert m1.get("kpulse_block_io_untimed_total") >= m0.get("kpulse_block_io_untimed_total")


if __name__ == "__main__":
    main("block")
