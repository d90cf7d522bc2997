#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""HTTP under hostile load, against the real binary: malformed requests, slowloris,
connections reset mid-response, 2 000 concurrent connections, a wrong-password flood, and
garbage TLS handshakes.

Throughout each attack a scraper (its own thread, a new connection per scrape, like a
Prometheus that does not keep connections alive) must get every answer, and its p99
latency must stay within SCRAPE_P99 of loopback. The product target is p99 <= 1 ms on an
idle machine, measured by `make bench`; here the attackers run on the same 2 CPUs as
kpulse and the scraper (and the Python scraper alone takes ~1 ms per 60 KB scrape), so
the bound is set to separate "held" from "broken": before the fixes the scrapes timed out
(slowloris, 40 s) or took seconds (50 guessers, 4.4 s median). Afterwards kpulse's fd
count must be back at its baseline, and its RSS within RSS_SLACK of it.

The attackers are forked processes at nice 19 (a real one runs elsewhere; here it shares
the two CPUs) that use their own loopback source addresses (127.0.0.2...), as distinct
clients would; the 2 000 connections come from the scraper's own address, the hardest
case for keeping its requests apart.
"""
import base64
import json
import os
import random
import selectors
import signal
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import Kpulse, cleanup, main, need_root, test, wait_for  # noqa: E402
from serve import bcrypt, make_pki, tempdir  # noqa: E402

SCRAPE_P99 = 0.050    # seconds, see above
RSS_SLACK = 4 << 20   # bytes: malloc keeps a little of what 2 000 connections used
TIMEOUT = 10          # kpulse's idle timeout and the time a request has to arrive
LINGER0 = struct.pack("ii", 1, 0)  # close() sends a reset


class Scraper(threading.Thread):
    """GET /metrics every @every seconds on a new connection; latencies and failures."""

    def __init__(self, port, every=0.02, headers=None, context=None):
        super().__init__(daemon=True)
        self.port, self.every, self.headers = port, every, headers or {}
        self.context = context  # an ssl context: HTTPS, a full handshake per scrape
        self.lat, self.fail = [], []
        self.halt = threading.Event()

    def scrape(self):
        import http.client
        t0 = time.perf_counter()
        if self.context:
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                            context=self.context)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", "/metrics", headers=self.headers)
            r = c.getresponse()
            body = r.read()
            if r.status != 200 or b"# EOF" in body or not body.startswith(b"# HELP"):
                self.fail.append(f"status {r.status}: {body[:80]!r}")
        except OSError as e:
            self.fail.append(repr(e))
        finally:
            c.close()
        self.lat.append(time.perf_counter() - t0)

    def run(self):
        while not self.halt.is_set():
            self.scrape()
            self.halt.wait(self.every)

    def finish(self):
        self.halt.set()
        self.join(15)
        lat = sorted(self.lat)
        return {"n": len(lat), "p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99)],
                "max": lat[-1], "fail": self.fail}


def check_scraper(what, r):
    print(f"  {what}: {r['n']} scrapes, p50 {r['p50'] * 1e3:.2f} ms, p99 "
          f"{r['p99'] * 1e3:.2f} ms, max {r['max'] * 1e3:.1f} ms, {len(r['fail'])} failed",
          flush=True)
    assert not r["fail"], f"{what}: {len(r['fail'])} scrapes failed, first: {r['fail'][:3]}"
    assert r["n"] >= 50, f"{what}: only {r['n']} scrapes"
    assert r["p99"] <= SCRAPE_P99, \
        f"{what}: scrape p99 {r['p99'] * 1e3:.1f} ms > {SCRAPE_P99 * 1e3:.0f} ms"


def attacker(fn, *args):
    """Run fn(*args) in a forked child; returns a function that waits for its JSON result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        # A real attacker runs elsewhere: here it must not take the CPUs kpulse and the
        # scraper need, or the test would measure the Python attackers, not kpulse.
        os.nice(19)
        try:
            out = json.dumps(fn(*args)).encode()
        except BaseException as e:  # noqa: BLE001 - report it to the parent
            out = json.dumps({"error": repr(e)}).encode()
        os.write(w, out)
        os._exit(0)
    os.close(w)

    def kill():
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    cleanup(kill)

    def result(timeout=120):
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        out = json.loads(data or b'{"error": "no result"}')
        assert "error" not in out, f"attacker {fn.__name__} failed: {out['error']}"
        return out
    return result


