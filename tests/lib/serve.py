# SPDX-License-Identifier: GPL-2.0
"""Helpers for tests/e2e/test_serve.py: certificates, a real Prometheus, OpenMetrics checks."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from kpulse import cleanup, http_get
from prom import need, promql, start_prometheus  # noqa: F401 - re-exported to test_serve


def tempdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def _openssl(*args, cwd):
    subprocess.run([need("openssl"), *args], cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def make_pki(d):
    """A self-signed CA, a server certificate for 127.0.0.1 and a client certificate."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", "/CN=kpulse test CA", "-keyout", "ca.key",
             "-out", "ca.pem", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                 "extendedKeyUsage=serverAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext)
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-subj", f"/CN=kpulse test {name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
                 "-out", f"{name}.pem", cwd=d)
    # A client certificate from another, untrusted CA.
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", "/CN=kpulse test stranger", "-addext",
             "extendedKeyUsage=clientAuth", "-keyout", "other.key", "-out", "other.pem", cwd=d)
    return {k: os.path.join(d, f"{k}.pem") for k in ("ca", "server", "client", "other")} | {
        "other_key": os.path.join(d, "other.key"),
        "server_key": os.path.join(d, "server.key"), "client_key": os.path.join(d, "client.key")}


def bcrypt(password, cost=10):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << cost))
    assert h.startswith("$2b$"), h
    return h


def curl(*args, timeout=10):
    """(exit code, HTTP status or 0, stderr) of one curl call."""
    p = subprocess.run([need("curl"), "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                        "--max-time", "5", *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, int(p.stdout or 0), p.stderr.strip()


def targets(url):
    status, _, body = http_get(url + "/api/v1/targets")
    assert status == 200, status
    return json.loads(body)["data"]["activeTargets"]


_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf'^({_NAME})(\{{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
                     rf'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\}})? '
                     r'(\S+)$')
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "info": ("_info",),
             "histogram": ("_bucket", "_sum", "_count", "_created"),
             "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
             "unknown": ("",), "stateset": ("",), "summary": ("", "_sum", "_count")}


def check_openmetrics(text):
    """Check the OpenMetrics 1.0 rules a strict parser enforces; returns the family types."""
    assert text.endswith("# EOF\n"), f"does not end in '# EOF\\n': {text[-40:]!r}"
    lines = text[:-len("# EOF\n")].split("\n")
    assert lines[-1] == "", "no newline before # EOF"
    types, seen, fam = {}, set(), None
    for line in lines[:-1]:
        assert line, "empty line"
        if line.startswith("# "):
            kind, name, *rest = line[2:].split(" ", 2)
            assert kind in ("HELP", "TYPE", "UNIT"), f"bad comment {line!r}"
            if name != fam:
                assert name not in seen, f"family {name} is not contiguous"
                seen.add(name)
                fam = name
            if kind == "UNIT":
                assert name.endswith("_" + rest[0]), f"unit {rest[0]} is not a suffix of {name}"
            if kind == "TYPE":
                assert rest[0] in _SUFFIXES, line
                types[name] = rest[0]
                if rest[0] == "counter":
                    assert not name.endswith("_total"), f"counter family {name} ends in _total"
            if kind == "HELP":
                assert re.fullmatch(r'(?:[^"\\\n]|\\[\\"n])*', rest[0] if rest else ""), \
                    f"badly escaped HELP: {line!r}"
            continue
        m = _SAMPLE.match(line)
        assert m, f"unparseable sample {line!r}"
        assert fam in types, f"sample {line!r} before its TYPE"
        assert m.group(1) in (fam + s for s in _SUFFIXES[types[fam]]), \
            f"sample {m.group(1)} does not belong to {types[fam]} family {fam}"
        v = m.group(3)
        assert re.fullmatch(r"[+-]?(?:Inf|NaN|[0-9.]+(?:[eE][+-]?[0-9]+)?)", v), line
        if types[fam] == "counter":
            assert v != "NaN" and not v.startswith("-"), f"negative counter {line!r}"
        if types[fam] == "info":
            assert v == "1", f"info value must be 1: {line!r}"
    return types


def raw_http(port, data, timeout=5, host="127.0.0.1", wrap=None):
    """Send the bytes @data on one connection and return everything read until the server
    closes it or @timeout passes without a byte (@wrap: e.g. an ssl context's wrap_socket)."""
    import socket
    s = socket.create_connection((host, port), timeout=timeout)
    if wrap:
        s = wrap(s)
    out = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        s.close()
    return out


def responses(data):
    """Split what raw_http() read into [(status, {header: value}, body)]; bodies are
    delimited by Content-Length (every kpulse answer has one; libmicrohttpd's own error
    answers end at the close instead)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"incomplete response head: {data[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", len(rest)))
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out
