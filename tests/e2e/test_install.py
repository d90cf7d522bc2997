#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make install / make uninstall with PREFIX and DESTDIR: the binary, kpulse(8), the systemd
unit and deploy/'s examples land where they should; the installed binary runs and serves;
the man page documents every flag --help lists; uninstall removes every file again."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import KPULSE, ROOT, Kpulse, cleanup, main, need_root, test  # noqa: E402
from prom import need  # noqa: E402


def make(*args):
    p = subprocess.run(["make", "--no-print-directory", "-C", ROOT, *args],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"make {' '.join(args)}: {p.stdout[-2000:]}{p.stderr[-2000:]}"


def files_under(d):
    return sorted(os.path.relpath(os.path.join(r, f), d)
                  for r, _, fs in os.walk(d) for f in fs)


def help_flags(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    flags = set()
    for m in re.finditer(r"^\s+(--(?:\[no-\])?[a-z][a-z0-9_.-]*)", out, re.M):
        flags.add(m.group(1))
    return flags


def man_text(path):
    """The man page's text with roff's font escapes and escaped hyphens undone."""
    with open(path) as f:
        roff = f.read()
    return re.sub(r"\\f[BIRP]|\\[,/]", "", roff).replace("\\-", "-")


@test
def install_into_destdir_and_run():
    need("help2man")
    dest = tempfile.mkdtemp(prefix="kpulse-destdir-")
    cleanup(lambda: shutil.rmtree(dest, ignore_errors=True))
    make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    files = files_under(dest)
    for want in ("usr/bin/kpulse", "usr/share/man/man8/kpulse.8",
                 "usr/lib/systemd/system/kpulse.service",
                 "usr/share/kpulse/prometheus/kpulse-alerts.rules.yml",
                 "usr/share/kpulse/prometheus/kpulse-recording.rules.yml",
                 "usr/share/kpulse/prometheus/prometheus.yml",
                 "usr/share/kpulse/alertmanager/alertmanager.yml",
                 "usr/share/kpulse/grafana/kpulse.json",
                 "usr/share/kpulse/victoria-metrics/victoria-metrics.default"):
        assert want in files, f"make install did not install {want}: {files}"
    binary = os.path.join(dest, "usr/bin/kpulse")
    assert os.access(binary, os.X_OK), f"{binary} is not executable"
    with open(os.path.join(dest, "usr/lib/systemd/system/kpulse.service")) as f:
        unit = f.read()
    assert "ExecStart=/usr/bin/kpulse " in unit, "the installed unit does not run /usr/bin/kpulse"
    v = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    v0 = subprocess.run([KPULSE, "--version"], capture_output=True, text=True, check=True).stdout
    assert v == v0 and v.startswith("kpulse "), f"installed --version {v!r}, built {v0!r}"

    # kpulse(8): section 8, pointing at the examples where this PREFIX put them.
    text = man_text(os.path.join(dest, "usr/share/man/man8/kpulse.8"))
    th = re.search(r'^\.TH KPULSE "?([^" ]+)', text, re.M)
    assert th and th.group(1) == "8", f"kpulse.8 is not in section 8: {th and th.group(0)}"
    assert "/usr/share/kpulse" in text and "/usr/local/share" not in text, \
        "kpulse(8) FILES does not name /usr/share/kpulse, where PREFIX=/usr installed the examples"
    # The man page names every flag of --help.
    flags = help_flags(binary)
    assert len(flags) > 20, f"only {sorted(flags)} in --help"
    missing = sorted(f for f in flags if f not in text)
    assert not missing, f"kpulse(8) lacks {len(missing)} of {len(flags)} flags: {missing}"
    print(f"  installed {len(files)} files; kpulse(8) documents all {len(flags)} flags")

    # The installed binary runs for real (as root: it loads its programs) and serves.
    need_root()
    k = Kpulse(binary=binary)
    text = k.scrape_text()
    assert 'kpulse_build_info{' in text, text[:500]
    assert k.stop() == 0, k.output()

    make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    left = files_under(dest)
    assert not left, f"make uninstall left {left}"


if __name__ == "__main__":
    main("install")
