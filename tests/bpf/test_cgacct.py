#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The cgroup ledger (src/cgacct.c) under churn, through both collectors that use it: the
per-cgroup CPU time of sched and the per-cgroup socket bytes of net."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import Kpulse, cgroup2_mount, cleanup, main, need_root, script, test  # noqa: E402

N = 2000
COUNTERS = ("kpulse_cgroup_cpu_seconds_total", "kpulse_cgroup_network_transmit_bytes_total",
            "kpulse_cgroup_network_receive_bytes_total")
FAMILIES = COUNTERS + ("kpulse_cgroup_cpu_ratio",)

# Moves itself through <mount><parent>/c0 .. c<n-1>; in each it sends and receives one UDP
# datagram on lo (socket bytes of that cgroup) and sleeps 0.5 ms (a context switch, so CPU
# time is charged there), then returns to the cgroup it started in.
CHURN = script("cgroup_churn")


def labels(m, family):
    return {lab["cgroup"] for lab, _ in m.series(family)}


def usage_usec(path):
    """The kernel's CPU time of cgroup @path in µs (cgroup v2 cpu.stat, no controller needed)."""
    with open(path + "/cpu.stat") as f:
        return int(dict(line.split() for line in f)["usage_usec"])


def backwards(scrapes):
    """Every counter series that went down between two consecutive scrapes."""
    bad = []
    for a, b in zip(scrapes, scrapes[1:]):
        for fam in COUNTERS:
            old = {lab["cgroup"]: v for lab, v in a.series(fam)}
            for lab, v in b.series(fam):
                if lab["cgroup"] in old and v < old[lab["cgroup"]]:
                    bad.append((fam, lab["cgroup"], old[lab["cgroup"]], v))
    return bad


@test
def churn_of_2000_cgroups_returns_to_baseline():
    """2 000 cgroups, each charged CPU time and UDP bytes by a task passing through, then
    removed: every family's `cgroup` label values (sched's CPU seconds and ratio, net's
    transmit and receive bytes) rise by 2 000 and return to their baseline within two
    intervals of the removal, and no counter ever goes backwards."""
    need_root()
    mount = cgroup2_mount()
    parent = f"/kpchurn{os.getpid()}"
    os.mkdir(mount + parent)

    def remove_all():
        for i in range(N):
            if os.path.isdir(f"{mount}{parent}/c{i}"):
                os.rmdir(f"{mount}{parent}/c{i}")
        if os.path.isdir(mount + parent):
            os.rmdir(mount + parent)
    cleanup(remove_all)
    for i in range(N):
        os.mkdir(f"{mount}{parent}/c{i}")
    k = Kpulse("--collector.net.cgroups", interval="500ms")
    scrapes = [k.next_tick(), k.next_tick()]  # the second has ratios too
    base = {fam: labels(scrapes[-1], fam) for fam in FAMILIES}
    subprocess.run([sys.executable, CHURN, mount, parent, str(N)], check=True,
                   timeout=120)
    # Charged time shows in the map at the tick after; a ratio needs one tick more.
    scrapes += [k.next_tick(), k.next_tick(), k.next_tick()]
    for fam in FAMILIES:
        churned = {c for c in labels(scrapes[-1], fam) if c.startswith(parent + "/")}
        # The kernel's witness: every cgroup's own cpu.stat usage_usec (update_curr()
        # charges it with the runtime kpulse reads), so a missing label is kpulse's loss.
        missing = sorted(set(f"{parent}/c{i}" for i in range(N)) - churned)[:5]
        assert len(churned) == N, \
            f"{N} cgroups each charged by a task: {fam} has {len(churned)} of their labels; " \
            f"missing (cpu.stat usage_usec): " \
            f"{[(c, usage_usec(mount + c)) for c in missing]}"
    t0 = time.monotonic()
    remove_all()
    removal_s = time.monotonic() - t0
    scrapes += [k.next_tick(), k.next_tick()]
    for fam in FAMILIES:
        now = labels(scrapes[-1], fam)
        assert len(now) == len(base[fam]), \
            f"{fam}: {len(base[fam])} cgroup labels before, {len(now)} two intervals after " \
            f"removing {N} cgroups (in {removal_s:.1f} s); extra {sorted(now - base[fam])[:5]}, " \
            f"missing {sorted(base[fam] - now)[:5]}"
    bad = backwards(scrapes)
    assert not bad, f"counters went backwards during the churn: {bad[:5]}"
    print(f"  {N} cgroups: labels back to baseline "
          f"{ {fam: len(base[fam]) for fam in FAMILIES} }, removal took {removal_s:.1f} s")


if __name__ == "__main__":
    main("bpf-cgacct")
