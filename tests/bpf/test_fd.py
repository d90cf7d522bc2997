#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""fd collector against workloads whose answer is known, and against /proc/<pid>/fd."""
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from fd import FdChild  # noqa: E402
from kpulse import Kpulse, cleanup, main, need_root, test, workload  # noqa: E402
from sched import prog_ids_of  # noqa: E402

SYSCALL_FAMILIES = ("kpulse_fd_opened_total", "kpulse_fd_closed_total",
                    "kpulse_fd_open_errors_total", "kpulse_fd_opened_per_second",
                    "kpulse_fd_closed_per_second")


def real_uid(pid):
    """The real uid of @pid, the first of /proc/<pid>/status's Uid: line."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))


def unescape(v):
    """A label value as text 0.0.4 escapes it, back to the original."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def settled(k):
    """A snapshot whose whole tick started after this call (next_tick may be mid-tick)."""
    k.next_tick()
    return k.next_tick()


def by_name(m, family, name):
    """@family{name="@name"} (Metrics.get cannot take a label called name)."""
    return m.samples.get((family, frozenset({("name", name)})))


def open_fds(m, name):
    return by_name(m, "kpulse_process_open_fds", name)


@test
def child_with_500_files_matches_proc():
    """kpulse-fd-t opens K=500 files: the gauge equals /proc/<pid>/fd, then drops by 200."""
    need_root()
    name = "kpulse-fd-t"
    k = Kpulse(f"--process.watch={name}", interval="200ms")
    child = FdChild(name)
    base = child.proc_fd_count()
    assert child.cmd("open 500") == [500, 0]
    want = child.proc_fd_count()
    assert want == base + 500, f"/proc/{child.pid}/fd has {want}, expected {base} + 500"
    got = open_fds(settled(k), name)
    assert got == want, f"{name} holding {base} + 500 fds: kpulse_process_open_fds {got}, " \
                        f"/proc/{child.pid}/fd {want}"
    child.cmd("close 200")
    want = child.proc_fd_count()
    m = settled(k)  # two intervals
    got = open_fds(m, name)
    assert got == want == base + 300, \
        f"after closing 200 of {base} + 500: kpulse {got}, /proc {want} (expected {base + 300})"


@test
def watched_name_never_seen_reads_zero():
    need_root()
    k = Kpulse(f"--process.watch=kpulse-none{os.getpid() % 10000}", interval="200ms")
    m = settled(k)
    name = f"kpulse-none{os.getpid() % 10000}"
    assert open_fds(m, name) == 0, m.series("kpulse_process_open_fds")
    assert by_name(m, "kpulse_process_fd_limit_ratio", name) == 0


@test
def emfile_counted_and_limit_ratio_max():
    """A child with RLIMIT_NOFILE soft 64 tries to open 100 files: every EMFILE is counted,
    and it is the process nearest its limit (ratio 1)."""
    need_root()
    name = f"kfd-lim-{os.getpid() % 100000}"  # unique per run
    k = Kpulse("--collector.fd.syscalls", interval="200ms")
    child = FdChild(name)
    child.cmd("limit 64")
    m0 = settled(k)
    e0 = m0.get("kpulse_fd_open_errors_total", errno="EMFILE")
    assert e0 is not None, "kpulse_fd_open_errors_total{errno=\"EMFILE\"} is not exported"
    ok, failed = child.cmd("open 100")
    assert failed > 0 and ok + failed == 100, (ok, failed)
    assert child.proc_fd_count() == 64, f"/proc/{child.pid}/fd has {child.proc_fd_count()}"
    m1 = settled(k)
    d = m1.get("kpulse_fd_open_errors_total", errno="EMFILE") - e0
    assert d == failed, f"child limited to 64 fds failed {failed} of 100 opens with EMFILE; " \
                        f"kpulse_fd_open_errors_total{{errno=\"EMFILE\"}} grew by {d}"
    r = m1.get("kpulse_fd_limit_ratio_max")
    assert r == 1, f"child at 64 of 64 fds: kpulse_fd_limit_ratio_max {r}, expected 1"
    info = m1.series("kpulse_fd_limit_ratio_max_process_info")
    want = {"pid": str(child.pid), "name": name, "uid": str(real_uid(child.pid)),
            "exe": os.readlink(f"/proc/{child.pid}/exe")}
    assert info == [(want, 1)], f"kpulse_fd_limit_ratio_max_process_info {info}, expected {want}"


