#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""docs/METRICS.md is generated from the collectors' declarations and must be current;
README's fleet layout is deploy/'s."""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import ROOT, main, run_kpulse, test  # noqa: E402


@test
def metrics_doc_is_generated_and_current():
    rc, out = run_kpulse("--print-metrics-doc")
    assert rc == 0, out
    with open(os.path.join(ROOT, "docs", "METRICS.md")) as f:
        assert f.read() == out, "docs/METRICS.md is stale: run 'make docs' and commit it"


@test
def family_names_are_unique():
    """Every family is named once: a <family>_max peak never shadows a family of its own."""
    rc, out = run_kpulse("--print-metrics-doc")
    assert rc == 0, out
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| `")]
    names = [r[1].strip().strip("`") for r in rows]
    dup = sorted({n for n in names if names.count(n) > 1})
    assert names and not dup, f"families named twice in the catalogue: {dup}"
    # OpenMetrics names a family without its _total (counter) or _info (info) suffix, so
    # kpulse_x_info (info) and a gauge kpulse_x would be one family there, which strict
    # parsers reject ("Received metadata after samples").
    om = {}
    for r in rows:
        name, kind = r[1].strip().strip("`"), r[2].strip()
        suffix = {"counter": "_total", "info": "_info"}.get(kind)
        base = name[:-len(suffix)] if suffix and name.endswith(suffix) else name
        om.setdefault(base, []).append(name)
    clash = {b: n for b, n in om.items() if len(n) > 1}
    assert not clash, f"families that are one OpenMetrics family: {clash}"


def readme_section(title):
    """The text of README.md's "## @title" section, up to the next "## " heading."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


@test
def fleet_section_names_the_deploy_configs_as_they_are():
    """README "Monitoring a fleet" is the layout of deploy/: every file it names exists,
    every config there is named, and the alerts, recordings, timers and tests it quotes are
    the ones in deploy/ and tests/e2e/."""
    import yaml
    sec = readme_section("Monitoring a fleet")
    deploy = os.path.join(ROOT, "deploy")
    named = set(re.findall(r"deploy/[\w./*-]+[\w*]", sec))
    gone = sorted(p for p in named if not glob.glob(os.path.join(ROOT, p)))
    assert not gone, f"README names {gone}, not in the tree"
    configs = sorted(os.path.relpath(os.path.join(r, f), ROOT)
                     for r, _, fs in os.walk(deploy) for f in fs
                     if os.path.basename(r) != "tests")
    unnamed = [c for c in configs if c not in sec and os.path.basename(c) not in sec]
    assert len(configs) >= 8 and not unnamed, f"configs in deploy/ the README omits: {unnamed}"

    prom = os.path.join(deploy, "prometheus")
    with open(os.path.join(prom, "kpulse-alerts.rules.yml")) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    alerts = {r["alert"]: r for r in rules}
    quoted = set(re.findall(r"`(Kpulse[A-Z]\w+)`", sec))
    assert quoted == set(alerts), f"README lists alerts {sorted(quoted - set(alerts))} that " \
        f"deploy/ lacks and omits {sorted(set(alerts) - quoted)}"
    with open(os.path.join(prom, "kpulse-recording.rules.yml")) as f:
        records = {r["record"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]}
    quoted = set(re.findall(r"\binstance\w*:kpulse_\w+:\w+", sec))
    assert quoted and quoted <= records, f"README quotes recordings {sorted(quoted - records)}"

    # The timers it quotes for the deployed configs.
    with open(os.path.join(deploy, "alertmanager", "alertmanager.yml")) as f:
        route = yaml.safe_load(f)["route"]
    m = re.search(r"deployed `for: (\w+)`\s+and\s+`group_wait: (\w+)`", sec)
    assert m and (m.group(1), m.group(2)) == (alerts["KpulseHostDown"]["for"],
                                              route["group_wait"]), \
        f"README quotes {m and m.group(0)}; deploy/ has for: {alerts['KpulseHostDown']['for']} " \
        f"and group_wait: {route['group_wait']}"
    assert "`alertname` and `instance`" in sec and route["group_by"] == ["alertname", "instance"]
    with open(os.path.join(deploy, "victoria-metrics", "victoria-metrics.default")) as f:
        vm = f.read()
    with open(os.path.join(prom, "prometheus.yml")) as f:
        shard = yaml.safe_load(f)
    assert ":8428" in vm and ":8428/api/v1/write" in shard["remote_write"][0]["url"] and \
        "store:8428" in sec, "README, the store and the shards disagree on the store's port"
    am = shard["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0]
    assert am.endswith(":9093") and "Alertmanager :9093" in sec, am
    # The YAML it shows parses, and the tests it names exist.
    for block in re.findall(r"```yaml\n(.*?)```", sec, re.S):
        yaml.safe_load(block)
    tests = set(re.findall(r"\btest_\w+\.py\b", sec))
    absent = sorted(t for t in tests if not os.path.exists(os.path.join(ROOT, "tests", "e2e", t)))
    assert len(tests) >= 5 and not absent, f"README names tests that do not exist: {absent}"
    print(f"  README names all {len(configs)} deploy/ configs and {len(alerts)} alerts")


if __name__ == "__main__":
    main("docs")
