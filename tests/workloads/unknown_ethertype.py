#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send N broadcast frames of an ethertype no protocol handler takes (0x88b5, local
experimental) out of DEVICE: the receiving device counts each in rx_dropped.

Usage: unknown_ethertype.py DEVICE N"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for _ in range(int(sys.argv[2])):
    # broadcast, from 02:02:02:02:02:02, ethertype 0x88b5 (local experimental): no
    # protocol handler takes it, so the receiving device counts it in rx_dropped
    s.send(b"\xff" * 6 + b"\x02" * 6 + b"\x88\xb5" + b"k" * 50)
