#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""deploy/prometheus: promtool check and unit-test the rules, and prove the unit tests bite.

Every alert must have a severity, a summary and a description quoting its value, and
promtool test cases where it fires and where it does not. To show those cases really
depend on the alert, each alert is broken twice in a scratch copy: replaced by an
expression that never fires (its firing cases must then fail) and by one that always fires
at once (each of its not-firing cases must then fail).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import cleanup, main, test  # noqa: E402
from prom import DEPLOY, need  # noqa: E402

PROM = os.path.join(DEPLOY, "prometheus")
ALERTS = os.path.join(PROM, "kpulse-alerts.rules.yml")
RECORDING = os.path.join(PROM, "kpulse-recording.rules.yml")
TESTS = sorted(glob.glob(os.path.join(PROM, "tests", "*.yml")))


def yaml_load(path):
    try:
        import yaml
    except ImportError:
        from kpulse import Skip
        raise Skip("python3-yaml is not installed (make test-deps installs it)")
    with open(path) as f:
        return yaml.safe_load(f)


def promtool(*args, cwd=None):
    p = subprocess.run([need("promtool"), *args], capture_output=True, text=True,
                       timeout=300, cwd=cwd)
    return p.returncode, p.stdout + p.stderr


def alert_rules():
    return [r for g in yaml_load(ALERTS)["groups"] for r in g["rules"] if "alert" in r]


def alert_cases():
    """{alertname: [(test file, eval_time, firing?)]} from the promtool test files."""
    cases = {}
    for path in TESTS:
        for t in yaml_load(path).get("tests", []):
            for c in t.get("alert_rule_test", []):
                cases.setdefault(c["alertname"], []).append(
                    (os.path.basename(path), c["eval_time"], bool(c.get("exp_alerts"))))
    return cases


@test
def promtool_check_rules_and_config():
    for path in (RECORDING, ALERTS):
        rc, out = promtool("check", "rules", path)
        assert rc == 0 and "SUCCESS" in out, f"promtool check rules {path} (exit {rc}): {out}"
        assert "WARNING" not in out.upper(), f"promtool check rules {path}: {out}"
    rc, out = promtool("check", "config", os.path.join(PROM, "prometheus.yml"))
    assert rc == 0 and out.count("SUCCESS") >= 3, f"promtool check config (exit {rc}): {out}"


@test
def promtool_test_rules():
    assert len(TESTS) >= 3, f"rule test files: {TESTS}"
    rc, out = promtool("test", "rules", *TESTS)
    assert rc == 0, f"promtool test rules (exit {rc}):\n{out}"
    assert out.count("SUCCESS") == len(TESTS), out


@test
def every_alert_is_labelled_annotated_and_tested_both_ways():
    rules = alert_rules()
    assert len(rules) >= 9, [r["alert"] for r in rules]
    cases = alert_cases()
    problems = []
    for r in rules:
        name = r["alert"]
        if r.get("labels", {}).get("severity") not in ("critical", "warning"):
            problems.append(f"{name}: severity label {r.get('labels')}")
        ann = r.get("annotations", {})
        for key in ("summary", "description"):
            if not ann.get(key, "").strip():
                problems.append(f"{name}: no {key}")
        # Alerts whose value is a constant (absent() is 1, a 0 count or up flag is 0) name
        # what is missing instead of quoting a value.
        constant = ("KpulseJobAbsent", "KpulseProcessNotRunning", "KpulseCollectorDown")
        if name not in constant and "$value" not in ann.get("description", ""):
            problems.append(f"{name}: description does not quote $value")
        firing = [c for c in cases.get(name, []) if c[2]]
        quiet = [c for c in cases.get(name, []) if not c[2]]
        if not firing:
            problems.append(f"{name}: no promtool case where it fires")
        if not quiet:
            problems.append(f"{name}: no promtool case where it does not fire")
    assert not problems, "; ".join(problems)


def mutated_run(name, expr, drop_for, files):
    """promtool test rules @files with alert @name's expression replaced (scratch copy)."""
    import yaml
    d = tempfile.mkdtemp(prefix="kpulse-rules-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    doc = yaml_load(ALERTS)
    for g in doc["groups"]:
        for r in g["rules"]:
            if r.get("alert") == name:
                r["expr"] = expr
                if drop_for:
                    r.pop("for", None)
    with open(os.path.join(d, os.path.basename(ALERTS)), "w") as f:
        yaml.safe_dump(doc, f)
    os.mkdir(os.path.join(d, "tests"))
    for f in files:
        shutil.copy(os.path.join(PROM, "tests", f), os.path.join(d, "tests"))
    return promtool("test", "rules", *sorted(glob.glob(os.path.join(d, "tests", "*.yml"))))


@test
def rule_tests_fail_when_an_alert_is_broken():
    cases = alert_cases()
    problems = []
    for r in alert_rules():
        name = r["alert"]
        files = sorted({f for f, _, _ in cases[name]})
        # Never fires: every firing case of this alert must be reported.
        rc, out = mutated_run(name, "vector(1) == 0", drop_for=False, files=files)
        for _, t, firing in cases[name]:
            if firing and f"alertname: {name}, time: {t}," not in out:
                problems.append(f"{name} never firing: the case at {t} still passes")
        # Fires at once, always: every not-firing case of this alert must be reported.
        rc2, out2 = mutated_run(name, "vector(1)", drop_for=True, files=files)
        for _, t, firing in cases[name]:
            if not firing and f"alertname: {name}, time: {t}," not in out2:
                problems.append(f"{name} always firing: the case at {t} still passes")
        if rc == 0 or rc2 == 0:
            problems.append(f"{name}: promtool passed a broken copy (exit {rc}, {rc2})")
    assert not problems, "; ".join(problems)


if __name__ == "__main__":
    main("rules")
