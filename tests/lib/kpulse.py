# SPDX-License-Identifier: GPL-2.0
"""Helpers for kpulse's BPF and end-to-end tests: run the real binary, scrape, parse.

Each test file registers functions with @test and calls main(); every test prints one
line, "PASS suite/name", "FAIL suite/name: why" or "SKIP suite/name: why", which
tests/run counts (a SKIP is a failure under CI=true).
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KPULSE = os.path.join(ROOT, "kpulse")
_tests = []
_cleanups = []


class Skip(Exception):
    """The test cannot run here; under CI=true tests/run counts it as a failure."""


def test(fn):
    _tests.append(fn)
    return fn


def cleanup(fn):
    """Run @fn at exit even if the test failed (and before the next test starts)."""
    _cleanups.append(fn)


def _run_cleanups():
    while _cleanups:
        try:
            _cleanups.pop()()
        except Exception as e:  # noqa: BLE001 - cleanup must go on
            print(f"  cleanup failed: {e}", file=sys.stderr)


atexit.register(_run_cleanups)


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root (run: sudo make test)")


def main(suite):
    only = sys.argv[1:]
    failed = 0
    for fn in _tests:
        if only and fn.__name__ not in only:
            continue
        name = f"{suite}/{fn.__name__}"
        t0 = time.monotonic()
        try:
            fn()
            print(f"PASS {name} ({time.monotonic() - t0:.1f}s)", flush=True)
        except Skip as e:
            print(f"SKIP {name}: {e}", flush=True)
        except AssertionError as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
        except Exception:  # noqa: BLE001 - report and go on with the next test
            failed += 1
            print(f"FAIL {name}: {traceback.format_exc().strip().splitlines()[-1]}", flush=True)
            traceback.print_exc(file=sys.stdout)
        finally:
            _run_cleanups()
    sys.exit(1 if failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5, method="GET", headers=None):
    """(status, headers, body) for @url; HTTP errors are answers too."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class Metrics:
    """A parsed text-format scrape: {(name, frozenset(labels)): value}."""

    LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

    def __init__(self, text):
        self.text = text
        self.samples = {}
        # Lines end at LF only: str.splitlines() also splits at CR, VT, FF, U+0085, U+2028...
        # which a label value may hold (a process or cgroup named so).
        for line in text.split("\n"):
            if not line or line.startswith("#"):
                continue
            m = self.LINE.match(line)
            assert m, f"unparseable line: {line!r}"
            labels = frozenset(self.LABEL.findall(m.group(2) or ""))
            self.samples[(m.group(1), labels)] = float(m.group(3))

    def get(self, name, /, **labels):
        """The value of the one series @name{labels}, or None."""
        return self.samples.get((name, frozenset(labels.items())))

    def series(self, name, /):
        """[(labels dict, value)] of every series of @name."""
        return [(dict(k[1]), v) for k, v in self.samples.items() if k[0] == name]

    def sum(self, name):
        return sum(v for _, v in self.series(name))


