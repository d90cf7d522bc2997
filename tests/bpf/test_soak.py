#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The soak of tests/lib/soak.py for 60 s, so make test runs it (make soak runs it long):
processes, cgroups, veth devices, tmpfs mounts and watched names churned under 10 scrapes a
second; no scrape fails, RSS, PSS and descriptors level off, and no label the churn made
outlives it."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import main, need_root, test  # noqa: E402
from soak import run_soak, table  # noqa: E402


@test
def soak_60_seconds_with_churn():
    need_root()
    rows, failures, s = run_soak(int(os.environ.get("SOAK_SECONDS", "60")))
    print(table(rows))
    assert not failures, "; ".join(failures)
    c = s["churn"]
    assert c["processes"] > 1000 and c["cgroups"] > 20 and c["devices"] > 10 and \
        c["mounts"] > 20, f"too little churn to mean anything: {c}"
    rss = [f"{v / 2**20:.1f}" for v in s["rss"]]
    print(f"  RSS {' / '.join(rss)} MiB (start / peak / end), series "
          f"{' / '.join(map(str, s['series']))}, {s['scrapes'][0]} scrapes, churn {c}")


if __name__ == "__main__":
    main("soak")
