#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Move into cgroup CGROUP_DIR, then send BYTES bytes over a TCP connection to
127.0.0.1:PORT.

Usage: cgroup_send.py CGROUP_DIR PORT BYTES"""
import os, socket, sys
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
s.sendall(b"c" * int(sys.argv[3]))
s.close()
