# SPDX-License-Identifier: GPL-2.0
"""Workloads for the fd collector's tests: a child process with a chosen name (comm) that
opens, closes and holds descriptors on command, so its count is known exactly."""
import os
import subprocess
import sys

from kpulse import cleanup

# The child: set its name, then obey one command per line on stdin, answer one line.
_CHILD = r'''
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
'''


class FdChild:
    """A python child whose comm is @name; fds it holds are listed in /proc/<pid>/fd."""

    def __init__(self, name):
        assert len(name) <= 15, name
        self.name = name
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, name], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, close_fds=True)
        self.pid = self.proc.pid
        cleanup(self.stop)
        self.cmd("open 0")  # wait until it runs the command loop (and has its name)
        with open(f"/proc/{self.pid}/comm") as f:
            comm = f.read().rstrip("\n")
        assert comm == name, f"child comm is {comm!r}, wanted {name!r}"

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().split()
        assert reply and reply[0] == "ok", f"child {self.name}: {line!r} answered {reply}"
        return [int(x) for x in reply[1:]]

    def proc_fd_count(self):
        """The kernel's own answer: entries of /proc/<pid>/fd."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def proc_fd_count_all_tables(self):
        """Entries of /proc/<pid>/task/<tid>/fd summed over the distinct tables. Threads
        sharing a table list the same fds; the tests' private tables list different ones."""
        tables = {}
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            fds = os.listdir(f"/proc/{self.pid}/task/{tid}/fd")
            tables.setdefault(tuple(sorted(fds)), len(fds))
        return sum(tables.values())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
