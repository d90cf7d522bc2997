# SPDX-License-Identifier: GPL-2.0
"""Helpers for the /proc collector tests: the kernel's own numbers, scratch mounts, hangfs."""
import mmap
import os
import signal
import subprocess
import tempfile
import time

from kpulse import ROOT, cleanup, wait_for

HANGFS = os.path.join(ROOT, ".output", "hangfs")


def meminfo_bytes():
    """/proc/meminfo as {key: bytes} (the kernel's kB are KiB)."""
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                out[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return out


def proc_stat_cpus():
    """{(cpu, mode): seconds} from the cpuN lines of /proc/stat."""
    hz = os.sysconf("SC_CLK_TCK")
    modes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            fields = line.split()
            if not fields[0].startswith("cpu") or fields[0] == "cpu":
                continue
            for mode, v in zip(modes, fields[1:9]):
                out[(fields[0][3:], mode)] = int(v) / hz
    return out


def block_device_of(path):
    """The whole-disk name (as in /proc/diskstats) holding the filesystem of @path."""
    st = os.stat(path)
    sys_dev = f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    assert os.path.exists(sys_dev), \
        f"{path} is not on a block device ({os.major(st.st_dev)}:{os.minor(st.st_dev)})"
    real = os.path.realpath(sys_dev)
    if os.path.exists(os.path.join(real, "partition")):
        real = os.path.dirname(real)
    return os.path.basename(real)


def diskstats_written_bytes(dev):
    with open("/proc/diskstats") as f:
        for line in f:
            fields = line.split()
            if fields[2] == dev:
                return int(fields[9]) * 512
    raise AssertionError(f"{dev} not in /proc/diskstats")


def write_direct(path, nbytes, chunk=1 << 20):
    """Write @nbytes to @path with O_DIRECT (page cache bypassed), then fsync it."""
    buf = mmap.mmap(-1, chunk)  # page-aligned, as O_DIRECT wants
    buf.write(b"\xa5" * chunk)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o600)
    try:
        done = 0
        while done < nbytes:
            n = os.write(fd, buf)
            assert n == chunk, f"short O_DIRECT write: {n} of {chunk}"
            done += n
        os.fsync(fd)
    finally:
        os.close(fd)
        buf.close()


def scratch_dir(prefix):
    """A unique empty directory under /tmp, removed at the end."""
    d = tempfile.mkdtemp(prefix=f"{prefix}-{os.getpid()}-", dir="/tmp")
    cleanup(lambda: os.path.isdir(d) and os.rmdir(d))
    return d


def mounted(mountpoint):
    """The fstype of the mount at @mountpoint in /proc/self/mountinfo, or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            mp = fields[4].encode().decode("unicode_escape")
            if mp == mountpoint:
                return fields[fields.index("-") + 1]
    return None


def mount_tmpfs(size):
    """A tmpfs of @size (e.g. "100M") on a unique mount point with a space in its name
    (mountinfo writes it as \\040), unmounted at the end."""
    mp = scratch_dir("kpulse tmpfs")
    source = f"kpulse-test-{os.getpid()}"
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", source, mp], check=True)
    cleanup(lambda: subprocess.run(["umount", "-l", mp], check=False))
    return mp, source


class Hangfs:
    """tests/fuse/hangfs mounted on a unique path: its statfs never answers until .heal().
    It holds one file, meminfo, whose reads are answered until .hang_reads(), then held
    until .heal()."""

    def __init__(self):
        if not os.path.exists(HANGFS):
            subprocess.run(["make", "-s", "-C", ROOT, ".output/hangfs"], check=True)
        self.mountpoint = scratch_dir("kpulse-hangfs")
        fd, self.log = tempfile.mkstemp(prefix=f"kpulse-hangfs-{os.getpid()}-", suffix=".log")
        os.close(fd)
        # Cleanups run last-in first-out: this unmounts before the directory goes.
        cleanup(self.stop)
        self.proc = subprocess.Popen([HANGFS, self.mountpoint, self.log],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        ok = wait_for(lambda: mounted(self.mountpoint) == "fuse.hangfs", timeout=10)
        assert ok, f"hangfs did not mount on {self.mountpoint}: {self.lines()}"

    def lines(self):
        with open(self.log) as f:
            return f.read().split()

    def statfs_calls(self, pid=None):
        """statfs requests seen, only those from threads of process @pid if given (other
        programs on the machine, another kpulse say, may statfs every mount too)."""
        calls = [int(l.split(":")[1]) for l in self.lines() if l.startswith("statfs:")]
        if pid is None:
            return len(calls)
        tids = {int(t) for t in os.listdir(f"/proc/{pid}/task")}
        return sum(1 for c in calls if c in tids)

    def heal(self):
        self.proc.send_signal(signal.SIGUSR1)

    def hang_reads(self):
        self.proc.send_signal(signal.SIGUSR2)
        assert wait_for(lambda: "reads-hang" in self.lines(), timeout=5), self.lines()

    def stop(self):
        # Answer whatever is held, then detach the mount and end the daemon.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)
            time.sleep(0.1)
        subprocess.run(["fusermount3", "-u", "-z", self.mountpoint], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.log)
