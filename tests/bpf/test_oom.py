#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""oom collector against a workload whose answer is known: one process in a memory-limited
cgroup allocates past its limit and is the one victim of that cgroup's OOM killer."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import Kpulse, main, need_root, only_collectors, test  # noqa: E402
from oom import oom_victim  # noqa: E402

PID = os.getpid()


@test
def a_memory_hog_in_a_limited_cgroup_is_its_one_victim():
    """A python3 process in v2 cgroup /kpulse-oom-<pid>/victim, limited to 64 MiB (v1
    memory controller on this hybrid host), builds a 512 MiB string: the OOM killer kills
    it (SIGKILL) and nothing else there. Both cgroups are removed before kpulse's next
    tick, as a container's would be. Then kpulse_cgroup_oom_kills_total{cgroup=that path}
    grew by exactly 1 (from nothing), the last-victim info names its pid, comm python3 and
    that cgroup, and the kernel's own oom_kill (vmstat) and kpulse_oom_victims_total grew
    by at least 1."""
    need_root()
    top = f"/kpulse-oom-{PID}"
    cg = top + "/victim"
    k = Kpulse(*only_collectors("oom", "vmstat"), interval="200ms")
    m0 = k.next_tick()
    assert m0.get("kpulse_cgroup_oom_kills_total", cgroup=cg) is None, \
        f"{cg} has OOM kills before the test: {m0.series('kpulse_cgroup_oom_kills_total')}"
    victims0 = m0.get("kpulse_oom_victims_total")
    vm0 = m0.get("kpulse_oom_kills_total")
    pid = oom_victim(top, "victim")
    k.next_tick()
    m = k.next_tick()
    kills = m.get("kpulse_cgroup_oom_kills_total", cgroup=cg)
    info = [lab for lab, v in m.series("kpulse_oom_last_victim_info")]
    print(f"  hog pid {pid}: kpulse_cgroup_oom_kills_total{{cgroup={cg}}} {kills}; "
          f"last victim {info}; victims +{m.get('kpulse_oom_victims_total') - victims0:.0f}, "
          f"vmstat oom_kill +{m.get('kpulse_oom_kills_total') - vm0:.0f}")
    assert kills == 1, f"kpulse_cgroup_oom_kills_total{{cgroup={cg!r}}} is {kills}, want 1: " \
        f"{m.series('kpulse_cgroup_oom_kills_total')}"
    assert info == [{"pid": str(pid), "comm": "python3", "cgroup": cg}], \
        f"kpulse_oom_last_victim_info {info}, want pid {pid}, comm python3, cgroup {cg}"
    assert m.get("kpulse_oom_victims_total") - victims0 >= 1
    assert m.get("kpulse_oom_kills_total") - vm0 >= 1, "/proc/vmstat oom_kill did not grow"
    ts = m.get("kpulse_oom_last_victim_timestamp_seconds")
    assert ts is not None and abs(ts - time.time()) < 10, \
        f"last victim timestamp {ts}, now {time.time()}"


def escaped(v):
    """@v as the exposition writes a label value (what tests/lib's Metrics keeps)."""
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@test
def victim_names_from_the_kernel_are_bounded_and_escaped():
    """A victim named hog"\\x (prctl) in a cgroup whose name has a quote, a backslash and
    90 more bytes: the info series carries both escaped, the cgroup name cut to the 63
    bytes the kernel record keeps; the per-cgroup counter uses the same cut path."""
    need_root()
    top = f"/kpulse-oom2-{PID}"
    name = 'q"uo\\te' + "x" * 90
    k = Kpulse(*only_collectors("oom"), interval="200ms")
    k.next_tick()
    code = ("import ctypes; ctypes.CDLL(None).prctl(15, b'hog\"\\\\x', 0, 0, 0); "
            "b = b'x' * (512 << 20)")
    pid = oom_victim(top, name, code)
    k.next_tick()
    m = k.next_tick()
    cut = top + "/" + name[:63]
    info = [lab for lab, v in m.series("kpulse_oom_last_victim_info")]
    want = {"pid": str(pid), "comm": escaped('hog"\\x'), "cgroup": escaped(cut)}
    assert info == [want], f"kpulse_oom_last_victim_info {info}, want {want}"
    assert m.get("kpulse_cgroup_oom_kills_total", cgroup=escaped(cut)) == 1, \
        f"no kill counted for {cut!r}: {m.series('kpulse_cgroup_oom_kills_total')}"


if __name__ == "__main__":
    main("oom")
