#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""docs/METRICS.md is generated from the collectors' declarations and must be current."""
import os
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


if __name__ == "__main__":
    main("docs")
