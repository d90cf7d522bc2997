#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The daemon built with ASan + UBSan + LeakSanitizer, across many ticks, many scrapes and
hostile requests: no memory error, no undefined behaviour, no leak at exit."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import kpulse  # noqa: E402
from kpulse import Kpulse, http_get, main, need_root, test  # noqa: E402

ASAN_KPULSE = os.path.join(kpulse.ROOT, ".output", "asan", "kpulse")


def raw_request(port, data, read=True):
    """Send raw bytes; return whatever the server answers (b"" if it just closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if not read:
            return b""
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


@test
def sanitized_daemon_survives_scrapes_and_hostile_requests():
    need_root()
    assert os.path.exists(ASAN_KPULSE), f"{ASAN_KPULSE} not built (make unit)"
    os.environ["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
    os.environ["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=98"
    saved = kpulse.KPULSE
    kpulse.KPULSE = ASAN_KPULSE
    try:
        k = Kpulse(interval="20ms")
    finally:
        kpulse.KPULSE = saved
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 8:
        assert http_get(k.url + "/metrics")[0] == 200
        n += 1
    hostile = [
        b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 100000 + b"\r\n\r\n",
        b"GET /" + b"m" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x00\xff garbage \r\n\r\n",
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\npartial",
        b"GET /metrics HTTP/1.0\r\n\r\n",
        b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /%00%ff%2e%2e/ HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for req in hostile:
        raw_request(k.port, req)
    # Half-sent requests left hanging while normal scrapes go on.
    idle = [socket.create_connection(("127.0.0.1", k.port)) for _ in range(20)]
    for s in idle:
        s.sendall(b"GET /metr")
    assert http_get(k.url + "/metrics", timeout=2)[0] == 200
    for s in idle:
        s.close()
    rc = k.stop()
    out = k.output()
    bad = [l for l in out.splitlines() if "Sanitizer" in l or "runtime error" in l]
    assert rc == 0 and not bad, f"exit {rc} after {n} scrapes: {bad or out[-2000:]}"
    assert n > 200, f"only {n} scrapes in 8 s"


if __name__ == "__main__":
    main("sanitized")