@test
def open_close_10000_files():
    """Opening and closing /dev/null 10 000 times raises both counters by at least 10 000."""
    need_root()
    k = Kpulse("--collector.fd.syscalls", interval="200ms")
    m0 = settled(k)
    for _ in range(10000):
        os.close(os.open("/dev/null", os.O_RDONLY))
    m1 = settled(k)
    for fam in ("kpulse_fd_opened_total", "kpulse_fd_closed_total"):
        d = m1.get(fam) - m0.get(fam)
        assert d >= 10000, f"10 000 open+close of /dev/null: {fam} grew by only {d}"
    assert m1.get("kpulse_fd_opened_per_second") is not None


def pairs_count_two(make, what):
    n = 50000
    k = Kpulse("--collector.fd.syscalls", interval="200ms")
    m0 = settled(k)
    for _ in range(n):
        a, b = make()
        os.close(a)
        os.close(b)
    m1 = settled(k)
    # Counting one descriptor per call would fall n short; background activity on this
    # machine is far below n in the few seconds this takes.
    for fam in ("kpulse_fd_opened_total", "kpulse_fd_closed_total"):
        d = m1.get(fam) - m0.get(fam)
        assert d >= 2 * n, f"{n} {what} (2 descriptors each, both closed): {fam} grew by {d}, " \
                           f"expected >= {2 * n}"


@test
def pipe_counts_two():
    need_root()
    pairs_count_two(os.pipe, "pipe()")


@test
def socketpair_counts_two():
    need_root()

    def sp():
        a, b = socket.socketpair()
        return a.detach(), b.detach()
    pairs_count_two(sp, "socketpair()")


@test
def dup_and_fcntl_count_only_what_they_create():
    """dup2 onto an open fd: 1 opened + 1 closed; dup2(fd, fd) and fcntl(F_GETFD): nothing;
    fcntl(F_DUPFD): 1 opened. n = 50 000 calls each, so a wrong count is n off."""
    need_root()
    import ctypes
    import fcntl
    libc = ctypes.CDLL(None, use_errno=True)
    n = 50000
    k = Kpulse("--collector.fd.syscalls", interval="200ms")
    a = os.open("/dev/null", os.O_RDONLY)
    b = os.open("/dev/null", os.O_RDONLY)
    try:
        def delta(fn):
            m0 = settled(k)
            for _ in range(n):
                fn()
            m1 = settled(k)
            return [m1.get(f) - m0.get(f) for f in ("kpulse_fd_opened_total",
                                                    "kpulse_fd_closed_total")]

        opened, closed = delta(lambda: libc.dup2(a, b))
        assert opened >= n and closed >= n, \
            f"{n} dup2(a, b) onto an open b: opened +{opened}, closed +{closed} (want >= {n})"
        opened, _ = delta(lambda: libc.dup2(a, a))
        assert opened < n / 2, f"{n} dup2(a, a) create nothing, yet opened grew by {opened}"
        opened, _ = delta(lambda: fcntl.fcntl(a, fcntl.F_GETFD))
        assert opened < n / 2, f"{n} fcntl(F_GETFD) create nothing, yet opened grew by {opened}"
        opened, closed = delta(lambda: os.close(fcntl.fcntl(a, fcntl.F_DUPFD, 0)))
        assert opened >= n and closed >= n, \
            f"{n} fcntl(F_DUPFD) + close: opened +{opened}, closed +{closed} (want >= {n})"
    finally:
        os.close(a)
        os.close(b)


