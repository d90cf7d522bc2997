#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Open N TCP connections to IP:PORT, print "connected", and hold them until stdin
closes.

Usage: tcp_connect_hold.py IP PORT N"""
import socket, sys
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = [socket.create_connection((ip, port), timeout=10) for _ in range(n)]
print("connected", flush=True)
sys.stdin.read()
