#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A point-to-point link between this namespace and network namespace FAR_NS whose
packets arrive DELAY seconds after they were sent: two TUN devices, NEAR_NAME here and
FAR_NAME there, and this relay between them (netem is not built into the test kernels).
Prints "ready"; ends when stdin closes.

Usage: tun_relay.py NEAR_NAME FAR_NS FAR_NAME DELAY"""
import ctypes, fcntl, heapq, os, select, struct, sys, time
near_name, far_ns, far_name, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000

def tun(name):
    # The device is made in the namespace of the process that opens /dev/net/tun.
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd

near = tun(near_name)
libc = ctypes.CDLL(None, use_errno=True)
ns = os.open("/run/netns/" + far_ns, os.O_RDONLY)
if libc.setns(ns, 0x40000000):
    raise OSError(ctypes.get_errno(), "setns into " + far_ns)
far = tun(far_name)
print("ready", flush=True)
peer, due, n = {near: far, far: near}, [], 0
while True:
    timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
    ready = select.select([near, far, 0], [], [], timeout)[0]
    if 0 in ready and not os.read(0, 1):
        break  # the test is gone
    now = time.monotonic()
    for fd in ready:
        if fd:
            n += 1
            heapq.heappush(due, (now + delay, n, peer[fd], os.read(fd, 65536)))
    while due and due[0][0] <= time.monotonic():
        _, _, fd, pkt = heapq.heappop(due)
        os.write(fd, pkt)
