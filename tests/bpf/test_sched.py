#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""sched collector against workloads whose answer is known, and against /proc/stat."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import (Kpulse, bpf_prog_ids, busy_loop, main, need_root,  # noqa: E402
                    online_cpus, test, wait_for)

USER_HZ = os.sysconf("SC_CLK_TCK")


def proc_stat_nonidle_seconds():
    """user+nice+system+irq+softirq+steal of all CPUs, in seconds (the kernel's accounting)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    assert fields[0] == "cpu"
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / USER_HZ


@test
def busy_loop_pinned_reads_fully_busy():
    """A busy loop pinned to one CPU for 5 s: every sample inside it reads >= 0.95."""
    need_root()
    cpu = online_cpus()[-1]
    k = Kpulse(interval="1s")
    t0 = time.monotonic()
    busy_loop(cpu)
    inside = []
    while time.monotonic() - t0 < 5.0:
        now = time.monotonic()
        m = k.scrape()
        # A snapshot seen at `now` covers an interval inside (now - 2 s, now]: count it only
        # when that whole window lies inside the busy period.
        if now - 2.0 >= t0:
            inside.append(m.get("kpulse_cpu_busy_ratio", cpu=str(cpu)))
        time.sleep(0.2)
    assert len(inside) >= 5, f"only {len(inside)} samples inside the busy period"
    low = [r for r in inside if r is None or r < 0.95]
    assert not low, f"busy loop on cpu {cpu}: kpulse_cpu_busy_ratio samples {inside} (want all >= 0.95)"


@test
def idle_cpu_is_not_busy():
    """With the other CPUs left alone, the all-CPU ratio stays well below 1."""
    need_root()
    k = Kpulse(interval="1s")
    k.next_tick()
    m = k.next_tick()
    ratios = [v for _, v in m.series("kpulse_cpu_busy_ratio")]
    assert len(ratios) == len(online_cpus()), f"one ratio per online CPU, got {ratios}"
    assert all(0 <= r <= 1 for r in ratios), ratios
    assert m.get("kpulse_cpu_busy_ratio_all") < 0.9, m.get("kpulse_cpu_busy_ratio_all")


@test
def busy_seconds_agree_with_proc_stat():
    """Sum over CPUs of busy seconds grows like /proc/stat's non-idle time (within 5%)."""
    need_root()
    k = Kpulse(interval="100ms")
    # Read both right after a fresh tick so they describe the same instant (a few ms apart).
    m0 = k.next_tick()
    s0 = proc_stat_nonidle_seconds()
    busy_loop(online_cpus()[-1])
    time.sleep(4)
    m1 = k.next_tick()
    s1 = proc_stat_nonidle_seconds()
    kp = m1.sum("kpulse_cpu_busy_seconds_total") - m0.sum("kpulse_cpu_busy_seconds_total")
    ps = s1 - s0
    assert ps > 3.5, f"/proc/stat non-idle grew only {ps:.2f}s during a 4 s busy loop"
    assert abs(kp - ps) <= 0.05 * ps, \
        f"kpulse busy seconds grew {kp:.3f}s, /proc/stat non-idle {ps:.3f}s (more than 5% apart)"


@test
def context_switches_count():
    """Context switch counters only grow, and grow when tasks switch."""
    need_root()
    k = Kpulse(interval="100ms")
    m0 = k.next_tick()
    for _ in range(200):
        time.sleep(0.001)  # each sleep is at least two switches on this CPU
    m1 = k.next_tick()
    d = m1.sum("kpulse_sched_context_switches_total") - m0.sum("kpulse_sched_context_switches_total")
    assert d >= 400, f"200 sleeps made only {d} context switches"
    for labels, v in m1.series("kpulse_sched_context_switches_total"):
        assert v >= m0.get("kpulse_sched_context_switches_total", **labels), labels


@test
def counters_continue_across_restart():
    """Maps pinned under --bpf.pin-path are reused: a restart does not reset counters."""
    need_root()
    k = Kpulse(interval="100ms")
    before = k.next_tick()
    assert k.stop(keep_pins=True) == 0
    assert os.path.exists(f"{k.pin_path}/sched_cpu"), "sched_cpu is not pinned"
    k2 = Kpulse(interval="100ms", pin_path=k.pin_path)
    after = k2.next_tick()
    for labels, v in before.series("kpulse_cpu_busy_seconds_total"):
        a = after.get("kpulse_cpu_busy_seconds_total", **labels)
        assert a >= v, f"cpu {labels}: busy seconds went from {v} to {a} across a restart"
    for labels, v in before.series("kpulse_sched_context_switches_total"):
        a = after.get("kpulse_sched_context_switches_total", **labels)
        assert a >= v, f"cpu {labels}: switches went from {v} to {a} across a restart"


@test
def clean_shutdown_detaches_everything():
    """SIGTERM and SIGINT: exit 0 and no kpulse program left in the kernel."""
    need_root()
    import signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        before = bpf_prog_ids({"sched_switch_btf", "sched_switch_raw", "sched_flush"})
        k = Kpulse()
        ours = bpf_prog_ids({"sched_switch_btf", "sched_switch_raw", "sched_flush"}) - before
        assert len(ours) == 2, f"expected 2 programs loaded (switch + flush), found {ours}"
        rc = k.stop(sig)
        assert rc == 0, f"kpulse exited {rc} on {sig!r}: {k.output()}"
        # The kernel frees programs asynchronously after the last reference is gone.
        left = wait_for(lambda: not (ours & bpf_prog_ids(
            {"sched_switch_btf", "sched_switch_raw", "sched_flush"}))) or ours
        assert left is True, f"programs {left} still loaded 5 s after {sig!r}"


if __name__ == "__main__":
    main("bpf-sched")