class Kpulse:
    """The real binary on a free loopback port, with its own bpffs pin directory."""

    def __init__(self, *args, interval="1s", pin_path=None, user=None, wait=True, binary=KPULSE,
                 wrap=()):
        """@wrap: a command kpulse runs under, e.g. ["unshare", "--mount", "--"]."""
        self.port = free_port()
        if pin_path is None:
            pin_path = f"/sys/fs/bpf/kpulse-test-{os.getpid()}-{self.port}"
        self.pin_path = pin_path
        self.args = [binary, f"--web.listen-address=127.0.0.1:{self.port}",
                     f"--sampler.interval={interval}", f"--bpf.pin-path={self.pin_path}",
                     *args]
        self.log = tempfile.NamedTemporaryFile(prefix="kpulse-test-", suffix=".log")
        self.proc = subprocess.Popen([*wrap, *self.args], stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=(lambda: _drop_to(user)) if user else None)
        cleanup(self.stop)
        if wait:
            self.wait_healthy()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def wait_healthy(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"kpulse exited with {self.proc.returncode}: "
                                     f"{self.output().strip()}")
            try:
                if http_get(self.url + "/healthz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"kpulse not healthy after {timeout}s: {self.output().strip()}")

    def scrape_text(self):
        status, headers, body = http_get(self.url + "/metrics")
        assert status == 200, f"/metrics answered {status}"
        return body.decode()

    def scrape(self):
        return Metrics(self.scrape_text())

    def next_tick(self, timeout=5):
        """Wait until a new snapshot is published and return it (fresh to a few ms)."""
        first = self.scrape_text()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.scrape_text()
            if text != first:
                return Metrics(text)
            time.sleep(0.003)
        raise AssertionError("kpulse published no new snapshot")

    def stop(self, sig=signal.SIGTERM, timeout=10, keep_pins=False):
        """Signal kpulse and return its exit code; the pin directory is removed."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"kpulse did not exit {timeout}s after {sig!r}")
        if self.pin_path and os.path.isdir(self.pin_path) and not keep_pins:
            shutil.rmtree(self.pin_path, ignore_errors=True)
        return self.proc.returncode


def _drop_to(user):
    import pwd
    pw = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)


def run_kpulse(*args, timeout=15, preexec=None):
    """Run kpulse to completion (for flag and start-up errors): (exit code, output)."""
    p = subprocess.run([KPULSE, *args], capture_output=True, text=True, timeout=timeout,
                       preexec_fn=preexec)
    return p.returncode, p.stdout + p.stderr


def online_cpus():
    with open("/sys/devices/system/cpu/online") as f:
        cpus = set()
        for part in f.read().strip().split(","):
            a, _, b = part.partition("-")
            cpus.update(range(int(a), int(b or a) + 1))
        return sorted(cpus)


def spawn(fn):
    """Fork a child that runs @fn() and then exits; it is killed and reaped at cleanup."""
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    cleanup(lambda: kill(pid))
    return pid


def kill(pid):
    """SIGKILL and reap @pid, if it is still there."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def busy_loop(cpu):
    """A child spinning on @cpu until killed (cleaned up after the test)."""
    def spin():
        os.sched_setaffinity(0, {cpu})
        while True:
            pass
    return spawn(spin)


def workload(name):
    """Path of the compiled tests/workloads/@name.c (make test-progs builds them all)."""
    path = os.path.join(ROOT, ".output", "workloads", name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: run make test-progs")
    return path


def script(name):
    """Path of tests/workloads/@name.py, a Python workload a person can also run by hand."""
    return os.path.join(ROOT, "tests", "workloads", name + ".py")


def bpf_prog_ids(names):
    """ids of the loaded BPF programs whose names are in @names."""
    import json
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"] for p in json.loads(out or "[]") if p.get("name") in names}


def wait_for(pred, timeout=5, step=0.05):
    """Poll @pred until it returns something true; that value, or the last false one."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def collectors():
    """Names of every collector this kpulse build has, from its --help."""
    out = subprocess.run([KPULSE, "--help"], capture_output=True, text=True, check=True).stdout
    return [c for c in re.findall(r"--\[no-\]collector\.([a-z_]+)\s", out) if c != "strict"]


def only_collectors(*names):
    """Flags that enable exactly the collectors @names and disable every other one."""
    return [f"--{'' if c in names else 'no-'}collector.{c}" for c in collectors()]


def cgroup2_mount():
    """The cgroup v2 mount point, from /proc/self/mountinfo (hybrid hosts: .../unified)."""
    # Mount points are any bytes (a test mounts invalid UTF-8): not this file's encoding.
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4].replace("\\040", " ")
    raise AssertionError("no cgroup2 mount in /proc/self/mountinfo")


def terminate(proc, timeout=10):
    """SIGTERM @proc (a Popen), SIGKILL it if it has not exited after @timeout, reap it."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
