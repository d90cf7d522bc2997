#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""deploy/grafana/kpulse.json: every panel query answers, with data, from a live Prometheus.

The real kpulse is scraped every second by a real Prometheus for ~20 s; then every target
expression of every panel, with Grafana's variables substituted the way Grafana would for
this instance and a 1 s scrape interval, runs as an instant query. A query error or an
empty result fails the test, naming the panel and the expression.
"""
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dashboard import all_panels, load, substitute, targets  # noqa: E402
from kpulse import (KPULSE, Kpulse, cleanup, http_get, main, need_root, test,  # noqa: E402
                    wait_for)
from oom import oom_victim  # noqa: E402
from proc import write_direct  # noqa: E402
from prom import DEPLOY, query, start_prometheus  # noqa: E402

RULES = [os.path.join(DEPLOY, "prometheus", f) for f in
         ("kpulse-recording.rules.yml", "kpulse-alerts.rules.yml")]


@test
def dashboard_shape():
    d = load()
    assert d.get("uid") and d.get("title") and d.get("schemaVersion"), "uid/title/schemaVersion"
    variables = {v["name"]: v for v in d["templating"]["list"]}
    inst = variables.get("instance")
    assert inst and inst["type"] == "query", f"no instance query variable: {list(variables)}"
    q = inst["query"]["query"] if isinstance(inst["query"], dict) else inst["query"]
    assert q == "label_values(kpulse_build_info, instance)", q
    ids = [p["id"] for p in all_panels(d["panels"])]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    t = targets(d)
    assert len(t) >= 20, f"only {len(t)} queries"
    for title, ref, expr in t:
        assert expr, f"panel {title!r} [{ref}]: empty expression"
        # Every selector is limited to the chosen instance.
        assert 'instance="$instance"' in expr, f"panel {title!r} [{ref}] ignores $instance: {expr}"
    # No panel covers another (Grafana would push one aside, far from its row).
    boxes = [(p["title"], p["gridPos"]) for p in d["panels"]]
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            assert not (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
                        a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]), \
                f"panels {ta!r} {a} and {tb!r} {b} overlap"
    types = {p["type"] for p in all_panels(d["panels"])}
    assert "heatmap" in types, types
    for p in all_panels(d["panels"]):
        if p["type"] != "row":
            assert p.get("datasource", {}).get("uid") == "${datasource}", \
                f"panel {p['title']!r} does not use the datasource variable"


def held_loopback_connection():
    """A loopback listener with one accepted connection, both held open until cleanup: the
    port of the watched-port RTT panel (the first walk of iter/tcp, at kpulse's first tick,
    finds it). Its port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.create_connection(srv.getsockname())
    s, _ = srv.accept()
    cleanup(lambda: [x.close() for x in (c, s, srv)])
    return srv.getsockname()[1]


# The collectors of issue 16 (what only the kernel sees): each of their families is queried by
# a panel, but for these, whose panel plots the same figure another way.
KERNEL_COLLECTORS = ("block", "oom", "pressure", "vmstat", "netstat", "tcprtt")
NO_PANEL = {
    "kpulse_pressure_stalled_seconds_total":
        "plotted as kpulse_pressure_stalled_ratio, its growth per second at every tick",
    "kpulse_cgroup_pressure_stalled_seconds_total":
        "plotted as kpulse_cgroup_pressure_stalled_ratio, its growth per second at every tick",
}


def metrics_doc_families():
    """{collector: [family]} from docs/METRICS.md (test_docs keeps it current)."""
    out, section = {}, None
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "METRICS.md")) as f:
        for line in f:
            if line.startswith("## "):
                section = line[3:].strip()
            m = re.match(r"\| `(kpulse_[a-z0-9_]+)` \|", line)
            if m and section:
                out.setdefault(section, []).append(m.group(1))
    return out


@test
def every_kernel_family_has_a_panel():
    """Every family of the block, oom, pressure, vmstat, netstat and tcprtt collectors is in
    the expression of some panel (a histogram by its _bucket, _sum or _count), but for the
    few NO_PANEL names, each with the reason; and NO_PANEL names no family that has one."""
    docs = metrics_doc_families()
    exprs = " ".join(expr for _, _, expr in targets(load()))
    missing, checked = [], 0
    for c in KERNEL_COLLECTORS:
        assert docs.get(c), f"docs/METRICS.md has no {c} section: {sorted(docs)}"
        for fam in docs[c]:
            checked += 1
            used = re.search(r"(?<![\w:])" + re.escape(fam) + r"(_bucket|_sum|_count)?(?![\w:])",
                             exprs)
            if fam in NO_PANEL:
                assert not used, f"{fam} is in a panel now: take it out of NO_PANEL"
            elif not used:
                missing.append(f"{c}: {fam}")
    print(f"  {checked} families of {', '.join(KERNEL_COLLECTORS)}; {len(NO_PANEL)} shown "
          "another way")
    assert not missing, f"{len(missing)} families without a panel: {', '.join(missing)}"


