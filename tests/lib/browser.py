# SPDX-License-Identifier: GPL-2.0
"""Headless Chromium (Debian's chromium) driven over its DevTools protocol.

The protocol runs over a pipe (--remote-debugging-pipe: commands on the child's fd 3,
answers and events on its fd 4, each message JSON ended by a NUL byte), so no port is
opened and no WebSocket library is needed: the standard library is enough.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

from kpulse import Skip, cleanup

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--remote-debugging-pipe"]


class Browser:
    """One Chromium with one page; call() sends a command and waits for its answer, events
    that arrive meanwhile go to on_event()."""

    def __init__(self, width=1400, height=1800):
        exe = shutil.which("chromium")
        if not exe:
            raise Skip("chromium is not installed (make test-deps installs it)")
        self.profile = tempfile.mkdtemp(prefix="kpulse-chromium-")
        cmd_r, self._cmd_w = os.pipe()   # we write commands, chromium reads fd 3
        self._out_r, out_w = os.pipe()   # chromium writes fd 4, we read

        def child_fds():
            # Out of the way first, so that neither end is closed by the other's dup2.
            r, w = os.dup(cmd_r), os.dup(out_w)
            os.dup2(r, 3, inheritable=True)
            os.dup2(w, 4, inheritable=True)

        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["chromium", *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            pass_fds=(3, 4), preexec_fn=child_fds)
        os.close(cmd_r)
        os.close(out_w)
        cleanup(self.close)
        self._buf = b""
        self._id = 0
        self._answers = {}
        self._ignored = set()
        self.events = []
        self.on_event = None
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"],
                                 flatten=True)["sessionId"]

    def _send(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._cmd_w, data)
            data = data[n:]

    def _recv(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._out_r], [], [], left)[0]:
                raise AssertionError(f"chromium did not answer in {timeout}s: "
                                     f"{self.output()[-2000:]}")
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk:
                raise AssertionError(f"chromium exited: {self.output()[-2000:]}")
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def notify(self, method, **params):
        """Send @method to the page without waiting for its answer (from an event handler)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if getattr(self, "session", None):
            msg["sessionId"] = self.session
        self._ignored.add(self._id)
        self._send(msg)
        return self._id

    def call(self, method, timeout=30, **params):
        """Send @method to the page (to the browser before a page is attached) and wait for
        its answer; events that arrive meanwhile are handled, even by handlers that send
        commands of their own."""
        mid = self.notify(method, **params)
        self._ignored.discard(mid)
        while mid not in self._answers:
            self._dispatch(self._recv(timeout))
        m = self._answers.pop(mid)
        if "error" in m:
            raise AssertionError(f"{method}: {m['error']}")
        return m.get("result", {})

    def _dispatch(self, m):
        if "id" in m:
            if m["id"] in self._ignored:
                self._ignored.discard(m["id"])
                if "error" in m:
                    self.events.append(m)
            else:
                self._answers[m["id"]] = m
            return
        self.events.append(m)
        if self.on_event:
            self.on_event(m)

    def pump(self, seconds):
        """Handle events for @seconds (e.g. authentication challenges)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self._dispatch(self._recv(left))
            except AssertionError as e:
                if "did not answer" in str(e):
                    return
                raise

    def evaluate(self, expr, timeout=30):
        """The value of the JavaScript @expr in the page (awaited if it is a promise)."""
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expr,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expr, timeout=20, step=0.2):
        """Poll the JavaScript @expr until it is truthy; its last value."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.evaluate(expr)
            if v or time.monotonic() > deadline:
                return v
            self.pump(step)

    def screenshot(self, path):
        """Save a PNG of the whole page at @path."""
        m = self.call("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        r = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": size["width"],
                            "height": size["height"], "scale": 1})
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return path

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._cmd_w, self._out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
