# SPDX-License-Identifier: GPL-2.0
"""A process the OOM killer must kill: a memory hog in a memory-limited cgroup, for the oom
collector's tests and for the dashboard test (so its OOM panels have data)."""
import os
import signal
import subprocess
import time

from kpulse import cgroup2_mount, cleanup
from sched import make_cgroup, remove_cgroup

LIMIT = 64 << 20
# Builds a 512 MiB string (memset, so every page is charged): far past LIMIT.
HOG = "b = b'x' * (512 << 20)"


def memory_v1_mount():
    """The cgroup v1 memory controller's mount point, from /proc/self/mountinfo, or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _, opts = right.split()
            if fstype == "cgroup" and "memory" in opts.split(","):
                return left.split()[4]
    return None


def limit_memory(top, v2_path):
    """Limit the hog's memory to 64 MiB: through the v1 memory controller on a hybrid host
    (a v1 cgroup named @top, returned for the hog to join), else through v2's memory.max on
    @v2_path (None is returned)."""
    v1 = memory_v1_mount()
    if v1:
        path = os.path.join(v1, top.lstrip("/"))
        os.mkdir(path)

        def rm():
            for _ in range(100):
                try:
                    os.rmdir(path)
                    return
                except FileNotFoundError:
                    return
                except OSError:
                    time.sleep(0.05)
        cleanup(rm)
        with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
            f.write(str(LIMIT))
        return path
    for d in (cgroup2_mount(), os.path.dirname(v2_path)):
        with open(d + "/cgroup.subtree_control", "w") as f:
            f.write("+memory")
    with open(v2_path + "/memory.max", "w") as f:
        f.write(str(LIMIT))
    return None


def oom_victim(top, leaf, code=HOG, remove=True):
    """Run python3 -c @code in v2 cgroup @top/@leaf, limited to 64 MiB, until the OOM killer
    kills it (asserted: SIGKILL); return its pid. With @remove the cgroups are removed at
    once, as a dead container's are."""
    make_cgroup(top)
    v2 = make_cgroup(top + "/" + leaf)
    v1 = limit_memory(top, v2)
    join = f"echo $$ > '{v2}/cgroup.procs' && "
    if v1:
        join += f"echo $$ > '{v1}/cgroup.procs' && "
    hog = subprocess.Popen(["sh", "-c", join + 'exec python3 -c "$0"', code])
    cleanup(lambda: hog.poll() is None and (hog.kill(), hog.wait()))
    rc = hog.wait(60)
    assert rc == -signal.SIGKILL, f"the memory hog exited with {rc}, not killed by SIGKILL"
    if remove:
        remove_cgroup(top)
        if v1:
            for _ in range(100):
                try:
                    os.rmdir(v1)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
    return hog.pid
