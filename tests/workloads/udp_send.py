#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send exactly COUNT datagrams of SIZE payload bytes to DST:PORT, paced at RATE per
second (0: as fast as possible).

Usage: udp_send.py DST PORT COUNT SIZE RATE"""
import socket, sys, time
dst, port, count, size, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = b"k" * size
t0 = time.monotonic()
for i in range(count):
    if rate:
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    assert s.sendto(payload, (dst, port)) == size