def connect(port, src, nonblock=False):
    s = socket.socket()
    s.bind((src, 0))
    if nonblock:
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
    else:
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
    return s


def usage(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = int(next(line for line in f if line.startswith("VmRSS:")).split()[1]) * 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def back_to_baseline(k, base, what):
    """Once the attack's connections are gone, fds at the baseline, RSS near it."""
    pid = k.proc.pid
    ok = wait_for(lambda: usage(pid)[1] <= base[1], timeout=TIMEOUT + 5, step=0.25)
    # kpulse gives the heap back a watchdog tick (1/4 s) after the crowd has gone.
    wait_for(lambda: usage(pid)[0] <= base[0] + RSS_SLACK, timeout=2, step=0.25)
    rss, fds = usage(pid)
    print(f"  {what}: RSS {base[0] >> 10} -> {rss >> 10} KiB, fds {base[1]} -> {fds}",
          flush=True)
    assert ok, f"{what}: {fds} fds open, {base[1]} before: connections left behind"
    assert rss <= base[0] + RSS_SLACK, \
        f"{what}: RSS {rss >> 10} KiB, {base[0] >> 10} KiB before (slack {RSS_SLACK >> 10})"
    assert k.proc.poll() is None, f"kpulse exited: {k.output()}"


# --- malformed requests ------------------------------------------------------------------

GOOD = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n\r\n"


def mutate(rng, data):
    """@data with 1 to 8 bytes flipped, runs inserted or runs cut out."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(b))
        op = rng.randrange(3)
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            b[i:i] = rng.randbytes(rng.randint(1, 20))
        elif len(b) > 2:
            del b[i:i + rng.randint(1, 10)]
    return bytes(b)


def malformed(rng):
    """One malformed (or odd) request, from a family of known troublemakers."""
    k = rng.randrange(16)
    if k == 0:
        return rng.randbytes(rng.randint(1, 3000))
    if k in (1, 2, 3):  # a valid request with bytes flipped, inserted or cut out
        return mutate(rng, GOOD)
    if k == 4:
        return b"GET /" + b"a" * rng.randint(1, 40000) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    if k == 5:
        return (b"GET /metrics HTTP/1.1\r\nHost: x\r\n" +
                b"".join(b"X-%d: %s\r\n" % (i, b"v" * rng.randint(0, 300))
                         for i in range(rng.randint(50, 400))) + b"\r\n")
    if k == 6:
        return rng.choice([b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n",
                           b"GET /metrics HTTP/1.1x\r\nHost: x\r\n\r\n",
                           b"GET /metrics\r\n\r\n", b"GET\r\n\r\n", b"\r\n\r\n\r\n",
                           b"GET /metrics HTTP/1.1\nHost: x\n\n",
                           b"GET /metrics HTTP/1.1\r\r\nHost: x\r\r\n\r\r\n",
                           b"GET /metrics HTTP/1.1\rHost: x\r\r",
                           b"GET  /metrics  HTTP/1.1\r\nHost: x\r\n\r\n",
                           b"GET /met rics HTTP/1.1\r\nHost: x\r\n\r\n"])
    if k == 7:
        method = rng.choice([b"get", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS",
                             b"TRACE", b"PATCH", b"G\x00T", b"\xff\xfe", b"X" * 5000])
        return method + b" /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    if k == 8:  # bodies that lie about their length or encoding
        return rng.choice([
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n"
            b"\r\nabcdefg",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\nabc\r\n0\r\n\r\n",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"fffffffffffffffff\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nab",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n"])
    if k == 9:
        return (b"GET /metrics HTTP/1.1\r\nHost: x\r\n X-folded: continuation\r\n"
                b"\tmore\r\n\r\n")
    if k == 10:
        return rng.choice([b"GET /metrics%00x HTTP/1.1\r\nHost: x\r\n\r\n",
                           b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
                           b"GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                           b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
                           b"GET /metrics%zz HTTP/1.1\r\nHost: x\r\n\r\n",
                           b"GET /metrics?%00=%00&&&==& HTTP/1.1\r\nHost: x\r\n\r\n",
                           b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
                           b"GET /metrics HTTP/1.1\r\nHost: x\r\n:\r\n\r\n",
                           b"GET /metrics HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"])
    if k == 11:  # Accept headers the negotiation has to survive
        junk = rng.choice([b";q=" * 200, b"," * 3000, b"application/openmetrics-text;" * 100,
                           rng.randbytes(200).replace(b"\r", b"").replace(b"\n", b""),
                           b"*/*;q=NaN, text/plain;q=-1, x;version=\"" + b"9" * 100])
        return b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: " + junk + \
            b"\r\nAccept-Encoding: " + junk + b"\r\n\r\n"
    if k == 12:
        auth = rng.choice([b"Basic", b"Basic =", b"Basic " + base64.b64encode(rng.randbytes(40)),
                           b"Basic " + b"A" * 20000, b"Digest x", b"Basic cHJvbTo\x00"])
        return b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth + b"\r\n\r\n"
    if k == 13:
        return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + rng.randbytes(rng.randint(0, 100))
    if k == 14:  # a TLS ClientHello on the plain port
        return b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rng.randbytes(500)
    return GOOD * rng.randint(2, 20) + rng.randbytes(rng.randint(1, 50))  # pipelined + junk


def send_malformed(port, src, seed, count, width=100, gen=malformed):
    """@count malformed requests (each gen(rng)), @width connections at a time; statuses
    seen."""
    rng = random.Random(seed)
    sel = selectors.DefaultSelector()
    statuses, sent, open_ = {}, 0, 0
    t_end = time.monotonic() + 300

    def start():
        nonlocal sent, open_
        s = connect(port, src, nonblock=True)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        sel.register(s, selectors.EVENT_WRITE, [gen(rng), b"", time.monotonic()])
        sent += 1
        open_ += 1

    def finish(s, st):
        nonlocal open_
        head = st[1].split(b"\r\n", 1)[0]
        code = head.split(b" ")[1].decode() if head.startswith(b"HTTP/1.") and \
            len(head.split(b" ")) > 1 else "none"
        statuses[code] = statuses.get(code, 0) + 1
        sel.unregister(s)
        s.close()
        open_ -= 1

    while (sent < count or open_) and time.monotonic() < t_end:
        while sent < count and open_ < width:
            start()
        # kpulse must close every connection within its timeout; give up on any after 15 s.
        for key in list(sel.get_map().values()):
            if time.monotonic() - key.data[2] > TIMEOUT + 5:
                statuses["stuck"] = statuses.get("stuck", 0) + 1
                finish(key.fileobj, key.data)
                statuses["none"] -= 1
        for key, ev in sel.select(1):
            s, st = key.fileobj, key.data
            try:
                if ev & selectors.EVENT_WRITE:
                    s.sendall(st[0])
                    s.shutdown(socket.SHUT_WR)
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                chunk = s.recv(65536)
            except (ConnectionError, BlockingIOError, OSError):
                chunk = b""
            if chunk and len(st[1]) < 100:
                st[1] += chunk
            if not chunk:
                finish(s, st)
    return {"statuses": statuses, "sent": sent}


@test
def hostile_load():
    need_root()
    k = Kpulse("--web.max-connections=512")
    for _ in range(20):  # warm up: the first scrapes and connections allocate for good
        k.scrape_text()
    time.sleep(1)
    base = usage(k.proc.pid)
    # Idle, the HTTP side sleeps: its watchdog wakes four times a second and finds nothing.
    cpu0, t0 = cpu_seconds(k.proc.pid), time.monotonic()
    time.sleep(3)
    idle = (cpu_seconds(k.proc.pid) - cpu0) / (time.monotonic() - t0)
    print(f"  baseline: RSS {base[0] >> 10} KiB, {base[1]} fds, CPU {idle * 100:.1f}% idle",
          flush=True)
    assert idle < 0.05, f"kpulse used {idle * 100:.0f}% of a CPU with nobody asking"

    sc = Scraper(k.port)
    sc.start()
    time.sleep(3)
    check_scraper("no attack", sc.finish())

    # 1. 20 000 malformed requests from four processes.
    sc = Scraper(k.port)
    sc.start()
    runs = [attacker(send_malformed, k.port, f"127.0.0.{2 + i}", i, 5000) for i in range(4)]
    outs = [r(timeout=300) for r in runs]
    r = sc.finish()
    codes = tally(outs)
    print(f"  malformed: {sum(o['sent'] for o in outs)} requests, answers {codes}", flush=True)
    assert sum(o["sent"] for o in outs) == 20000
    assert not any(c.startswith("5") and c not in ("503", "505") for c in codes), codes
    assert "stuck" not in codes, f"connections kpulse never closed: {codes}"
    check_scraper("20 000 malformed requests", r)
    back_to_baseline(k, base, "after the malformed requests")

    # 2. slowloris: 600 connections sending one byte a second each, reconnecting when
    # closed: 500 from one address, 100 from another. Together they pass the 384 (3/4 of
    # 512) connections that may wait for a request at once, so the address holding the
    # most loses its oldest at each new connection; the other's are closed by the
    # deadline: a request that has not arrived within the timeout, however it trickles.
    sc = Scraper(k.port)
    sc.start()
    big = attacker(slowloris, k.port, "127.0.0.6", 500, 25)
    small = attacker(slowloris, k.port, "127.0.0.7", 100, 25)
    big, small = big(timeout=120), small(timeout=120)
    r = sc.finish()
    for name, out in (("500", big), ("100", small)):
        print(f"  slowloris x {name}: {out['opened']} connections, {out['closed']} closed by "
              f"kpulse after {out['shortest']:.1f}s to {out['longest']:.1f}s, at most "
              f"{out['max_open']} open at once, {out['bytes']} bytes trickled", flush=True)
    check_scraper("slowloris, 600 connections at 1 byte/s", r)
    # The lifetimes are seen by an attacker at nice 19 on busy CPUs, so a second or two
    # late or early; what they must tell apart: evicted at once, or kept to the end (25 s).
    assert small["closed"] >= 100 and TIMEOUT - 2 <= small["shortest"] and \
        small["longest"] <= TIMEOUT + 4, \
        f"slowloris x 100: closed after {small['shortest']:.1f}s to {small['longest']:.1f}s, " \
        f"expected the {TIMEOUT}s request deadline: {small}"
    assert big["closed"] > 1000 and big["shortest"] < 1, \
        f"slowloris x 500 should lose its oldest connections to new ones: {big}"
    back_to_baseline(k, base, "after slowloris")

    # 3. Connections reset mid-response (and a tenth mid-request), for 8 s: thousands.
    sc = Scraper(k.port)
    sc.start()
    runs = [attacker(resets, k.port, f"127.0.0.{8 + i}", 8) for i in range(2)]
    outs = [r(timeout=120) for r in runs]
    r = sc.finish()
    print(f"  resets: {sum(o['resets'] for o in outs)} connections reset, "
          f"{sum(o['mid_body'] for o in outs)} of them inside the answer's body", flush=True)
    assert sum(o["mid_body"] for o in outs) >= 2000, outs
    check_scraper("connections reset mid-response", r)
    back_to_baseline(k, base, "after the resets")

    # 4. 2 000 concurrent connections against --web.max-connections=512, from the
    # scraper's own address: half idle, half after one request kept alive.
    sc = Scraper(k.port)
    sc.start()
    run = attacker(concurrent, k.port, "127.0.0.1", 2000, 15)
    out = run(timeout=120)
    r = sc.finish()
    print(f"  2 000 connections: {out['connected']} connected, {out['answered']} of "
          f"{out['asked']} requests answered, {out['closed']} closed by kpulse", flush=True)
    assert out["connected"] == 2000, out
    check_scraper("2 000 concurrent connections", r)
    back_to_baseline(k, base, "after 2 000 connections")


def slowloris(port, src, n, seconds):
    """@n connections trickling a never-ending request head, one byte per second each."""
    sel = selectors.DefaultSelector()
    socks = {}
    opened = closed = nbytes = max_open = 0
    longest, shortest = 0.0, float("inf")
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "
    end = time.monotonic() + seconds

    def open_one():
        nonlocal opened
        s = connect(port, src)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        socks[s] = [time.monotonic(), 0]
        sel.register(s, selectors.EVENT_READ)
        opened += 1

    for _ in range(n):
        open_one()
    next_tick = time.monotonic()
    while time.monotonic() < end:
        max_open = max(max_open, len(socks))
        for key, _ in sel.select(max(0, next_tick - time.monotonic())):
            s = key.fileobj
            try:
                gone = not s.recv(4096)
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                lived = time.monotonic() - socks[s][0]
                longest, shortest = max(longest, lived), min(shortest, lived)
                closed += 1
                sel.unregister(s)
                del socks[s]
                s.close()
                open_one()
        if time.monotonic() >= next_tick:
            next_tick += 1
            for s, st in list(socks.items()):
                byte = head[st[1]:st[1] + 1] or b"a"
                try:
                    s.send(byte)
                    st[1] += 1
                    nbytes += 1
                except OSError:
                    pass  # closed: the select above sees it
    for s in socks:
        s.close()
    return {"opened": opened, "closed": closed, "longest": longest, "shortest": shortest,
            "bytes": nbytes, "max_open": max_open}


def resets(port, src, seconds):
    """Connections reset by the client for @seconds: most in the answer, some in the request."""
    rng = random.Random(src)
    mid_body = done = i = 0
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        i += 1
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the answer cannot fit
        s.bind((src, 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        if i % 10 == 0:
            s.send(req[:rng.randrange(1, len(req))])  # reset in the middle of the request
        else:
            s.sendall(req)
            got = b""
            while b"\r\n\r\n" not in got or len(got) < 3000:
                chunk = s.recv(rng.randint(1, 2000))
                if not chunk:
                    break
                got += chunk
            mid_body += b"\r\n\r\n" in got
        s.close()
        done += 1
    return {"resets": done, "mid_body": mid_body}


def concurrent(port, src, n, seconds):
    """@n connections at once, held for @seconds: every other one asks once and stays."""
    socks = []
    for i in range(n):
        socks.append(connect(port, src, nonblock=True))
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_WRITE, [i, b"", False])
    connected = asked = answered = closed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and sel.get_map():
        for key, ev in sel.select(0.5):
            s, st = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    sel.unregister(s)
                    continue
                connected += 1
                if st[0] % 2:
                    s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
                    asked += 1
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                closed += 1
                sel.unregister(s)
                continue
            if not st[2] and chunk.startswith(b"HTTP/1.1 200"):
                st[2] = True
                answered += 1
    for s in socks:
        s.close()
    return {"connected": connected, "asked": asked, "answered": answered, "closed": closed}


def guesser(port, src, n, seconds, seed):
    """@n clients guessing passwords (each new) as fast as the answers come."""
    rng = random.Random(seed)
    sel = selectors.DefaultSelector()
    counts = {}
    end = time.monotonic() + seconds

    def ask(s):
        cred = base64.b64encode(b"prom:" + rng.randbytes(12).hex().encode()).decode()
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {cred}\r\n\r\n"
                  .encode())

    for _ in range(n):
        s = connect(port, src)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        sel.register(s, selectors.EVENT_READ, [b""])
        ask(s)
    while time.monotonic() < end:
        for key, _ in sel.select(0.5):
            s, st = key.fileobj, key.data
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:  # closed: open another
                sel.unregister(s)
                s.close()
                s = connect(port, src)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                sel.register(s, selectors.EVENT_READ, [b""])
                ask(s)
                continue
            st[0] += chunk
            head, sep, rest = st[0].partition(b"\r\n\r\n")
            if not sep:
                continue
            length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), b"0"))
            if len(rest) < length:
                continue
            code = head.split(b" ")[1].decode()
            counts[code] = counts.get(code, 0) + 1
            st[0] = rest[length:]
            ask(s)
    return counts


def tally(outs):
    """The attackers' answers, summed: {status: count}."""
    codes = {}
    for o in outs:
        for c, n in o["statuses"].items():
            codes[c] = codes.get(c, 0) + n
    return codes


def warm_up(k, sc):
    """Wait (30 s at most) for @sc's first answer from @k, whose first check may cost a
    bcrypt or a TLS handshake, then scrape 20 times more."""
    def first_answer():
        sc.fail.clear()
        sc.scrape()
        return not sc.fail
    assert wait_for(first_answer, timeout=30), (sc.fail, k.output())
    for _ in range(20):
        sc.scrape()


@test
def wrong_password_flood():
    need_root()
    d = tempdir("kpulse-flood-")
    web = os.path.join(d, "web.yml")
    with open(web, "w") as f:
        f.write(f"basic_auth_users:\n  prom: {bcrypt('s3cret', cost=10)}\n")
    k = Kpulse(f"--web.config.file={web}", wait=False)
    auth = {"Authorization": "Basic " + base64.b64encode(b"prom:s3cret").decode()}
    sc = Scraper(k.port, headers=auth)
    # The first right password costs one bcrypt; later ones come from the cache.
    warm_up(k, sc)
    time.sleep(1)
    base = usage(k.proc.pid)
    sc = Scraper(k.port, headers=auth)
    sc.start()
    cpu0, t0 = cpu_seconds(k.proc.pid), time.monotonic()
    seconds = 20
    run = attacker(guesser, k.port, "127.0.0.2", 50, seconds, 1)
    counts = run(timeout=120)
    cpu = (cpu_seconds(k.proc.pid) - cpu0) / (time.monotonic() - t0)
    r = sc.finish()
    # kpulse's CPU follows the rate of requests the guessers send (thousands a second,
    # answered 429 at once); before, bcrypt kept both HTTP threads busy at ~15 a second.
    print(f"  50 guessers for {seconds}s from one address: answers {counts}; kpulse used "
          f"{cpu * 100:.0f}% of a CPU", flush=True)
    check_scraper("wrong-password flood, 50 clients", r)
    # Every 401 is one bcrypt (each guess is new): the address's budget is 8 at once and
    # one a second, the rest is refused with 429 before any bcrypt runs.
    assert counts.get("401", 0) <= 8 + seconds + 2, counts
    assert counts.get("429", 0) > 100 and set(counts) <= {"401", "429"}, counts
    back_to_baseline(k, base, "after the flood")



def client_hello(ctx):
    """The first flight of a real TLS client (a ClientHello record), for mutating."""
    into, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    c = ctx.wrap_bio(into, out, server_hostname="127.0.0.1")
    try:
        c.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tls_garbage(rng, hello):
    """One broken TLS opening: random bytes, a real ClientHello mutated or cut, records with
    lying lengths or content types, SSLv2, plain HTTP; sent whole, then the write side
    closed."""
    k = rng.randrange(8)
    if k == 0:
        return rng.randbytes(rng.randint(1, 3000))
    if k in (1, 2):  # the real hello with bytes flipped, inserted or cut out
        return mutate(rng, hello)
    if k == 3:
        return hello[:rng.randrange(1, len(hello))]
    if k == 4:  # a handshake record whose length says anything, up to 64 KiB
        return b"\x16\x03" + bytes([rng.randrange(5)]) + rng.randbytes(2) + \
            rng.randbytes(rng.randint(0, 2000))
    if k == 5:  # the hello, then records no server expects before its answer
        return hello + b"".join(bytes([rng.choice([0x14, 0x15, 0x16, 0x17, 0x18, 0xff]), 3,
                                       rng.randrange(5)]) + struct.pack(">H", n) +
                                rng.randbytes(n) for n in
                                (rng.randint(0, 300) for _ in range(rng.randint(1, 20))))
    if k == 6:  # an SSLv2-style hello
        body = b"\x01\x03\x01" + rng.randbytes(rng.randint(0, 200))
        return bytes([0x80 | (len(body) >> 8), len(body) & 0xff]) + body
    return GOOD  # plain HTTP on the TLS port


def tls_garbage_for(port, src, seed, seconds, hello):
    """Rounds of 300 broken TLS openings (tls_garbage) for at least @seconds."""
    statuses, sent, end, i = {}, 0, time.monotonic() + seconds, 0
    while time.monotonic() < end:
        out = send_malformed(port, src, seed * 1000 + i, 300, 50,
                             lambda rng: tls_garbage(rng, hello))
        for c, n in out["statuses"].items():
            statuses[c] = statuses.get(c, 0) + n
        sent += out["sent"]
        i += 1
    return {"statuses": statuses, "sent": sent}


@test
def garbage_tls_handshakes():
    """Broken TLS openings from two clients for 8 s, thousands of them (the attack on
    landed main sent 1 114): a TLS scraper making a full handshake each time keeps its
    answers within SCRAPE_P99, no connection is left open past the timeout, none is
    served, and RSS and fds return to the baseline."""
    need_root()
    d = tempdir("kpulse-tlsjunk-")
    pki = make_pki(d)
    web = os.path.join(d, "web.yml")
    with open(web, "w") as f:
        f.write("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n")
    k = Kpulse(f"--web.config.file={web}", wait=False)
    ctx = ssl.create_default_context(cafile=pki["ca"])
    sc = Scraper(k.port, context=ctx)
    warm_up(k, sc)
    hello = client_hello(ctx)
    assert hello[:1] == b"\x16" and len(hello) > 100, hello[:20]
    # The first crowd of ~100 concurrent handshakes sizes gnutls's and the allocator's pools
    # (+1.8 MiB here): the baseline is taken after one, so what is judged is that further
    # crowds add nothing. Over 8 rounds (38 700 handshakes) RSS stayed within 11.4-13.5 MiB,
    # going down as often as up; a leak of 200 bytes per handshake would pass 4 MiB.
    attacker(tls_garbage_for, k.port, "127.0.0.2", 99, 3, hello)(timeout=120)
    time.sleep(1)
    base = usage(k.proc.pid)
    sc = Scraper(k.port, context=ctx)
    sc.start()
    runs = [attacker(tls_garbage_for, k.port, f"127.0.0.{2 + i}", 100 + i, 8, hello)
            for i in range(2)]
    outs = [r(timeout=300) for r in runs]
    r = sc.finish()
    codes = tally(outs)
    print(f"  garbage TLS: {sum(o['sent'] for o in outs)} connections, answers {codes}",
          flush=True)
    assert sum(o["sent"] for o in outs) >= 1200, outs
    assert "stuck" not in codes, f"connections kpulse never closed: {codes}"
    assert all(c == "none" or c.startswith("4") for c in codes), \
        f"answers other than a close or a 4xx to broken TLS: {codes}"
    check_scraper(f"{sum(o['sent'] for o in outs)} garbage TLS handshakes", r)
    back_to_baseline(k, base, "after the garbage handshakes")


if __name__ == "__main__":
    main("hostile")
