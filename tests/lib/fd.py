# SPDX-License-Identifier: GPL-2.0
"""Workloads for the fd collector's tests: a child process with a chosen name (comm) that
opens, closes and holds descriptors on command, so its count is known exactly."""
import os
import subprocess
import sys

from kpulse import cleanup, script

# The child: set its name, then obey one command per line on stdin, answer one line.
_CHILD = script("fd_child")


class FdChild:
    """A python child whose comm is @name; fds it holds are listed in /proc/<pid>/fd."""

    def __init__(self, name):
        assert len(name) <= 15, name
        self.name = name
        self.proc = subprocess.Popen([sys.executable, _CHILD, name], stdin=subprocess.PIPE,
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