@test
def close_range_counts_open_descriptors_only():
    """close_range(lowest, ~0U) in a child holding 15 000 fds counts 15 000; over a huge
    sparse range (100 open), only the open ones, not the range's size."""
    need_root()
    n = 15000
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert hard >= n + 500, f"RLIMIT_NOFILE hard limit {hard} leaves no room for {n} fds"
    k = Kpulse("--collector.fd.syscalls", interval="200ms")
    child = FdChild(f"kfd-cr-{os.getpid() % 100000}")
    child.cmd(f"limit {n + 500}")
    for held in (n, 100):
        assert child.cmd(f"open {held}") == [held, 0]
        m0 = settled(k)
        assert child.cmd("close_range") == [held]
        m1 = settled(k)
        d = m1.get("kpulse_fd_closed_total") - m0.get("kpulse_fd_closed_total")
        # The range reaches 2^32 - 1: counting its size instead would add ~4e9.
        assert held <= d < held + 1000000, \
            f"close_range(lowest of {held} open, ~0U): closed_total grew by {d}, " \
            f"expected {held} plus background"


@test
def threads_sharing_a_table_count_once():
    """8 threads and 300 files: the table is counted once, equal to /proc/<pid>/fd."""
    need_root()
    name = f"kfd-thr-{os.getpid() % 100000}"
    k = Kpulse(f"--process.watch={name}", interval="200ms")
    child = FdChild(name)
    base = child.proc_fd_count()
    assert child.cmd("threads 8") == [9]
    assert child.cmd("open 300") == [300, 0]
    want = child.proc_fd_count()
    assert want == base + 300, f"/proc/{child.pid}/fd has {want}, expected {base} + 300"
    assert len(os.listdir(f"/proc/{child.pid}/task")) == 9
    got = open_fds(settled(k), name)
    assert got == want, f"{name} with 9 threads and {base} + 300 fds: kpulse {got}, " \
                        f"/proc/{child.pid}/fd {want} (once per thread would be {9 * want})"


@test
def thread_with_private_table_adds_its_table():
    """A thread that unshare(CLONE_FILES)s has a table of its own: the process's gauge is
    the sum of its distinct tables, as listed under /proc/<pid>/task/<tid>/fd."""
    need_root()
    name = f"kfd-prv-{os.getpid() % 100000}"
    k = Kpulse(f"--process.watch={name}", interval="200ms")
    child = FdChild(name)
    child.cmd("threads 3")
    assert child.cmd("open 50") == [50, 0]
    leader = child.proc_fd_count()
    child.cmd("private_table 100")  # a copy of the leader's table, plus 100
    want = child.proc_fd_count_all_tables()
    assert want == 2 * leader + 100, f"/proc tables hold {want}, expected 2 * {leader} + 100"
    got = open_fds(settled(k), name)
    assert got == want, f"{name}: leader table {leader} fds, private table {leader} + 100: " \
                        f"kpulse {got}, /proc {want}"


