#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A process named (comm) as asked that opens, closes and holds descriptors on command,
so the count the fd collector reports for it is known exactly. One command per line on
stdin (limit N, open N, close N, close_range, private_table N, threads N), one "ok ..."
line back.

Usage: fd_child.py NAME"""
import ctypes, os, resource, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME: comm of the leader thread
held, stop = [], threading.Event()
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "limit":
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (int(args[0]), hard))
        print("ok", flush=True)
    elif cmd == "open":
        ok = failed = 0
        for _ in range(int(args[0])):
            try:
                held.append(os.open("/dev/null", os.O_RDONLY))
                ok += 1
            except OSError as e:
                assert e.errno == 24, e  # EMFILE is the only failure we expect
                failed += 1
        print("ok", ok, failed, flush=True)
    elif cmd == "close":
        for _ in range(int(args[0])):
            os.close(held.pop())
        print("ok", flush=True)
    elif cmd == "close_range":  # close_range(lowest held, ~0U, 0): everything held
        assert libc.syscall(436, min(held), 0xffffffff, 0) == 0, ctypes.get_errno()
        print("ok", len(held), flush=True)
        held.clear()
    elif cmd == "private_table":  # a thread with its own table: a copy, plus n files
        ready = threading.Event()
        def private(n):
            assert libc.unshare(0x400) == 0, ctypes.get_errno()  # CLONE_FILES
            for _ in range(n):
                os.open("/dev/null", os.O_RDONLY)
            ready.set()
            stop.wait()
        threading.Thread(target=private, args=(int(args[0]),), daemon=True).start()
        ready.wait()
        print("ok", flush=True)
    elif cmd == "threads":
        for _ in range(int(args[0])):
            threading.Thread(target=stop.wait, daemon=True).start()
        print("ok", threading.active_count(), flush=True)
