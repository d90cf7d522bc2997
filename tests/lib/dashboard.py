# SPDX-License-Identifier: GPL-2.0
"""deploy/grafana/kpulse.json as the tests read it: its panels' queries, with Grafana's
variables substituted the way Grafana would for one instance and a 1 s scrape interval."""
import json
import os

from prom import DEPLOY

DASHBOARD = os.path.join(DEPLOY, "grafana", "kpulse.json")
# What Grafana substitutes for a 1 s scrape interval: $__rate_interval is
# max($__interval + scrape interval, 4 * scrape interval) = 4s; the range is the ~20 s the
# test lets Prometheus scrape.
GRAFANA_VARS = {"$__rate_interval": "4s", "$__interval_ms": "1000", "$__interval": "1s",
                "$__range_s": "20", "$__range_ms": "20000", "$__range": "20s"}


def load():
    with open(DASHBOARD) as f:
        return json.load(f)


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def targets(dash):
    """[(panel title, refId, expr)] of every panel with queries."""
    out = []
    for p in all_panels(dash["panels"]):
        for t in p.get("targets", []):
            out.append((p["title"], t.get("refId", "?"), t.get("expr", "")))
    return out


def substitute(expr, instance):
    for var, val in sorted(GRAFANA_VARS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(var, val).replace("${" + var[1:] + "}", val)
    expr = expr.replace("${instance}", instance).replace("$instance", instance)
    assert "$" not in expr, f"unsubstituted variable left in {expr!r}"
    return expr