@test
def process_whose_leader_exited_counts_its_threads_table():
    """The walk visits each process by its leader. tests/workloads/fdorphan holds 100 files,
    then its leader thread exits (a zombie without a table) and a thread lives on with the
    table: kpulse_process_open_fds still counts it, equal to /proc/<pid>/task/<tid>/fd."""
    need_root()
    name = f"kfd-orph-{os.getpid() % 100000}"
    k = Kpulse(f"--process.watch={name}", interval="200ms")
    p = subprocess.Popen([workload("fdorphan"), name, "100"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, close_fds=True)
    cleanup(lambda: (p.stdin.close(), p.wait()))
    line = p.stdout.readline().split()
    assert line[:1] == ["ready"], f"fdorphan did not start: {line}"
    pid, tid = int(line[1]), int(line[2])
    with open(f"/proc/{pid}/stat") as f:
        state = f.read().rsplit(")", 1)[1].split()[0]
    assert state == "Z", f"fdorphan's leader {pid} is in state {state}, not a zombie"
    want = len(os.listdir(f"/proc/{pid}/task/{tid}/fd"))
    assert want >= 100, f"/proc/{pid}/task/{tid}/fd has {want}"
    got = open_fds(settled(k), name)
    assert got == want, f"{name}, leader exited, thread {tid} holding {want} fds: " \
                        f"kpulse_process_open_fds {got}, /proc/{pid}/task/{tid}/fd {want}"


@test
def counters_continue_across_restart():
    """fd_stats is pinned under --bpf.pin-path: a restart does not reset the counters."""
    need_root()
    k = Kpulse("--collector.fd.syscalls", interval="200ms")
    for _ in range(1000):
        os.close(os.open("/dev/null", os.O_RDONLY))
    before = settled(k)
    assert k.stop(keep_pins=True) == 0
    assert os.path.exists(f"{k.pin_path}/fd_stats"), "fd_stats is not pinned"
    k2 = Kpulse("--collector.fd.syscalls", interval="200ms", pin_path=k.pin_path)
    after = k2.next_tick()
    for fam in ("kpulse_fd_opened_total", "kpulse_fd_closed_total"):
        assert after.get(fam) >= before.get(fam) >= 1000, \
            f"{fam} went from {before.get(fam)} to {after.get(fam)} across a restart"


@test
def file_nr_matches_proc():
    need_root()
    k = Kpulse(interval="200ms")
    m = settled(k)
    with open("/proc/sys/fs/file-nr") as f:
        alloc, _, maximum = map(int, f.read().split())
    assert m.get("kpulse_fd_maximum") == maximum, (m.get("kpulse_fd_maximum"), maximum)
    got = m.get("kpulse_fd_allocated")
    assert got is not None and abs(got - alloc) <= 0.2 * alloc + 200, \
        f"kpulse_fd_allocated {got}, /proc/sys/fs/file-nr {alloc} a moment later"


@test
def malformed_file_nr_is_absent():
    """A procfs whose file-nr is garbage: no allocated/maximum series, the rest still works."""
    need_root()
    import tempfile
    d = tempfile.mkdtemp(prefix=f"kpulse-fd-{os.getpid()}-")
    os.chmod(d, 0o755)  # kpulse reads it after dropping root (--run-as)
    os.makedirs(f"{d}/sys/fs")
    with open(f"{d}/sys/fs/file-nr", "w") as f:
        f.write("1024\tx\t9999\n")
    try:
        k = Kpulse("--collector.fd.syscalls", f"--path.procfs={d}", interval="200ms")
        m = settled(k)
        assert m.get("kpulse_fd_allocated") is None and m.get("kpulse_fd_maximum") is None
        assert m.get("kpulse_fd_opened_total") is not None
        assert "sys/fs/file-nr: unexpected content" in k.output(), k.output()
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


def perf_tracepoints(pid):
    """Tracepoints @pid has BPF programs on through perf events, from bpftool perf list
    (the kernel's own answer, BPF_TASK_FD_QUERY on each of its descriptors)."""
    out = subprocess.run(["bpftool", "-j", "perf", "list"], capture_output=True, text=True,
                         check=True).stdout
    return sorted(e["tracepoint"] for e in json.loads(out or "[]")
                  if e.get("pid") == pid and e.get("fd_type") == "tracepoint")


def prog_names(pid):
    """Names of the BPF programs @pid holds."""
    names = []
    for i in prog_ids_of(pid):
        out = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(i)],
                             capture_output=True, text=True)
        if out.returncode == 0:
            names.append(json.loads(out.stdout)["name"])
    return names