def start_kpulse():
    args = []
    # The watched-process panel needs a watch list (the flag arrives with the sched work).
    help_text = subprocess.run([KPULSE, "--help"], capture_output=True, text=True).stdout
    if "--process.watch" in help_text:
        args.append("--process.watch=kpulse")
    args.append(f"--port.watch={held_loopback_connection()}")
    k = Kpulse(*args)
    # The OOM panels and KpulseOomKill read the last victim: make one (a memory hog in a
    # 64 MiB cgroup; its info series exists from then on).
    oom_victim(f"/kpulse-dash-{os.getpid()}-{k.port}", "victim")
    # The disk latency panels need a request on a real disk since kpulse started.
    path = f"/var/tmp/kpulse-dash-{os.getpid()}-{k.port}"
    write_direct(path, 1 << 20)
    os.unlink(path)
    return k


@test
def every_metric_the_rules_use_is_exported():
    """A misspelt name in a rule would make its alert silently never fire."""
    need_root()
    import yaml
    used = {}
    for path in RULES:
        with open(path) as f:
            for g in yaml.safe_load(f)["groups"]:
                for r in g["rules"]:
                    for name in re.findall(r"(?<![\w:])kpulse_[a-z0-9_]+", r["expr"]):
                        used.setdefault(name, r.get("alert") or r.get("record"))
    # Families kpulse exports (a family without series is not printed). A veth pair that is
    # up reports a link speed (10 Gbit/s), which a host whose NICs know none (virtio) lacks.
    veth = f"kpdash{os.getpid()}"
    subprocess.run(["ip", "link", "add", veth + "a", "type", "veth", "peer", "name",
                    veth + "b"], check=True)
    cleanup(lambda: subprocess.run(["ip", "link", "del", veth + "a"], check=False))
    for end in "ab":
        subprocess.run(["ip", "link", "set", veth + end, "up"], check=True)
    k = start_kpulse()
    k.next_tick()
    text = k.next_tick().text
    exported = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, kind = line.split()
            exported |= {fam} | ({fam + s for s in ("_bucket", "_sum", "_count")}
                                 if kind == "histogram" else set())
        elif line and not line.startswith("#"):
            exported.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    missing = sorted(f"{n} (in {rule})" for n, rule in used.items() if n not in exported)
    assert not missing, f"{len(missing)} of {len(used)} metric names used by the rules are " \
        f"not exported by kpulse: {', '.join(missing)}"


@test
def every_panel_query_returns_data():
    need_root()
    k = start_kpulse()
    instance = f"127.0.0.1:{k.port}"
    url = start_prometheus([instance])
    # ~20 s of 1 s scrapes.
    n = wait_for(lambda: (lambda r: r and float(r[0]["value"][1]) >= 20 and r)(
        query(url, f'count_over_time(up{{instance="{instance}"}}[30s])')[1]), timeout=45, step=1)
    assert n, f"Prometheus did not collect 20 scrapes of {instance}: {n}"
    # The instance variable's query lists this kpulse.
    status, _, body = http_get(url + "/api/v1/label/instance/values?" +
                               urllib.parse.urlencode({"match[]": "kpulse_build_info"}))
    values = json.loads(body)["data"]
    assert instance in values, f"label_values(kpulse_build_info, instance) = {values}"
    problems = []
    t = targets(load())
    for title, ref, expr in t:
        e = substitute(expr, instance)
        ok, res = query(url, e)
        if not ok:
            problems.append(f"panel {title!r} [{ref}]: query error: {res}\n      {e}")
        elif not res:
            problems.append(f"panel {title!r} [{ref}]: empty result\n      {e}")
    for p in problems:
        print("  " + p)
    assert not problems, f"{len(problems)} of {len(t)} panel queries failed: " + \
        "; ".join(p.split("\n")[0] for p in problems)


@test
def recording_rules_record_data():
    """Every recording rule, evaluated by Prometheus over the live kpulse, records series;
    the CPU mode shares of the host sum to 1."""
    need_root()
    import yaml
    k = start_kpulse()
    instance = f"127.0.0.1:{k.port}"
    url = start_prometheus([instance], rule_files=RULES[:1])
    with open(RULES[0]) as f:
        names = [r["record"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    # rate() over [1m] needs two scrapes; give it a few more.
    wait_for(lambda: (lambda r: r and float(r[0]["value"][1]) >= 6)(
        query(url, f'count_over_time(up{{instance="{instance}"}}[1m])')[1]), timeout=30, step=1)

    def missing():
        return [n for n in names if not query(url, f'{n}{{instance="{instance}"}}')[1]]
    left = [] if wait_for(lambda: not missing(), timeout=15, step=1) else missing()
    assert not left, f"recording rules with no data over a live kpulse: {left}"
    ok, res = query(url, f'sum(instance:kpulse_cpu_mode:ratio_rate1m{{instance="{instance}"}})')
    assert ok and res and abs(float(res[0]["value"][1]) - 1) < 0.01, \
        f"CPU mode shares sum to {res}, want 1"


if __name__ == "__main__":
    main("dashboard")
