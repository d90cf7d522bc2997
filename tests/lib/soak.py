# SPDX-License-Identifier: GPL-2.0
"""The soak: kpulse under churn for a while, its footprint recorded every 10 s.

Churn: processes created and exited (a copy of true(1) named with the tag, spawned and reaped
in a loop), cgroups created, entered by a task that runs and sends a datagram, and removed,
veth pairs created and deleted (the peer in a network namespace of the soak's own, which
kpulse sees through --collector.net.all-namespaces), tmpfs mounted and unmounted (LIVE of
each kind alive at a time, so their series rise during the churn), and two watched process
names taken and dropped by a task renaming itself, all while /metrics is scraped 10 times a
second. Every object the churn creates carries the run's tag in its name, so "the label set
returns to its baseline" is checked exactly: once the churn stops and a cool-down passes, no
label value of any family may carry the tag (other work on the machine may add and remove
its own labels meanwhile; those are reported, not judged).

Recorded every 10 s: RSS and PSS (/proc/<pid>/status, smaps_rollup), open descriptors, the
entries of kpulse's pinned hash maps (bpftool), series per family, the longest tick (sum of
kpulse_collector_duration_seconds) and the scrape latency p99 of the window.
"""
import ctypes
import json
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request

from kpulse import Kpulse, Metrics, cgroup2_mount

ROW_SECONDS = 10
# The history ring's bound at the defaults (README: S x (8N + 88 + 2 x label text) + 8N +
# 24 x max-series), with S = 1024 series, N = 900 slots and label text up to 256 bytes.
HISTORY_BOUND = 1024 * (8 * 900 + 88 + 2 * 256) + 8 * 900 + 24 * 1024
# Objects of each kind (cgroups, veth pairs, mounts) alive at once during the churn.
LIVE = 16


def _pid_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def map_entries(pin_path):
    """{map name: entries} of the hash maps kpulse pinned (arrays never change size)."""
    out = {}
    for name in sorted(os.listdir(pin_path)) if os.path.isdir(pin_path) else []:
        path = os.path.join(pin_path, name)
        try:
            info = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "pinned", path],
                                             capture_output=True, text=True, timeout=30).stdout)
            if "hash" not in info.get("type", ""):
                continue
            dump = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", path],
                                  capture_output=True, text=True, timeout=60).stdout
            out[name] = len(json.loads(dump or "[]"))
        except (OSError, ValueError, subprocess.SubprocessError):
            out[name] = -1
    return out


