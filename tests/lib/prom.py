# SPDX-License-Identifier: GPL-2.0
"""Real servers for end-to-end tests: Prometheus (start it, query it, read its alerts),
Alertmanager with a webhook receiver and a mailbox, and VictoriaMetrics as a long-term store."""
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

from kpulse import ROOT, Skip, cleanup, free_port, http_get, terminate, wait_for

DEPLOY = os.path.join(ROOT, "deploy")


def need(tool):
    """The path of @tool, or Skip (a failure under CI=true) when it is not installed."""
    path = shutil.which(tool)
    if not path:
        raise Skip(f"{tool} is not installed (make test-deps installs it)")
    return path


def start_prometheus(targets, extra_config="", rule_files=(), listen="127.0.0.1",
                     external_labels=None, **sections):
    """A real Prometheus scraping @targets (job kpulse) every second and evaluating
    @rule_files (paths) every second; returns its base URL. Stopped at cleanup.
    @extra_config is appended to scrape_configs (more jobs); @sections are more top-level
    sections (alerting=..., remote_write=...), as Python values written as YAML."""
    prom = need("prometheus")
    d = tempfile.mkdtemp(prefix="kpulse-prom-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    port = free_port()
    rules = "".join(f"  - {json.dumps(os.path.abspath(r))}\n" for r in rule_files)
    # JSON is YAML: one line per top-level section.
    top = "".join(f"{k}: {json.dumps(v)}\n" for k, v in sections.items())
    labels = f"  external_labels: {json.dumps(external_labels)}\n" if external_labels else ""
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "  evaluation_interval: 1s\n" + labels
                + (f"rule_files:\n{rules}" if rules else "") + top
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


def _start_server(name, argv, url, ready_path, d):
    """Start @argv (logging into @d), wait until @url@ready_path answers 200, stop at cleanup."""
    log = open(os.path.join(d, f"{name}.log"), "w")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    cleanup(lambda: terminate(p, 20))

    def ready():
        assert p.poll() is None, f"{name} exited: " + open(log.name).read()[-2000:]
        try:
            return http_get(url + ready_path, timeout=1)[0] == 200
        except OSError:
            return False
    assert wait_for(ready, timeout=30, step=0.2), \
        f"{name} did not become ready: " + open(log.name).read()[-2000:]
    return url


def start_alertmanager(config):
    """A real Alertmanager (Debian's prometheus-alertmanager) with @config (a dict), no
    clustering; returns its base URL. Stopped at cleanup."""
    am = need("prometheus-alertmanager")
    d = tempfile.mkdtemp(prefix="kpulse-am-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    path = os.path.join(d, "alertmanager.yml")
    with open(path, "w") as f:
        json.dump(config, f)
    url = f"http://127.0.0.1:{free_port()}"
    return _start_server("alertmanager", [
        am, f"--config.file={path}", f"--storage.path={d}/data",
        f"--web.listen-address={url[7:]}", "--cluster.listen-address="], url, "/-/ready", d)


def deployed_victoria_metrics_args():
    """The ARGS of deploy/victoria-metrics/victoria-metrics.default, split as the shell of
    Debian's unit (ExecStart=/usr/bin/victoria-metrics $ARGS, EnvironmentFile=) would."""
    import shlex
    path = os.path.join(DEPLOY, "victoria-metrics", "victoria-metrics.default")
    with open(path) as f:
        lines = [l for l in f if l.startswith("ARGS=")]
    assert len(lines) == 1, f"{path}: want one ARGS= line, found {lines}"
    return shlex.split(shlex.split(lines[0])[0][len("ARGS="):])


def start_victoria_metrics():
    """A real single-node VictoriaMetrics (Debian's victoria-metrics) run with deploy's
    ARGS (so a flag it does not know fails the test), but storing in a scratch directory,
    listening on a free loopback port and showing samples as soon as they arrive; returns
    its base URL (remote_write at /api/v1/write, the Prometheus query API under /api/v1/).
    Stopped at cleanup."""
    vm = need("victoria-metrics")
    d = tempfile.mkdtemp(prefix="kpulse-vm-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    url = f"http://127.0.0.1:{free_port()}"
    ours = ("-storageDataPath=", "-httpListenAddr=", "-search.latencyOffset=")
    deployed = [a for a in deployed_victoria_metrics_args() if not a.startswith(ours)]
    return _start_server("victoria-metrics", [
        vm, *deployed, f"-storageDataPath={d}/data", f"-httpListenAddr={url[7:]}",
        "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=WARN"],
        url, "/health", d)


class Mailbox:
    """A minimal SMTP server on a loopback port, enough for Alertmanager's email notifier
    (no TLS, no auth): every message is kept as (receive time, envelope recipients, its
    text). Alertmanager needs smtp_require_tls: false to use it."""

    def __init__(self):
        import socketserver
        self.received = []
        lock = self.lock = threading.Lock()
        received = self.received

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def reply(self, line):
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                rcpt = []
                self.reply("220 localhost ESMTP kpulse-test")
                while True:
                    line = self.rfile.readline(65536)
                    if not line:
                        return
                    verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.reply("250-localhost")
                        self.reply("250 8BITMIME")
                    elif verb == "RCPT":
                        rcpt.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        data = []
                        while True:
                            d = self.rfile.readline(1 << 20)
                            if not d or d in (b".\r\n", b".\n"):
                                break
                            data.append(d[1:] if d.startswith(b"..") else d)
                        with lock:
                            received.append((time.time(), list(rcpt),
                                             b"".join(data).decode("utf-8", "replace")))
                        rcpt.clear()
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:  # HELO, MAIL, RSET, NOOP
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        cleanup(self.server.shutdown)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def messages(self, to=None):
        """[(time, recipients, text)] received so far (sent to @to)."""
        with self.lock:
            return [m for m in self.received if to is None or to in m[1]]


class Webhook:
    """An HTTP receiver for Alertmanager's webhook notifications on a loopback port:
    every POST is kept as (receive time, path, JSON payload)."""

    def __init__(self):
        self.received = []
        lock = self.lock = threading.Lock()
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    received.append((time.time(), self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        cleanup(self.server.shutdown)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def notifications(self):
        """[(time, path, payload)] received so far."""
        with self.lock:
            return list(self.received)

    def alerts(self, path=None):
        """[(time, path, status, alert)] for every alert of every notification (to @path)."""
        return [(t, p, a["status"], a) for t, p, n in self.notifications()
                if path is None or p == path for a in n["alerts"]]
