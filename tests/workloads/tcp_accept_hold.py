#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Listen on IP:9100, print "ready", accept one connection and hold it for 10 minutes
without reading, so what the peer sends stays unacknowledged once the link goes down.

Usage: tcp_accept_hold.py IP"""
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 9100))
s.listen()
print("ready", flush=True)
c, _ = s.accept()
time.sleep(600)
