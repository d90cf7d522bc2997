#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A bound UDP socket on IP:PORT that never reads, so datagrams to it draw no ICMP error
(once its buffer is full it drops them, after the device counted them). Prints "ready",
then sleeps 10 minutes.

Usage: udp_sink.py IP PORT"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
time.sleep(600)