class Churn:
    """The churn workers; every object they make is named with @tag and removed by stop()."""

    def __init__(self, tag):
        self.tag = tag
        self.stopping = threading.Event()
        self.counts = {"processes": 0, "cgroups": 0, "devices": 0, "mounts": 0}
        self.errors = []
        self.threads = []
        self.cg_base = os.path.join(cgroup2_mount(), f"kpulse-soak-{tag}")
        self.mnt_base = f"/tmp/kpulse-soak-{tag}"
        self.netns = f"kpulse-soak-{tag}"
        self.watch = [f"ks{tag}-w1", f"ks{tag}-w2"]

    # -- workers -------------------------------------------------------------------------
    def _loop(self, name, fn, pause):
        def run():
            while not self.stopping.is_set():
                try:
                    fn()
                except Exception as e:  # noqa: BLE001 - a churn step failing is reported
                    if len(self.errors) < 20:
                        self.errors.append(f"{name}: {e}")
                self.stopping.wait(pause)
        t = threading.Thread(target=run, name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def _process_step(self):
        for _ in range(10):
            pid = os.posix_spawn(self.true, [self.true], {})
            os.waitpid(pid, 0)
            self.counts["processes"] += 1

    def _cgroup_step(self):
        """A new cgroup, charged CPU time and socket bytes by a task passing through; the
        one made LIVE steps ago is removed, so LIVE cgroups are exported at any time."""
        n = self.counts["cgroups"]
        d = os.path.join(self.cg_base, f"c{n}")
        os.mkdir(d)
        pid = os.fork()
        if pid == 0:
            try:
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write("0")
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.sendto(b"x" * 100, ("127.0.0.1", 9))
                end = time.monotonic() + 0.02
                while time.monotonic() < end:
                    pass
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        self.counts["cgroups"] += 1
        old = os.path.join(self.cg_base, f"c{n - LIVE}")
        for _ in range(100):  # the exited task leaves the cgroup asynchronously
            try:
                if n >= LIVE:
                    os.rmdir(old)
                break
            except OSError:
                time.sleep(0.01)

    def _device_step(self):
        """A new veth pair (the peer in the soak's namespace); the pair made LIVE steps ago
        is deleted."""
        n = self.counts["devices"]
        host, peer = f"ks{self.tag}a{n}", f"ks{self.tag}b{n}"
        subprocess.run(["ip", "link", "add", host, "type", "veth", "peer", "name", peer,
                        "netns", self.netns], check=True, capture_output=True)
        subprocess.run(["ip", "link", "set", host, "up"], check=True, capture_output=True)
        self.counts["devices"] += 1
        if n >= LIVE:
            subprocess.run(["ip", "link", "del", f"ks{self.tag}a{n - LIVE}"], check=True,
                           capture_output=True)

    def _mount_step(self):
        """A tmpfs mounted on one of 2 * LIVE directories in turn, the one mounted LIVE steps
        ago unmounted."""
        n = self.counts["mounts"]
        d = os.path.join(self.mnt_base, f"m{n % (2 * LIVE)}")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", f"ks{self.tag}m{n}", d],
                       check=True, capture_output=True)
        self.counts["mounts"] += 1
        if n >= LIVE:
            subprocess.run(["umount", os.path.join(self.mnt_base, f"m{(n - LIVE) % (2 * LIVE)}")],
                           check=True, capture_output=True)

    def _renamer(self):
        """A child that takes the watched names in turn, and a name that is not watched."""
        pid = os.fork()
        if pid == 0:
            libc = ctypes.CDLL(None)
            names = [self.watch[0].encode(), f"ks{self.tag}-x".encode(), self.watch[1].encode()]
            i = 0
            while True:
                libc.prctl(15, ctypes.c_char_p(names[i % 3]), 0, 0, 0)  # PR_SET_NAME
                i += 1
                time.sleep(0.05)
        self.renamer = pid

    # -- life cycle ----------------------------------------------------------------------
    def start(self):
        os.makedirs(self.cg_base)
        for k in range(2 * LIVE):
            os.makedirs(os.path.join(self.mnt_base, f"m{k}"))
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        # A task in the namespace, so --collector.net.all-namespaces exports its devices.
        self.ns_task = subprocess.Popen(["ip", "netns", "exec", self.netns, "sleep", "infinity"])
        # Processes: a copy of true(1) named with the tag, started and reaped in a loop.
        self.true = os.path.join(self.mnt_base, f"ks{self.tag}-t")
        shutil.copy("/bin/true", self.true)
        self._renamer()
        self._loop("processes", self._process_step, 0.002)
        self._loop("cgroups", self._cgroup_step, 0.15)
        self._loop("devices", self._device_step, 0.2)
        self._loop("mounts", self._mount_step, 0.05)
        self.t0 = time.monotonic()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)
        if getattr(self, "renamer", None):
            os.kill(self.renamer, signal.SIGKILL)
            os.waitpid(self.renamer, 0)
            self.renamer = None
        if getattr(self, "ns_task", None):
            self.ns_task.kill()
            self.ns_task.wait()
            self.ns_task = None
        return self.cleanup()

    def cleanup(self):
        """Remove what the churn made; returns what could not be removed."""
        for k in range(2 * LIVE):
            d = os.path.join(self.mnt_base, f"m{k}")
            subprocess.run(["umount", "-l", d], capture_output=True)
        if os.path.isdir(self.mnt_base) and not any(
                os.path.ismount(os.path.join(self.mnt_base, f"m{k}")) for k in range(2 * LIVE)):
            shutil.rmtree(self.mnt_base, ignore_errors=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            name = line.split(": ")[1].split("@")[0] if ": " in line else ""
            if name.startswith(f"ks{self.tag}"):
                subprocess.run(["ip", "link", "del", name], capture_output=True)
        # A task that has exited leaves its cgroup asynchronously: retry for up to 5 s.
        for _ in range(50):
            if not os.path.isdir(self.cg_base):
                break
            for d in sorted(os.listdir(self.cg_base)):
                p = os.path.join(self.cg_base, d)
                if os.path.isdir(p):
                    try:
                        os.rmdir(p)
                    except OSError:
                        pass
            try:
                os.rmdir(self.cg_base)
            except OSError:
                time.sleep(0.1)
        left = [p for p in (self.cg_base, self.mnt_base) if os.path.exists(p)]
        if os.path.exists(f"/run/netns/{self.netns}"):
            left.append(f"netns {self.netns}")
        return left


class Scraper:
    """/metrics 10 times a second, text and OpenMetrics, gzip or not; latencies kept."""

    def __init__(self, url):
        self.url = url
        self.stopping = threading.Event()
        self.ok = self.errors = 0
        self.latencies = []
        self.tick_max = 0.0
        self.last = None
        self.lock = threading.Lock()
        self.first_error = None
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        accepts = ["text/plain", "application/openmetrics-text;version=1.0.0"]
        i = 0
        while not self.stopping.is_set():
            t0 = time.monotonic()
            headers = {"Accept": accepts[i % 2]}
            if i % 4 >= 2:
                headers["Accept-Encoding"] = "gzip"
            try:
                req = urllib.request.Request(self.url + "/metrics", headers=headers)
                with urllib.request.urlopen(req, timeout=5) as r:
                    body = r.read()
                    ok = r.status == 200 and len(body) > 0
                if i % 4 == 0:
                    text = body.decode()
                    tick = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                               if line.startswith("kpulse_collector_duration_seconds{"))
                    with self.lock:
                        self.last = text
                        self.tick_max = max(self.tick_max, tick)
            except Exception as e:  # noqa: BLE001
                ok = False
                self.first_error = self.first_error or repr(e)
            dt = time.monotonic() - t0
            with self.lock:
                self.latencies.append(dt)
                if ok:
                    self.ok += 1
                else:
                    self.errors += 1
            i += 1
            self.stopping.wait(max(0, 0.1 - dt))

    def take(self):
        """(latencies of the window, the last text body, the longest tick seen in the
        window: the sum of kpulse_collector_duration_seconds), and start a new window."""
        with self.lock:
            lat, self.latencies = self.latencies, []
            tick, self.tick_max = self.tick_max, 0.0
            return lat, self.last, tick

    def stop(self):
        self.stopping.set()
        self.t.join(10)


