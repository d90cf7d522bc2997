# SPDX-License-Identifier: GPL-2.0
"""Several "hosts" on one machine: network namespaces joined to the host namespace by veth
pairs, each running its own kpulse bound to its own address, for the fleet tests.

Addresses are 10.213.<pid % 250>.<4n+1>/30 (host side) and .<4n+2>/30 (namespace side),
only on these veths; names include the test's pid so concurrent runs do not collide.
"""
import os
import shutil
import signal
import subprocess
import tempfile

from kpulse import KPULSE, ROOT, cleanup, http_get, wait_for

PORT = 24100


def ip(*args, check=True):
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 or not check, f"ip {' '.join(args)}: {p.stderr.strip()}"
    return p.stdout


class Host:
    """Network namespace @n of this test with a veth to the host namespace and a kpulse."""

    def __init__(self, n, *kpulse_args):
        pid = os.getpid()
        net = f"10.213.{pid % 250}"
        self.n = n
        self.ns = f"kpfleet-{pid}-{n}"
        self.host_dev = f"kpf{pid}h{n}"  # <= 15 characters: IFNAMSIZ
        self.dev = f"kpf{pid}n{n}"
        self.host_addr = f"{net}.{4 * n + 1}"
        self.addr = f"{net}.{4 * n + 2}"
        self.instance = f"{self.addr}:{PORT}"
        self.pin_path = f"/sys/fs/bpf/kpulse-fleet-{pid}-{n}"
        ip("netns", "add", self.ns)
        cleanup(self._remove)
        ip("link", "add", self.host_dev, "type", "veth", "peer", "name", self.dev,
           "netns", self.ns)
        ip("addr", "add", f"{self.host_addr}/30", "dev", self.host_dev)
        ip("link", "set", self.host_dev, "up")
        ip("-n", self.ns, "addr", "add", f"{self.addr}/30", "dev", self.dev)
        ip("-n", self.ns, "link", "set", self.dev, "up")
        ip("-n", self.ns, "link", "set", "lo", "up")
        self.kpulse_args = kpulse_args
        self.proc = None
        self.start()
        cleanup(self.stop)

    def start(self):
        """Start (again) this host's kpulse."""
        self.log = tempfile.NamedTemporaryFile(prefix=f"kpulse-fleet-{self.n}-", suffix=".log")
        # ip netns exec execs kpulse: the Popen pid is kpulse's own.
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, KPULSE, f"--web.listen-address={self.instance}",
             f"--bpf.pin-path={self.pin_path}", "--sampler.interval=1s", *self.kpulse_args],
            stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def url(self):
        return f"http://{self.instance}"

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def wait_healthy(self, timeout=20):
        def ok():
            assert self.proc.poll() is None, \
                f"kpulse in {self.ns} exited with {self.proc.returncode}: {self.output()}"
            try:
                return http_get(self.url + "/healthz", timeout=1)[0] == 200
            except OSError:
                return False
        assert wait_for(ok, timeout=timeout, step=0.1), \
            f"kpulse in {self.ns} not healthy at {self.url}: {self.output()}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # ip netns exec gives kpulse a fresh /sys, so it mounts its own bpffs and its pins go
        # with its mount namespace; remove the directory in case it landed in the host's.
        shutil.rmtree(self.pin_path, ignore_errors=True)
        return self.proc.returncode

    def links(self):
        """Names of the network devices in this namespace."""
        out = ip("-n", self.ns, "-o", "link", "show")
        return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}

    def _remove(self):
        # Deleting the namespace deletes its veth end, and with it the host end.
        ip("netns", "del", self.ns, check=False)
        ip("link", "del", self.host_dev, check=False)


def alert_rules_with_short_for(fors):
    """A copy of deploy's alert rules with the `for` of each alert in @fors ({alertname:
    duration}) shortened, so a test sees it fire in seconds; the path of the copy."""
    import yaml
    with open(os.path.join(ROOT, "deploy", "prometheus", "kpulse-alerts.rules.yml")) as f:
        doc = yaml.safe_load(f)
    found = set()
    for g in doc["groups"]:
        for r in g["rules"]:
            if r.get("alert") in fors:
                r["for"] = fors[r["alert"]]
                found.add(r["alert"])
    assert found == set(fors), f"not in the alert rules: {set(fors) - found}"
    d = tempfile.mkdtemp(prefix="kpulse-rules-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    path = os.path.join(d, "kpulse-alerts.rules.yml")
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    return path