@test
def no_syscall_tracepoint_by_default():
    """Default flags: no BPF program of kpulse sits on a syscalls:* tracepoint (bpftool perf
    list), no fd syscall program is even loaded, no syscall counter is exported, and the
    per-process gauges still are. --collector.fd.syscalls then attaches them (about 50 on
    this kernel) and exports the counters: so this check can see them when they are there."""
    need_root()
    k = Kpulse(interval="200ms")
    m = settled(k)
    tps = perf_tracepoints(k.proc.pid)
    assert not [t for t in tps if t.startswith(("sys_enter_", "sys_exit_"))], \
        f"default kpulse (pid {k.proc.pid}) has programs on syscall tracepoints: {tps}"
    names = prog_names(k.proc.pid)
    assert "fd_walk" in names, f"fd_walk is not loaded: {names}"
    loaded = [n for n in names if n.startswith(("fd_x_", "fd_e_"))]
    assert not loaded, f"default kpulse loaded fd syscall programs: {loaded}"
    present = [f for f in SYSCALL_FAMILIES if any(key[0] == f for key in m.samples)]
    assert not present, f"default kpulse exports syscall counters: {present}"
    assert m.get("kpulse_fd_limit_ratio_max") is not None
    assert m.get("kpulse_collector_up", collector="fd") == 1
    k.stop()

    k = Kpulse("--collector.fd.syscalls", interval="200ms")
    m = settled(k)
    tps = [t for t in perf_tracepoints(k.proc.pid) if t.startswith(("sys_enter_", "sys_exit_"))]
    assert len(tps) >= 30 and "sys_exit_openat" in tps and "sys_exit_close" in tps, \
        f"with --collector.fd.syscalls, kpulse's syscall tracepoints: {tps}"
    missing = [f for f in ("kpulse_fd_opened_total", "kpulse_fd_closed_total")
               if m.get(f) is None]
    assert not missing, f"with --collector.fd.syscalls, {missing} are not exported"


def hold(name, n, limit=None, user=None, exe=None):
    """A tests/workloads/fdhold process named @name holding @n descriptors of /dev/null,
    its soft RLIMIT_NOFILE set to @limit after, running as @user, from @exe (a copy of
    fdhold elsewhere). Its pid, once ready; it exits at cleanup."""
    def drop():
        if user is not None:
            os.setgroups([])
            os.setgid(user)
            os.setuid(user)
    args = [exe or workload("fdhold"), name, str(n)] + ([str(limit)] if limit else [])
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         preexec_fn=drop, close_fds=True)
    cleanup(lambda: (p.stdin.close(), p.wait()))
    line = p.stdout.readline().split()
    assert line and line[0] == "ready", f"fdhold {args} did not start: {line}"
    return p.pid


@test
def top_process_says_who_it_is():
    """Any user can call a process "postgres" and bring it near its limit. A process of
    uid 65534 named postgres, holding 40 descriptors under a soft limit lowered to 20
    (ratio 2, above any honest process), run from a directory whose name holds a quote, a
    backslash and a newline: kpulse_fd_limit_ratio_max_process_info names its pid, its real uid
    and its executable's path (as /proc/<pid>/exe does; escaped, and recovered whole)."""
    need_root()
    d = tempfile.mkdtemp(prefix='kpulse-fd-"odd\\dir\n-')
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    os.chmod(d, 0o755)
    exe = os.path.join(d, "postgres")
    shutil.copy(workload("fdhold"), exe)
    k = Kpulse(interval="200ms")
    pid = hold("postgres", 40, limit=20, user=65534, exe=exe)
    base = len(os.listdir(f"/proc/{pid}/fd"))
    m = settled(k)
    r = m.get("kpulse_fd_limit_ratio_max")
    assert r == base / 20, f"postgres (uid 65534) at {base} of 20: ratio_max {r}"
    info = m.series("kpulse_fd_limit_ratio_max_process_info")
    assert len(info) == 1, info
    got = info[0][0]
    want = {"pid": str(pid), "name": "postgres", "uid": "65534",
            "exe": os.readlink(f"/proc/{pid}/exe")}
    assert {**got, "exe": unescape(got["exe"])} == want, \
        f"kpulse_fd_limit_ratio_max_process_info {got}, expected {want}"
    assert "\n" not in m.text.split("kpulse_fd_limit_ratio_max_process_info{")[1].split("}")[0]


