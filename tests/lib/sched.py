# SPDX-License-Identifier: GPL-2.0
"""Helpers for the sched collector's tests: histograms, cgroup v2 scratch cgroups, named
processes."""
import ctypes
import math
import os
import shutil
import subprocess
import tempfile
import time

from kpulse import cgroup2_mount, cleanup, kill, spawn  # noqa: F401 - re-exported to the sched tests

RQ = "kpulse_sched_runqueue_latency_seconds"


def buckets(m, name=RQ, **labels):
    """[(le, cumulative count)] of one histogram series, sorted by le (+Inf last)."""
    out = []
    for lab, v in m.series(name + "_bucket"):
        le = lab.pop("le")
        if lab == labels:
            out.append((math.inf if le == "+Inf" else float(le), v))
    return sorted(out)


def check_histogram(m, name=RQ, **labels):
    """Assert the exposition invariants of one histogram series; return its buckets."""
    b = buckets(m, name, **labels)
    assert len(b) >= 26, f"{name}{labels}: {len(b)} buckets, want every bucket (>= 26)"
    assert b[0][0] == 1e-6, f"{name}{labels}: first bound {b[0][0]}, want 1e-06"
    assert b[-2][0] >= 16, f"{name}{labels}: last finite bound {b[-2][0]}, want >= 16 s"
    assert b[-1][0] == math.inf, f"{name}{labels}: no +Inf bucket"
    for (le0, c0), (le1, c1) in zip(b, b[1:]):
        assert le1 > le0 and c1 >= c0, f"{name}{labels}: not cumulative at le={le1}: {b}"
    count = m.get(name + "_count", **labels)
    assert count == b[-1][1], f"{name}{labels}: +Inf bucket {b[-1][1]} != _count {count}"
    assert m.get(name + "_sum", **labels) is not None, f"{name}{labels}: no _sum"
    return b


def quantile(q, cum):
    """histogram_quantile() over cumulative [(le, count)]: linear inside the bucket."""
    total = cum[-1][1]
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in cum:
        if c >= rank:
            if le == math.inf:
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-12)
        prev_le, prev_c = le, c
    return prev_le


def make_cgroup(path):
    """mkdir a cgroup (path relative to the v2 mount, like "/kpulse-test-1/busy")."""
    full = cgroup2_mount() + path
    os.makedirs(full)
    cleanup(lambda: remove_cgroup(path))
    return full


def remove_cgroup(path):
    """rmdir a cgroup tree, deepest first, once its processes are gone (retries briefly)."""
    full = cgroup2_mount() + path
    if not os.path.isdir(full):
        return
    dirs = [d for d, _, _ in os.walk(full)]
    for d in sorted(dirs, key=len, reverse=True):
        for _ in range(100):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)


def move_to_cgroup(pid, path):
    with open(cgroup2_mount() + path + "/cgroup.procs", "w") as f:
        f.write(str(pid))


def cgroup_usage_seconds(path):
    """usage_usec of the cgroup's cpu.stat (the kernel's own accounting), in seconds."""
    with open(cgroup2_mount() + path + "/cpu.stat") as f:
        for line in f:
            k, v = line.split()
            if k == "usage_usec":
                return int(v) / 1e6
    raise AssertionError(f"no usage_usec in {path}/cpu.stat")


def _set_comm(name):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME


def spin_for(seconds, cpu=None, comm=None, then_sleep=True, cpu_time=False, done=None):
    """A child function: pin, rename, spin for @seconds (of wall time, or of its own CPU
    time with @cpu_time, so other load on the machine cannot shorten it), write a byte to
    the fd @done, then sleep until killed."""
    def run():
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if comm:
            _set_comm(comm)
        clock = time.thread_time if cpu_time else time.monotonic
        end = clock() + seconds
        while clock() < end:
            pass
        if done is not None:
            os.write(done, b"x")
        while then_sleep:
            time.sleep(3600)
    return run


def schedstat_seconds(pid):
    """Time @pid has run on a CPU, from /proc/<pid>/schedstat (the kernel's own ns)."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def schedstat_wait(pid):
    """Time @pid has waited on a run queue, from /proc/<pid>/schedstat, in seconds."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[1]) / 1e9


def named_sleepers(name, n):
    """@n processes whose comm is @name (a copy of sleep(1) under that file name)."""
    d = tempfile.mkdtemp(prefix="kpulse-sched-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    exe = os.path.join(d, name)
    shutil.copy(shutil.which("sleep"), exe)
    procs = [subprocess.Popen([exe, "600"]) for _ in range(n)]

    def stop():
        for p in procs:
            p.kill()
            p.wait()
    cleanup(stop)
    return procs


def value(m, family, **labels):
    """m.get() for label sets that include "name" (Metrics.get's own first parameter)."""
    return m.samples.get((family, frozenset(labels.items())))


def prog_ids_of(pid):
    """ids of the BPF programs process @pid holds (program and link fds, from fdinfo)."""
    ids = set()
    d = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(d):
        try:
            with open(f"{d}/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids
