# SPDX-License-Identifier: GPL-2.0
"""A real Prometheus server for end-to-end tests: start it, query it, read its alerts."""
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse

from kpulse import ROOT, Skip, cleanup, free_port, http_get, terminate, wait_for

DEPLOY = os.path.join(ROOT, "deploy")


def need(tool):
    """The path of @tool, or Skip (a failure under CI=true) when it is not installed."""
    path = shutil.which(tool)
    if not path:
        raise Skip(f"{tool} is not installed (make test-deps installs it)")
    return path


def start_prometheus(targets, extra_config="", rule_files=(), listen="127.0.0.1"):
    """A real Prometheus scraping @targets (job kpulse) every second and evaluating
    @rule_files (paths) every second; returns its base URL. Stopped at cleanup."""
    prom = need("prometheus")
    d = tempfile.mkdtemp(prefix="kpulse-prom-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    port = free_port()
    rules = "".join(f"  - {json.dumps(os.path.abspath(r))}\n" for r in rule_files)
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "  evaluation_interval: 1s\n"
                + (f"rule_files:\n{rules}" if rules else "")
                + "scrape_configs:\n  - job_name: kpulse\n    static_configs:\n"
                f"      - targets: {json.dumps(targets)}\n" + extra_config)
    log = open(os.path.join(d, "prometheus.log"), "w")
    p = subprocess.Popen([prom, f"--config.file={d}/prometheus.yml",
                          f"--storage.tsdb.path={d}/data",
                          f"--web.listen-address={listen}:{port}"],
                         stdout=log, stderr=subprocess.STDOUT)

    cleanup(lambda: terminate(p, 20))
    url = f"http://{listen}:{port}"
    ok = wait_for(lambda: _ready(url), timeout=30, step=0.2)
    assert ok, "prometheus did not become ready: " + open(log.name).read()[-2000:]
    return url


def _ready(url):
    try:
        return http_get(url + "/-/ready", timeout=1)[0] == 200
    except OSError:
        return False


def api(url, path, **params):
    """The "data" of a successful Prometheus API answer; asserts on errors."""
    status, _, body = http_get(url + path + ("?" + urllib.parse.urlencode(params)
                                             if params else ""), timeout=30)
    data = json.loads(body)
    assert status == 200 and data["status"] == "success", \
        f"{path} {params}: {status} {body[:300]}"
    return data["data"]


def query(url, expr, time=None):
    """(ok, result or error message) of an instant query; errors are answers too."""
    params = {"query": expr}
    if time is not None:
        params["time"] = f"{time:.3f}"
    status, _, body = http_get(url + "/api/v1/query?" + urllib.parse.urlencode(params),
                               timeout=30)
    try:
        data = json.loads(body)
    except ValueError:
        return False, f"HTTP {status}: {body[:300]!r}"
    if status != 200 or data.get("status") != "success":
        return False, f"HTTP {status}: {data.get('errorType')}: {data.get('error')}"
    return True, data["data"]["result"]


def promql(url, expr):
    """The result of an instant query; asserts it succeeded."""
    ok, res = query(url, expr)
    assert ok, f"{expr}: {res}"
    return res


def alerts(url):
    """The active (pending or firing) alerts: [{labels, annotations, state, value, ...}]."""
    return api(url, "/api/v1/alerts")["alerts"]