def families(text):
    """{family: set of label sets} of a text-format body."""
    out = {}
    for (name, labels), _ in Metrics(text).samples.items():
        out.setdefault(name, set()).add(labels)
    return out


def run_soak(seconds, log=print):
    """Run the soak for @seconds; returns (rows, failures, summary)."""
    tag = "%04x" % random.randrange(1 << 16)
    baseline_s = min(max(10, seconds // 20), 60)
    cool_s = min(max(20, seconds // 20), 120)
    churn_s = max(10, seconds - baseline_s - cool_s)
    churn = Churn(tag)
    # The opt-in collectors that churn most: socket bytes per cgroup, and the devices of
    # other namespaces (the veth peers live in the soak's own).
    k = Kpulse(f"--process.watch={','.join(churn.watch)}", "--collector.net.cgroups",
               "--collector.net.all-namespaces", interval="1s")
    pid = k.proc.pid
    scraper = Scraper(k.url)
    rows, failures = [], []
    t_start = time.monotonic()

    def record(phase):
        lat, text, tick = scraper.take()
        lat.sort()
        try:
            fams = families(text) if text else {}
        except AssertionError as e:  # an exposition a parser rejects is a failure, not the end
            failures.append(f"at {round(time.monotonic() - t_start)} s: {e}")
            fams = rows[-1]["labels"] if rows else {}
        hist = re.search(r"^kpulse_history_memory_bytes (\S+)$", text or "", re.M)
        row = {
            "t": round(time.monotonic() - t_start),
            "phase": phase,
            "hist": int(float(hist.group(1))) if hist else 0,
            "rss": _pid_status(pid, "VmRSS"),
            "pss": _pss(pid),
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "maps": map_entries(k.pin_path),
            "series": sum(len(v) for v in fams.values()),
            "fams": {f: len(v) for f, v in fams.items()},
            "labels": fams,
            "tick": tick,
            "p99": lat[int(len(lat) * 0.99) - 1] if lat else 0,
            "scrapes": scraper.ok,
            "errors": scraper.errors,
            "churn": dict(churn.counts),
        }
        rows.append(row)
        log(f"  {row['t']:5d}s {phase:8s} RSS {row['rss'] / 2**20:6.1f} MiB  PSS "
            f"{row['pss'] / 2**20:6.1f} MiB  fds {row['fds']:3d}  maps "
            f"{sum(v for v in row['maps'].values() if v > 0):5d}  series {row['series']:5d}  "
            f"tick {row['tick'] * 1e3:6.1f} ms  scrape p99 {row['p99'] * 1e3:6.1f} ms  "
            f"{row['scrapes']} ok {row['errors']} err  {row['churn']}")
        return row

    def phase_for(seconds_, name):
        end = time.monotonic() + seconds_
        next_row = time.monotonic() + ROW_SECONDS
        while time.monotonic() < end:
            time.sleep(min(1, max(0, end - time.monotonic())))
            if time.monotonic() >= next_row:
                record(name)
                next_row += ROW_SECONDS
        if not rows or time.monotonic() - t_start - rows[-1]["t"] > 2:
            record(name)

    try:
        k.next_tick()
        phase_for(baseline_s, "baseline")
        base = rows[-1]
        churn.start()
        phase_for(churn_s, "churn")
        churn.stop()
        phase_for(cool_s, "cooldown")
    finally:
        churn.stopping.set()
        left = churn.stop()
        scraper.stop()
    if left:
        failures.append(f"the churn's objects could not be removed: {left}")
    end = rows[-1]
    churn_rows = [r for r in rows if r["phase"] == "churn"]
    # 1. Every scrape answered.
    if scraper.errors:
        failures.append(f"{scraper.errors} scrapes failed (first: {scraper.first_error})")
    if k.proc.poll() is not None:
        failures.append(f"kpulse exited with {k.proc.returncode}: {k.output()[-1000:]}")
    # 2. Growth levels off: the second half of the churn is no higher than the first half
    # plus a margin (allocator slack, a larger render buffer once). The history ring is
    # left out of RSS and PSS here: it fills by design (each new series gets its whole
    # --history.duration of slots, up to --history.max-series), kpulse accounts every byte
    # of it in kpulse_history_memory_bytes, and that must stay within its stated bound.
    half = max(1, len(churn_rows) // 2)
    first, second = churn_rows[:half], churn_rows[half:] or churn_rows[-1:]
    hist_max = max(r["hist"] for r in rows)
    if hist_max > HISTORY_BOUND:
        failures.append(f"the history ring holds {hist_max} bytes, more than its bound "
                        f"{HISTORY_BOUND} (1024 series of 15 min)")
    for key, margin in (("rss", 4 << 20), ("pss", 4 << 20), ("fds", 8)):
        def less_history(r):
            return r[key] - r["hist"] if key != "fds" else r[key]
        a = max(less_history(r) for r in first)
        b = max(less_history(r) for r in second)
        allowed = a + max(margin, a // 10 if key != "fds" else 0)
        if b > allowed:
            failures.append(f"{key} grew without levelling off: {a} in the first half of the "
                            f"churn, {b} in the second (allowed {allowed}; the history "
                            f"ring's accounted bytes left out of both)")
    if end["fds"] > base["fds"] + 4:
        failures.append(f"fds {base['fds']} before the churn, {end['fds']} after it")
    # 3. No label the churn created outlives it.
    left = {}
    for fam, labels in end["labels"].items():
        for ls in labels:
            for name, value in ls:
                if tag in value and value not in churn.watch:
                    left.setdefault(fam, set()).add(f"{name}={value}")
    if left:
        failures.append("labels of the churn still exported after the cool-down: " +
                        "; ".join(f"{f}: {sorted(v)[:3]}" for f, v in sorted(left.items())))
    peak = max(rows, key=lambda r: r["series"])
    summary = {
        "tag": tag, "baseline": base, "peak": peak, "end": end,
        "rss": (base["rss"], max(r["rss"] for r in rows), end["rss"]),
        "series": (base["series"], peak["series"], end["series"]),
        "scrapes": (scraper.ok, scraper.errors),
        "churn": churn.counts, "seconds": round(time.monotonic() - t_start),
    }
    k.stop()
    return rows, failures, summary


def table(rows):
    """The rows as a Markdown table."""
    out = ["| t (s) | phase | RSS MiB | PSS MiB | fds | BPF hash entries | series | cgroup | "
           "device | mountpoint | tick ms | scrape p99 ms | scrapes ok/err | churn so far |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        fams = r["fams"]
        cg = fams.get("kpulse_cgroup_cpu_seconds_total", 0)
        dev = fams.get("kpulse_network_receive_bytes_total", 0)
        mp = fams.get("kpulse_filesystem_readonly", 0)
        c = r["churn"]
        out.append(
            f"| {r['t']} | {r['phase']} | {r['rss'] / 2**20:.1f} | {r['pss'] / 2**20:.1f} | "
            f"{r['fds']} | {sum(v for v in r['maps'].values() if v > 0)} | {r['series']} | "
            f"{cg} | {dev} | {mp} | {r['tick'] * 1e3:.1f} | {r['p99'] * 1e3:.1f} | "
            f"{r['scrapes']}/{r['errors']} | {c['processes']} processes, {c['cgroups']} cgroups, "
            f"{c['devices']} devices, {c['mounts']} mounts, renames every 50 ms |")
    return "\n".join(out)
