#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Pass through N cgroups MOUNT/PARENT/c0 .. c<N-1> (cgroup v2), sending one 100-byte
loopback datagram from each, then go back home: each is charged CPU time and bytes.

Usage: cgroup_churn.py MOUNT PARENT N"""
import os, socket, sys, time
mount, parent, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open("/proc/self/cgroup") as f:
    home = [l.split("::", 1)[1].strip() for l in f if l.startswith("0::")][0]
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    with open(f"{mount}{parent}/c{i}/cgroup.procs", "w") as f:
        f.write("0")
    s.sendto(b"c" * 100, r.getsockname())
    assert len(r.recv(200)) == 100
    time.sleep(0.0005)
with open(f"{mount}{home}/cgroup.procs", "w") as f:
    f.write("0")
