#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pressure and vmstat collectors against the kernel's own files and workloads whose answer is
known: three busy loops sharing one CPU in one cgroup, major faults a process counts itself."""
import mmap
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import (Kpulse, cleanup, main, need_root, online_cpus, only_collectors,  # noqa: E402
                    spawn, test)
from sched import make_cgroup, move_to_cgroup  # noqa: E402

PID = os.getpid()
PAGE = os.sysconf("SC_PAGE_SIZE")


def psi_total(path, kind):
    """total= of the @kind line of a pressure file, in seconds (the kernel writes µs)."""
    with open(path) as f:
        for line in f:
            fields = line.split()
            if fields[0] == kind:
                return int(fields[-1].split("=")[1]) / 1e6
    raise AssertionError(f"no {kind} line in {path}")


def spinner(cpu, cgroup):
    """A child that joins @cgroup, pins itself to @cpu and spins until killed."""
    r, w = os.pipe()

    def run():
        os.close(w)
        os.read(r, 1)  # wait until the parent moved us
        os.sched_setaffinity(0, {cpu})
        while True:
            pass
    pid = spawn(run)
    os.close(r)
    move_to_cgroup(pid, cgroup)
    os.write(w, b"x")
    os.close(w)
    return pid


def sleeper(cgroup):
    def run():
        while True:
            time.sleep(3600)
    pid = spawn(run)
    move_to_cgroup(pid, cgroup)
    return pid


@test
def host_pressure_matches_proc_pressure():
    """Every host total lies between the kernel's /proc/pressure readings just before and
    just after the tick that read it (the file is read live; nothing is made up)."""
    need_root()
    k = Kpulse(*only_collectors("pressure"), interval="200ms")
    k.next_tick()
    for res in ("cpu", "memory", "io"):
        for kind in ("some", "full"):
            before = psi_total(f"/proc/pressure/{res}", kind)
            m = k.next_tick()
            after = psi_total(f"/proc/pressure/{res}", kind)
            got = m.get("kpulse_pressure_stalled_seconds_total", resource=res, kind=kind)
            assert got is not None and before - 1e-6 <= got <= after + 1e-6, \
                f"{res} {kind}: kpulse {got} s, /proc/pressure/{res} {before} s before the " \
                f"tick and {after} s after"
            r = m.get("kpulse_pressure_stalled_ratio", resource=res, kind=kind)
            assert r is not None and 0 <= r <= 1, f"{res} {kind} ratio {r}"
    irq = os.path.exists("/proc/pressure/irq")
    assert (m.get("kpulse_pressure_stalled_seconds_total", resource="irq",
                  kind="some") is not None) == irq, \
        f"/proc/pressure/irq {'exists' if irq else 'is absent'}; kpulse's irq series must follow"


@test
def three_spinners_on_one_cpu_stall_their_cgroup():
    """Three busy loops pinned to one CPU in one cgroup: at every instant one runs and two
    wait, so the cgroup's CPU "some" stall grows 1 s per second (the kernel's PSI weights
    each CPU by the cgroup's non-idle time on it, and only this CPU has any); kpulse must see
    0.85..1.0 s/s, matching the cgroup's own cpu.pressure, while an idle sibling stays
    under 0.02 s/s."""
    need_root()
    top = f"/kpulse-psi-{PID}"
    busy, idle = top + "/busy", top + "/idle"
    make_cgroup(top)
    full_busy = make_cgroup(busy)
    make_cgroup(idle)
    cpu = online_cpus()[-1]
    for _ in range(3):
        spinner(cpu, busy)
    sleeper(idle)
    k = Kpulse(*only_collectors("pressure"), interval="1s")
    k.next_tick()
    m0 = k.next_tick()
    t0 = time.monotonic()
    time.sleep(3)
    m1 = k.next_tick()
    t1 = time.monotonic()
    kern = psi_total(full_busy + "/cpu.pressure", "some")

    def total(m, cg):
        v = m.get("kpulse_cgroup_pressure_stalled_seconds_total", cgroup=cg, resource="cpu",
                  kind="some")
        assert v is not None, f"no CPU some pressure for {cg}: {m.series('kpulse_cgroup_pressure_stalled_seconds_total')[:5]}"
        return v
    b0, b1 = total(m0, busy), total(m1, busy)
    i0, i1 = total(m0, idle), total(m1, idle)
    # The two ticks are 3..5 s apart; measure per second of the ticks' own spacing: the
    # snapshots were seen within a few ms of publication, so t1 - t0 is good to ~1%.
    rate = (b1 - b0) / (t1 - t0 + 0.0)
    print(f"  {busy}: some grew {b1 - b0:.3f} s in {t1 - t0:.3f} s ({rate:.3f} s/s); "
          f"{idle}: {i1 - i0:.4f} s; kernel's file now {kern:.3f} s")
    assert 0.85 <= rate <= 1.05, \
        f"{busy} CPU some pressure grew {rate:.3f} s/s, want ~1 (3 spinners on one CPU)"
    assert i1 - i0 <= 0.02 * (t1 - t0), f"idle sibling {idle} stalled {i1 - i0:.3f} s"
    assert b1 <= kern + 1e-6, f"kpulse {b1} s is ahead of the kernel's cpu.pressure {kern} s"
    r = m1.get("kpulse_cgroup_pressure_stalled_ratio", cgroup=busy, resource="cpu", kind="some")
    assert r is not None and r >= 0.85, f"{busy} CPU some ratio {r}, want >= 0.85"
    ri = m1.get("kpulse_cgroup_pressure_stalled_ratio", cgroup=idle, resource="cpu", kind="some")
    assert ri is not None and ri <= 0.02, f"{idle} CPU some ratio {ri}, want <= 0.02"


def vmstat():
    with open("/proc/vmstat") as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


VMSTAT_FAMILIES = {
    "pgfault": ("kpulse_memory_page_faults_total", {}, 1),
    "pgmajfault": ("kpulse_memory_major_faults_total", {}, 1),
    "pswpin": ("kpulse_memory_swap_in_bytes_total", {}, PAGE),
    "pswpout": ("kpulse_memory_swap_out_bytes_total", {}, PAGE),
    "pgscan_direct": ("kpulse_memory_reclaim_scanned_pages_total", {"by": "direct"}, 1),
    "pgscan_kswapd": ("kpulse_memory_reclaim_scanned_pages_total", {"by": "kswapd"}, 1),
    "pgsteal_direct": ("kpulse_memory_reclaim_stolen_pages_total", {"by": "direct"}, 1),
    "pgsteal_kswapd": ("kpulse_memory_reclaim_stolen_pages_total", {"by": "kswapd"}, 1),
    "workingset_refault_anon": ("kpulse_memory_workingset_refaults_total", {"type": "anon"}, 1),
    "workingset_refault_file": ("kpulse_memory_workingset_refaults_total", {"type": "file"}, 1),
    "oom_kill": ("kpulse_oom_kills_total", {}, 1),
}


def majflt(pid):
    """Major faults of @pid, from /proc/<pid>/stat (field 12), the process's own count."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[9])


