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
    names = [line.split("`")[1] for line in out.splitlines() if line.startswith("| `")]
    dup = sorted({n for n in names if names.count(n) > 1})
    assert names and not dup, f"families named twice in the catalogue: {dup}"


if __name__ == "__main__":
    main("docs")
