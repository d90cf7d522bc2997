# SPDX-License-Identifier: GPL-2.0
"""Helpers for the sched collector's tests: histograms, cgroup v2 scratch cgroups, named
processes."""
import ctypes
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time

from kpulse import cgroup2_mount, cleanup, kill, spawn, wait_for  # noqa: F401 - re-exported to the sched tests

RQ = "kpulse_sched_runqueue_latency_seconds"
USER_HZ = os.sysconf("SC_CLK_TCK")


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


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def workload(name):
    """Path of the compiled workload tests/workloads/<name>.c (built here if missing)."""
    path = os.path.join(ROOT, ".output", "workloads", name)
    if not os.path.exists(path):
        subprocess.run(["make", "-s", "-C", ROOT, f".output/workloads/{name}"], check=True)
    return path


def start_workload(name, *args, cgroup=None, cpus=None):
    """Run the workload @name with @args in the background, in a process group of its own
    (killed with its children at cleanup), pinned to @cpus if given; returns its pid.

    With @cgroup (a v2 path like "/kpulse-test-1/a") it is moved there while it sleeps,
    before exec: a task moved while it runs would take the rest of its current run on the
    CPU along, which the kernel's cpu.stat (charged at each update_curr()) and kpulse
    (charged at each switch) split at different points."""
    path = workload(name)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            os.setpgid(0, 0)
            if cpus is not None:
                os.sched_setaffinity(0, cpus)
            os.read(r, 1)
            os.execv(path, [path, *map(str, args)])
        finally:
            os._exit(127)
    os.close(r)

    def stop():
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    cleanup(stop)
    if cgroup:
        def asleep():
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rpartition(")")[2].split()[0]
            with open(f"/proc/{pid}/wchan") as f:
                return state == "S" and "pipe_read" in f.read()
        assert wait_for(asleep), f"workload {name} (pid {pid}) never blocked on its start pipe"
        move_to_cgroup(pid, cgroup)
    os.write(w, b"x")
    os.close(w)
    return pid


def stop_workload(pid):
    """SIGKILL a workload started with start_workload() and everything it forked."""
    try:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def wait_workload(pid, timeout=120):
    """Wait for a workload started with start_workload() to finish; assert it exited 0."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, \
                f"workload pid {pid} ended with status {status:#x}"
            return
        time.sleep(0.05)
    raise AssertionError(f"workload pid {pid} still running after {timeout} s")


def _task_schedstats():
    """{(tid, start tick): (run_delay ns, pcount)} of every task on the machine, from
    /proc/<pid>/task/<tid>/schedstat; the start time (in clock ticks, /proc stat field 22)
    tells a task from a later one with the same tid."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    start = int(f.read().rpartition(")")[2].split()[19])
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    _, delay, count = f.read().split()
            except (OSError, ValueError, IndexError):
                continue  # exited meanwhile: its final values come from bpftrace
            out[(int(tid), start)] = (int(delay), int(count))
    return out


class RunqueueWitness:
    """The kernel's own run-queue accounting of every task on the machine over a window:
    how much sched_info.run_delay and sched_info.pcount (the 2nd and 3rd fields of
    /proc/<pid>/task/<tid>/schedstat: time spent waiting on a run queue, and the number of
    waits that ended on a CPU) grew between two sweeps of /proc. A task that exits during
    the window leaves /proc, so bpftrace prints its final values at its last context switch
    (curtask->exit_state set), when both are final."""

    SCRIPT = ('tracepoint:sched:sched_switch /curtask->exit_state/ { printf("%d %llu %llu %llu '
              '%llu\\n", curtask->pid, curtask->start_boottime, curtask->sched_info.run_delay, '
              'curtask->sched_info.pcount, nsecs); }')

    def __init__(self):
        bt = shutil.which("bpftrace")
        assert bt, "bpftrace is not installed (apt-get install bpftrace; make test installs it)"
        self.out = tempfile.NamedTemporaryFile(prefix="kpulse-rqwitness-", suffix=".log")
        self.proc = subprocess.Popen([bt, "-e", self.SCRIPT], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        cleanup(self.stop)
        ok = _wait_for_text(self.out.name, "Attaching 1 probe", self.proc)
        assert ok, f"bpftrace did not start: {open(self.out.name).read()}"
        self.t0 = self.t1 = None
        self.lost = []
        self.top = []

    def begin(self):
        self.t0 = time.monotonic_ns()
        self.s0 = _task_schedstats()

    def end(self):
        self.t1 = time.monotonic_ns()
        self.s1 = _task_schedstats()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def result(self):
        """(seconds waited, number of waits) by every task between begin() and end()."""
        time.sleep(0.5)  # let the last exits reach the log
        self.stop()
        final = {}
        with open(self.out.name) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 5 or not parts[0].isdigit():
                    continue
                tid, start_ns, delay, count, t = map(int, parts)
                if self.t0 <= t <= self.t1:
                    final[(tid, start_ns // (10**9 // USER_HZ))] = (delay, count)
        delay = count = 0
        top = []
        ends = dict(self.s1)
        ends.update((k, v) for k, v in final.items() if k not in self.s1)
        for key, (d1, c1) in ends.items():
            d0, c0 = self.s0.get(key, (0, 0))
            delay += d1 - d0
            count += c1 - c0
            top.append((d1 - d0, key[0], c1 - c0, key in self.s0))
        # The threads that waited longest, for a failure message: (s, tid, waits, seen at
        # begin()); one not seen at begin() counts its waits since it started.
        self.top = [(d / 1e9, tid, c, seen) for d, tid, c, seen in sorted(top, reverse=True)[:5]]
        # Threads seen at begin() with no value at end(): exited without a last switch in
        # the window that bpftrace saw. Their waits in the window are missing here.
        self.lost = sorted(k[0] for k in self.s0 if k not in ends)
        return delay / 1e9, count


class realtime:
    """with realtime(pid, ...): the calling process and every thread of @pids run SCHED_FIFO
    inside the block, so that on a loaded machine a sampler tick, the scrape that sees it
    and a /proc sweep happen within milliseconds instead of waiting behind other tasks."""

    def __init__(self, *pids):
        self.tids = [0] + [int(t) for p in pids for t in os.listdir(f"/proc/{p}/task")]

    def __enter__(self):
        for tid in self.tids:
            try:
                os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(50))
            except ProcessLookupError:
                pass
        return self

    def __exit__(self, *exc):
        for tid in self.tids:
            try:
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
            except ProcessLookupError:
                pass


def _wait_for_text(path, text, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, errors="replace") as f:
            if text in f.read():
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False
