#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""deploy/systemd and deploy/kubernetes: the files parse, verify and hold what they claim.

No systemd runs on the test machines, so the unit cannot be started as a service. It is
checked with `systemd-analyze verify` (which needs no running systemd), and its capability
set is proved sufficient by starting the real kpulse with exactly the unit's bounding set,
no_new_privs and ExecStart flags (setpriv), and requiring every collector to come up and
kpulse to end as nobody with no capabilities.
"""
import configparser
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import (KPULSE, Metrics, cleanup, free_port, http_get, main, terminate,  # noqa: E402
                    need_root, test, wait_for)
from prom import DEPLOY, need  # noqa: E402

UNIT = os.path.join(DEPLOY, "systemd", "kpulse.service")
DAEMONSET = os.path.join(DEPLOY, "kubernetes", "kpulse-daemonset.yaml")
# To start (load, attach, pin, mount) and then to drop to --run-as with nothing left.
CAPS = {"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN", "CAP_SETPCAP", "CAP_SETUID", "CAP_SETGID"}


def unit_service():
    """The [Service] section of the unit as {key: value} (the last value of a key wins)."""
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str
    cp.read(UNIT)
    return dict(cp["Service"])


def verify(text):
    """systemd-analyze verify on @text as a unit file: (exit code, output)."""
    tool = need("systemd-analyze")
    d = tempfile.mkdtemp(prefix="kpulse-unit-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    path = os.path.join(d, "kpulse.service")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([tool, "verify", path], capture_output=True, text=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).strip()


@test
def systemd_unit_verifies_clean():
    with open(UNIT) as f:
        text = f.read()
    assert "ExecStart=/usr/local/bin/kpulse " in text, "ExecStart is not /usr/local/bin/kpulse"
    # verify checks that the binary exists: point it at the one just built.
    rc, out = verify(text.replace("/usr/local/bin/kpulse", KPULSE))
    assert rc == 0 and out == "", f"systemd-analyze verify (exit {rc}): {out}"
    # The same check reports a misspelt directive and a bad value: it really reads the file.
    rc, out = verify(text.replace("/usr/local/bin/kpulse", KPULSE)
                     .replace("PrivateTmp=yes", "PrivateTemp=yes")
                     .replace("ProtectSystem=strict", "ProtectSystem=sternly"))
    assert "Unknown key 'PrivateTemp'" in out and "sternly" in out, \
        f"systemd-analyze verify did not notice a broken unit: {out!r}"


@test
def systemd_unit_is_hardened():
    s = unit_service()
    want = {"Restart": "on-failure", "PrivateTmp": "yes", "ProtectSystem": "strict",
            "NoNewPrivileges": "yes", "ProtectKernelModules": "yes",
            "ProtectControlGroups": "yes", "LimitMEMLOCK": "infinity"}
    wrong = {k: s.get(k) for k, v in want.items() if s.get(k) != v}
    assert not wrong, f"unit directives {wrong}, want {want}"
    assert s.get("ProtectHome") in ("yes", "read-only", "tmpfs"), s.get("ProtectHome")
    caps = set(s.get("CapabilityBoundingSet", "").split())
    assert caps == CAPS, f"CapabilityBoundingSet {sorted(caps)}, want {sorted(CAPS)}"
    assert s.get("AmbientCapabilities", "") == "", s.get("AmbientCapabilities")
    assert "User" not in s and "DynamicUser" not in s, \
        "kpulse starts as root (limited by the bounding set) to load and attach"
    # /sys must stay writable for pinning under /sys/fs/bpf and mounting tracefs.
    assert s.get("ProtectKernelTunables", "no") == "no", "ProtectKernelTunables makes /sys read-only"


@test
def systemd_unit_capabilities_are_enough_to_run():
    need_root()
    setpriv = need("setpriv")
    s = unit_service()
    argv = shlex.split(s["ExecStart"])
    assert argv[0] == "/usr/local/bin/kpulse", argv
    # The unit's own flags, with a free port and a pin directory of this test.
    port = free_port()
    pin = f"/sys/fs/bpf/kpulse-unit-{os.getpid()}"
    flags = [a for a in argv[1:] if not a.startswith(("--web.listen-address", "--bpf.pin-path"))]
    caps = s["CapabilityBoundingSet"].split()
    bounding = "-all," + ",".join("+" + c[len("CAP_"):].lower() for c in caps)
    log = tempfile.NamedTemporaryFile(prefix="kpulse-unit-", suffix=".log")
    proc = subprocess.Popen(
        [setpriv, f"--bounding-set={bounding}", "--inh-caps=-all",
         *(["--no-new-privs"] if s.get("NoNewPrivileges") == "yes" else []),
         KPULSE, f"--web.listen-address=127.0.0.1:{port}", f"--bpf.pin-path={pin}", *flags],
        stdout=log, stderr=subprocess.STDOUT)

    cleanup(lambda: (terminate(proc), shutil.rmtree(pin, ignore_errors=True)))

    def output():
        with open(log.name, errors="replace") as f:
            return f.read()

    def healthy():
        assert proc.poll() is None, f"kpulse exited with {proc.returncode}: {output()}"
        try:
            return http_get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200
        except OSError:
            return False
    assert wait_for(healthy, timeout=20), f"kpulse not healthy: {output()}"
    # setpriv execs kpulse: same pid.
    with open(f"/proc/{proc.pid}/comm") as f:
        assert f.read().strip() == "kpulse"
    # It started with the unit's bounding set and dropped to --run-as with nothing left.
    with open(f"/proc/{proc.pid}/status") as f:
        status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
    status = {k: v.split() for k, v in status.items()}
    run_as = next(a.split("=", 1)[1] for a in flags if a.startswith("--run-as="))
    import pwd
    uid = str(pwd.getpwnam(run_as).pw_uid)
    got = {k: status[k] for k in ("Uid", "CapEff", "CapPrm", "CapBnd", "NoNewPrivs")}
    want = {"Uid": [uid] * 4, "CapEff": ["0" * 16], "CapPrm": ["0" * 16],
            "CapBnd": ["0" * 16], "NoNewPrivs": ["1"]}
    assert got == want, f"kpulse under the unit's restrictions: {got}, want {want}\n{output()}"
    time.sleep(2.5)  # two sampler ticks: a collector failing on its first read shows
    m = Metrics(http_get(f"http://127.0.0.1:{port}/metrics")[2].decode())
    up = m.series("kpulse_collector_up")
    assert up and all(v == 1 for _, v in up), \
        f"with only {caps}: collectors {[(l['collector'], v) for l, v in up]}\n{output()}"


@test
def systemd_sandbox_keeps_filesystem_readonly_true():
    """ProtectSystem=strict runs kpulse in a mount namespace where / is a read-only bind
    mount of a writable filesystem. kpulse_filesystem_readonly must still say 0 for it
    (the superblock is rw), or KpulseFilesystemFilling never fires on systemd nodes."""
    need_root()
    need("unshare")
    with open("/proc/self/mountinfo") as f:
        root = next(l.split() for l in f if l.split()[4] == "/")
    sep = root.index("-")
    assert "rw" in root[5].split(",") and "rw" in root[sep + 3].split(","), \
        f"/ is not writable on this machine, the check means nothing: {' '.join(root)}"
    port = free_port()
    pin = f"/sys/fs/bpf/kpulse-unit-ro-{os.getpid()}"
    log = tempfile.NamedTemporaryFile(prefix="kpulse-unit-ro-", suffix=".log")
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -o remount,bind,ro / && exec "$0" "$@"', KPULSE,
         f"--web.listen-address=127.0.0.1:{port}", f"--bpf.pin-path={pin}"],
        stdout=log, stderr=subprocess.STDOUT)

    cleanup(lambda: (terminate(proc), shutil.rmtree(pin, ignore_errors=True)))

    def series():
        try:
            status, _, body = http_get(f"http://127.0.0.1:{port}/metrics", timeout=1)
        except OSError:
            return None
        m = Metrics(body.decode())
        return [(l, v) for l, v in m.series("kpulse_filesystem_readonly")
                if l["mountpoint"] == "/"]
    got = wait_for(series, timeout=15, step=0.2)
    with open(log.name, errors="replace") as f:
        out = f.read()
    assert got, f"no kpulse_filesystem_readonly{{mountpoint=\"/\"}} under a read-only bind " \
        f"mount of /: {out.strip()[-500:]}"
    assert got[0][1] == 0, \
        f"/ is writable (superblock rw) but seen through a read-only bind mount, as under " \
        f"ProtectSystem=strict: kpulse_filesystem_readonly = {got[0][1]}, want 0 (read it " \
        f"from the superblock options, not the per-mount flags or statfs ST_RDONLY)"


@test
def daemonset_has_what_a_node_agent_needs():
    try:
        import yaml
    except ImportError:
        from kpulse import Skip
        raise Skip("python3-yaml is not installed (make test-deps installs it)")
    with open(DAEMONSET) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kinds = {d["kind"]: d for d in docs}
    assert {"DaemonSet", "PodMonitor"} <= set(kinds), list(kinds)
    ds = kinds["DaemonSet"]
    assert ds["apiVersion"] == "apps/v1", ds["apiVersion"]
    tmpl = ds["spec"]["template"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= tmpl["metadata"]["labels"].items()
    ann = tmpl["metadata"]["annotations"]
    assert ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == "24100", ann
    spec = tmpl["spec"]
    assert spec.get("hostPID") is True and spec.get("hostNetwork") is True, \
        "hostPID and hostNetwork: processes and network devices must be the node's"
    (c,) = spec["containers"]
    assert "--web.listen-address=:24100" in c["args"] and "--run-as=nobody" in c["args"], c["args"]
    assert any(p["containerPort"] == 24100 and p["name"] == "metrics" for p in c["ports"]), c["ports"]
    sc = c["securityContext"]
    assert sc.get("privileged") is False and sc.get("allowPrivilegeEscalation") is False, sc
    assert sc["capabilities"]["drop"] == ["ALL"], sc["capabilities"]
    assert {"CAP_" + x for x in sc["capabilities"]["add"]} == CAPS, sc["capabilities"]["add"]
    # The kpulse flags used exist.
    for a in c["args"]:
        flag = a.split("=", 1)[0]
        out = subprocess.run([KPULSE, "--help"], capture_output=True, text=True).stdout
        assert flag in out, f"{flag} is not a kpulse flag"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    host = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    for path in ("/sys/fs/bpf", "/sys/kernel/tracing", "/sys/kernel/btf"):
        names = [n for n, p in host.items() if p == path]
        assert names and mounts.get(names[0]) == path, f"{path} not mounted from the host: {mounts}"
    # The node's filesystems, not the container's: its root where --path.rootfs points.
    rootfs = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--path.rootfs=")]
    roots = [n for n, p in host.items() if p == "/"]
    assert rootfs and roots and mounts.get(roots[0]) == rootfs[0], \
        f"--path.rootfs {rootfs} is not where the node's / is mounted: {mounts}"
    pm = kinds["PodMonitor"]
    assert pm["apiVersion"] == "monitoring.coreos.com/v1", pm["apiVersion"]
    assert pm["spec"]["selector"]["matchLabels"] == ds["spec"]["selector"]["matchLabels"]
    (ep,) = pm["spec"]["podMetricsEndpoints"]
    assert ep["port"] == "metrics" and ep["interval"] == "1s", ep


if __name__ == "__main__":
    main("deploy")
