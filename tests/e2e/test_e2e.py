#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The real binary end to end: HTTP behaviour, promtool, a real Prometheus, start-up errors."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import (Kpulse, cleanup, free_port, http_get, main, need_root,  # noqa: E402
                    online_cpus, run_kpulse, test, wait_for)
from prom import need, promql, start_prometheus  # noqa: E402


@test
def http_endpoints():
    need_root()
    k = Kpulse()
    status, headers, body = http_get(k.url + "/metrics")
    assert status == 200, status
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8", headers["Content-Type"]
    assert b"# TYPE kpulse_cpu_busy_seconds_total counter" in body
    status, headers, body = http_get(k.url + "/metrics", method="HEAD")
    assert status == 200 and body == b"", (status, body[:50])
    assert int(headers["Content-Length"]) > 100, headers["Content-Length"]
    status, headers, _ = http_get(k.url + "/metrics", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD", (status, headers["Allow"])
    assert http_get(k.url + "/nope")[0] == 404
    assert http_get(k.url + "/metrics/extra")[0] == 404
    status, headers, body = http_get(k.url + "/")
    assert status == 200 and b'href="/metrics"' in body, (status, body)
    assert http_get(k.url + "/healthz")[0] == 200


@test
def exposition_has_every_family_once():
    need_root()
    k = Kpulse()
    m = k.next_tick()
    types = [l for l in m.text.splitlines() if l.startswith("# TYPE ")]
    names = [l.split()[2] for l in types]
    assert len(names) == len(set(names)), f"a family has TYPE twice: {names}"
    assert names == sorted(names), f"families not sorted: {names}"
    for fam in ("kpulse_cpu_busy_seconds_total", "kpulse_cpu_busy_ratio",
                "kpulse_cpu_busy_ratio_all", "kpulse_sched_context_switches_total"):
        assert fam in names, f"{fam} missing"
    assert m.get("kpulse_collector_up", collector="sched") == 1
    build = m.series("kpulse_build_info")
    assert len(build) == 1 and build[0][1] == 1 and build[0][0]["version"], build
    cpus = {l["cpu"] for l, _ in m.series("kpulse_cpu_busy_ratio")}
    assert cpus == {str(c) for c in online_cpus()}, f"ratios for {cpus}, online {online_cpus()}"


@test
def promtool_check_metrics_is_clean():
    need_root()
    promtool = need("promtool")
    k = Kpulse()
    text = k.next_tick().text
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        f"promtool check metrics (exit {p.returncode}): {p.stdout}{p.stderr}"


@test
def prometheus_scrapes_busy_ratio_per_cpu():
    need_root()
    k = Kpulse()
    url = start_prometheus([f"127.0.0.1:{k.port}"])
    want = len(online_cpus())
    res = wait_for(lambda: (lambda r: r if len(r) == want else None)(
        promql(url, "kpulse_cpu_busy_ratio")), timeout=30, step=0.5)
    assert res, f"kpulse_cpu_busy_ratio: {promql(url, 'kpulse_cpu_busy_ratio')} (want {want} series)"
    cpus = sorted(int(r["metric"]["cpu"]) for r in res)
    assert cpus == online_cpus(), cpus
    for r in res:
        assert 0 <= float(r["value"][1]) <= 1, r
    up = promql(url, "up")
    assert up and up[0]["value"][1] == "1", up


@test
def port_in_use_is_a_clear_error():
    need_root()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        rc, out = run_kpulse(f"--web.listen-address=127.0.0.1:{port}")
    assert rc == 1, (rc, out)
    assert out.strip() == f"kpulse: error: failed to listen on 127.0.0.1:{port}: Address already in use", out


@test
def bad_flags_are_clear_errors():
    cases = {
        ("--sampler.interval=soon",): "kpulse: --sampler.interval=soon: not a duration (try 1s, 500ms, 2m)",
        ("--sampler.interval=0s",): "kpulse: --sampler.interval: must be between 10ms and 1h",
        ("--log.level=loud",): "kpulse: --log.level=loud: expected error, warn, info or debug",
        ("--no-such-flag",): "kpulse: unknown flag --no-such-flag (see --help)",
        ("--collector.sched=maybe",): "kpulse: --collector.sched=maybe: expected true or false",
        ("--web.telemetry-path=metrics",): "kpulse: --web.telemetry-path=metrics: must start with / and not be /, /healthz, /api/v1/history or under /static/",
        ("--web.listen-address=nonsense",): "kpulse: error: failed to listen on nonsense: not host:port, :port or [v6]:port",
        ("stray",): "kpulse: unexpected argument 'stray' (flags start with --)",
    }
    for args, want in cases.items():
        rc, out = run_kpulse(*args)
        assert rc != 0, f"{args}: exit 0"
        assert out.strip() == want, f"{args}: {out.strip()!r}, want {want!r}"
    rc, out = run_kpulse("--help")
    assert rc == 0 and "--web.listen-address" in out and "--[no-]collector.sched" in out, out
    rc, out = run_kpulse("--version")
    assert rc == 0 and out.startswith("kpulse 0."), out


@test
def not_root_is_a_clear_error():
    need_root()

    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    # kpulse itself must be reachable by nobody: copy it somewhere world-readable.
    d = tempfile.mkdtemp(prefix="kpulse-nobody-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    os.chmod(d, 0o755)
    exe = shutil.copy(os.path.join(os.path.dirname(__file__), "..", "..", "kpulse"), d)
    p = subprocess.run([exe, f"--web.listen-address=127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, preexec_fn=drop, timeout=10)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "kpulse: error: kpulse needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)" in p.stderr, p.stderr


@test
def missing_btf_is_a_clear_error():
    need_root()
    need("unshare")
    # A private mount namespace where /sys/kernel/btf is an empty tmpfs.
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs none /sys/kernel/btf && exec \"$0\" \"$@\"",
                        os.path.join(os.path.dirname(__file__), "..", "..", "kpulse"),
                        f"--web.listen-address=127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "kpulse: error: kernel BTF is missing (/sys/kernel/btf/vmlinux)" in p.stderr, p.stderr


if __name__ == "__main__":
    main("e2e")