def sleepers(n, name, high_fd=None):
    """tests/workloads/sleepers: @n processes named @name, each with descriptor @high_fd
    open too (inherited), so its table is bigger than the 64 built into files_struct."""
    keep = ()
    if high_fd is not None:
        fd = os.open("/dev/null", os.O_RDONLY)
        os.dup2(fd, high_fd)
        os.close(fd)
        keep = (high_fd,)
    p = subprocess.Popen([workload("sleepers"), str(n), "0", name], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, pass_fds=keep)
    if high_fd is not None:
        os.close(high_fd)
    cleanup(lambda: (p.stdin.close(), p.wait()))
    line = p.stdout.readline()
    assert line.startswith("ready"), f"sleepers {n} {name}: {line!r}"


def proc_fds_by_name(name):
    """(sum of open descriptors, highest open/soft-limit) over the processes named @name,
    from /proc/<pid>/fd and /proc/<pid>/limits."""
    total, ratio = 0, 0.0
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().rstrip("\n") != name:
                    continue
            n = len(os.listdir(f"/proc/{pid}/fd"))
            with open(f"/proc/{pid}/limits") as f:
                soft = int(re.search(r"^Max open files\s+(\d+)", f.read(), re.M).group(1))
        except (OSError, ValueError):
            continue
        total += n
        ratio = max(ratio, n / soft)
    return total, ratio


@test
def thousands_of_processes_add_up_by_name():
    """2 000 processes with the small built-in table, 1 000 with a 128-slot one and 200 with
    a 512-slot one (the three ways the walk counts a table), three names: each name's
    kpulse_process_open_fds equals the sum of /proc/<pid>/fd over its processes, and its
    kpulse_process_fd_limit_ratio the highest open/limit among them."""
    need_root()
    tag = os.getpid() % 100000
    groups = [(2000, f"kfs-s-{tag}", None), (1000, f"kfs-m-{tag}", 100),
              (200, f"kfs-l-{tag}", 300)]
    for n, name, high in groups:
        sleepers(n, name, high)
    k = Kpulse("--process.watch=" + ",".join(g[1] for g in groups), interval="500ms")
    m = settled(k)
    for n, name, _ in groups:
        want, ratio = proc_fds_by_name(name)
        got = open_fds(m, name)
        assert got == want, f"{n} processes named {name}: kpulse_process_open_fds {got}, " \
                            f"/proc/<pid>/fd summed {want}"
        got = by_name(m, "kpulse_process_fd_limit_ratio", name)
        assert got == ratio, f"{name}: kpulse_process_fd_limit_ratio {got}, /proc {ratio}"


@test
def names_that_come_and_go_keep_their_room():
    """Three rounds of 3 000 processes, each with a name of its own (kfc<round>-<tag>-<i>),
    one round after the other: 9 000 names in all, more than the walk's 8 192. The names of
    rounds gone are pruned from the walk's table (not at every walk, see prune_names), so
    no name of a later round is refused ("more than 8192 process names" is never logged),
    and a watched name of each round reads its descriptors, equal to /proc/<pid>/fd."""
    need_root()
    tag = os.getpid() % 1000
    rounds = [f"kfc{r}-{tag}-" for r in range(3)]
    k = Kpulse("--process.watch=" + ",".join(r + "7" for r in rounds), interval="500ms")
    for r, prefix in enumerate(rounds):
        p = subprocess.Popen([workload("sleepers"), "3000", "0", prefix + "#"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        cleanup(lambda p=p: (p.stdin.close(), p.wait()))
        line = p.stdout.readline()
        assert line.startswith("ready"), f"sleepers 3000 {prefix}#: {line!r}"
        m = settled(k)
        want, _ = proc_fds_by_name(prefix + "7")
        got = open_fds(m, prefix + "7")
        assert want > 0 and got == want, \
            f"round {r}: kpulse_process_open_fds{{name={prefix}7}} {got}, /proc {want}"
        p.stdin.close()
        p.wait()
    settled(k)
    assert "process names" not in k.output(), k.output()


if __name__ == "__main__":
    main("bpf-fd")
