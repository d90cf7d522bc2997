#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""fd collector cost: the iterator per interval with 10 000 descriptors open in one
process (kernel run time from bpf_stats, wall time of the whole fd sample from
kpulse_collector_duration_seconds), and the BPF cost per fd syscall (bpf_stats run time
per run, which includes bpf_stats' own overhead). Run as root: python3 tests/bench/fd.py"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from fd import FdChild  # noqa: E402
from kpulse import Kpulse  # noqa: E402

STATS = "/proc/sys/kernel/bpf_stats_enabled"


def all_progs():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out or "[]")


def progs(ids):
    """{name: (run_time_ns, run_cnt)} of the programs with these @ids (ours)."""
    return {p["name"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in all_progs() if p["id"] in ids}


def empty_program_cost():
    """bpf_stats' charge for an empty program on the same tracepoint (bpftrace, optional):
    what the per-syscall figures above are to be read against."""
    import shutil
    if not shutil.which("bpftrace"):
        return None
    before = {p["id"] for p in all_progs()}
    bt = subprocess.Popen(["bpftrace", "-e", "tracepoint:syscalls:sys_exit_openat { }"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ids = set()
        deadline = time.monotonic() + 20
        while not ids and time.monotonic() < deadline:
            time.sleep(0.5)
            ids = {p["id"] for p in all_progs() if p.get("type") == "tracepoint"} - before
        a = progs(ids)
        for _ in range(200000):
            os.close(os.open("/dev/null", os.O_RDONLY))
        b = progs(ids)
        for name in b:
            dc = b[name][1] - a[name][1]
            if dc:
                return (b[name][0] - a[name][0]) / dc
    finally:
        bt.terminate()
        bt.wait()
    return None


def main():
    with open(STATS) as f:
        was = f.read().strip()
    with open(STATS, "w") as f:
        f.write("1")
    try:
        before = {p["id"] for p in all_progs()}
        k = Kpulse("--process.watch=kpulse-fd-bench", "--no-collector.sched", interval="1s")
        ours = {p["id"] for p in all_progs()} - before
        child = FdChild("kpulse-fd-bench")
        child.cmd("limit 10500")
        child.cmd("open 10000")
        ticks = 10
        k.next_tick()
        p0 = progs(ours)
        durations = []
        for _ in range(ticks):
            m = k.next_tick()
            durations.append(m.get("kpulse_collector_duration_seconds", collector="fd"))
        p1 = progs(ours)
        n = m.samples.get(("kpulse_process_open_fds", frozenset({("name", "kpulse-fd-bench")})))
        it = [p for p in p1 if p.startswith("fd_iter")][0]
        dt, dc = p1[it][0] - p0[it][0], p1[it][1] - p0[it][1]
        durations.sort()
        print(f"fd iterator, host with one process holding {int(n)} descriptors "
              f"({dc // ticks} tasks visited per interval):")
        print(f"  BPF run time per interval: {dt / ticks / 1e3:.1f} us "
              f"({dt / max(dc, 1):.1f} ns per task)")
        print(f"  fd collector sample (iterator read + map + file-nr), median of {ticks}: "
              f"{durations[len(durations) // 2] * 1e6:.0f} us, max {durations[-1] * 1e6:.0f} us")
        # Per-syscall cost: a burst of open/close in this process.
        p0 = progs(ours)
        for _ in range(200000):
            os.close(os.open("/dev/null", os.O_RDONLY))
        p1 = progs(ours)
        for name in sorted(p1):
            dt, dc = p1[name][0] - p0[name][0], p1[name][1] - p0[name][1]
            if dc >= 1000 and not name.startswith("fd_iter") and name.startswith("fd_"):
                print(f"  {name}: {dt / dc:.1f} ns per run over {dc} runs")
        k.stop()
        empty = empty_program_cost()
        if empty is not None:
            print(f"  an empty program on sys_exit_openat (bpf_stats' own overhead): "
                  f"{empty:.1f} ns per run")
    finally:
        with open(STATS, "w") as f:
            f.write(was)


if __name__ == "__main__":
    main()
