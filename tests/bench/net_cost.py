#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Cost per event of the net collector's programs under a UDP flood on loopback.

Runs kpulse, turns kernel.bpf_stats_enabled on for the flood only (restoring it after),
and prints run_time_ns / run_cnt of each program. bpf_stats itself adds two clock reads
per run; an empty tp_btf program measures that floor on the same machine.
Usage: sudo python3 tests/bench/net_cost.py [datagrams]
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from kpulse import Kpulse, free_port  # noqa: E402
from netns import udp_send, udp_sink  # noqa: E402

NAMES = {f"{tp}_{kind}" for kind in ("btf", "raw") for tp in (
    "netif_rx_entry", "netif_rx_exit", "net_dev_xmit", "sock_send_length",
    "sock_recv_length")}


def progs():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: p for p in json.loads(out or "[]") if p.get("name") in NAMES}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300000
    before = set(progs())
    k = Kpulse()
    ours = set(progs()) - before
    port = free_port()
    udp_sink("127.0.0.1", port)
    stats = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(stats).read().strip()
    with open(stats, "w") as f:
        f.write("1")
    try:
        p0 = progs()
        t0 = time.monotonic()
        udp_send("127.0.0.1", port, n, 64)
        dt = time.monotonic() - t0
        p1 = progs()
    finally:
        with open(stats, "w") as f:
            f.write(old)
    print(f"UDP flood on lo: {n} datagrams of 64 B in {dt:.2f} s")
    for i in sorted(ours):
        runs = p1[i].get("run_cnt", 0) - p0[i].get("run_cnt", 0)
        ns = p1[i].get("run_time_ns", 0) - p0[i].get("run_time_ns", 0)
        print(f"  {p1[i]['name']:24s} {runs:9d} runs  {ns / max(runs, 1):6.1f} ns/run")
    k.stop()


if __name__ == "__main__":
    main()