@test
def vmstat_counters_match_proc_vmstat_and_major_faults():
    """Each counter lies between /proc/vmstat read before and after the tick; a process
    that faults in 512 pages of a file evicted from the page cache, with read-ahead off
    (MADV_RANDOM), counts 512 major faults in its own /proc/<pid>/stat, and the host
    counter grows by at least that much over the same ticks."""
    need_root()
    k = Kpulse(*only_collectors("vmstat"), interval="200ms")
    k.next_tick()
    before = vmstat()
    m = k.next_tick()
    after = vmstat()
    for key, (fam, labels, scale) in VMSTAT_FAMILIES.items():
        if key not in before:
            continue
        got = m.get(fam, **labels)
        assert got is not None and before[key] * scale <= got <= after[key] * scale, \
            f"{fam}{labels}: kpulse {got}, /proc/vmstat {key} x {scale}: " \
            f"{before[key] * scale} before the tick, {after[key] * scale} after"

    npages = 512
    path = f"/var/tmp/kpulse-majflt-{PID}"
    with open(path, "wb") as f:
        f.write(b"\x5a" * npages * PAGE)
        f.flush()
        os.fsync(f.fileno())
    cleanup(lambda: os.unlink(path))
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()

    def fault_in():
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # clean pages: evicted now
        mm = mmap.mmap(fd, npages * PAGE, prot=mmap.PROT_READ)
        mm.madvise(mmap.MADV_RANDOM)  # one page per fault, no read-around
        os.write(done_w, b"r")
        os.read(go_r, 1)
        for i in range(npages):
            mm[i * PAGE]
        os.write(done_w, b"x")
        time.sleep(3600)
    pid = spawn(fault_in)
    os.read(done_r, 1)
    m0 = k.next_tick()
    f0 = majflt(pid)
    os.write(go_w, b"x")
    os.read(done_r, 1)
    f1 = majflt(pid)
    m1 = k.next_tick()
    own = f1 - f0
    host = m1.get("kpulse_memory_major_faults_total") - m0.get("kpulse_memory_major_faults_total")
    print(f"  the workload's own major faults: {own}; kpulse_memory_major_faults_total +{host:.0f}")
    assert own == npages, f"the workload counted {own} major faults, want {npages} " \
        "(was the file still cached?)"
    assert host >= own, f"kpulse_memory_major_faults_total grew {host}, less than the {own} " \
        "major faults one process counted itself"


if __name__ == "__main__":
    main("pressure")
