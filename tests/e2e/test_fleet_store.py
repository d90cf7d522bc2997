#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One place to see every node: two Prometheus shards (deploy's recording rules, each with
its own `shard` external label) scrape three kpulse hosts (network namespaces) and
remote_write everything into a real VictoriaMetrics, the fleet's long-term store, run
with deploy/victoria-metrics's ARGS.

The store must hold every host's series and the shards' instance:* recordings, answer a
fleet question through its Prometheus-compatible API (the hosts ranked by received
bandwidth, with traffic of known, different rates sent to each), and answer every query of
deploy's Grafana dashboard, used with the store as its data source.
"""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dashboard import load, substitute, targets  # noqa: E402
from fleet import Host  # noqa: E402
from kpulse import main, need_root, test, wait_for  # noqa: E402
from prom import (DEPLOY, deployed_victoria_metrics_args, need, promql, query,  # noqa: E402
                  start_prometheus, start_victoria_metrics)

RECORDING = os.path.join(DEPLOY, "prometheus", "kpulse-recording.rules.yml")
# Bytes per second sent to each host: a known ranking for the fleet question.
RATES = [100_000, 1_000_000, 400_000]


class Sender(threading.Thread):
    """UDP datagrams of 1000 B to @addr at about @rate bytes/s until stopped; keeps a log of
    what it really sent when (a loaded machine may fall short of @rate, or send in bursts)."""

    def __init__(self, addr, rate):
        super().__init__(daemon=True)
        self.addr, self.rate, self.sent = addr, rate, 0
        self.log = [(time.time(), 0)]
        self.stopping = threading.Event()

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        payload = b"k" * 1000
        t0 = time.monotonic()
        while not self.stopping.is_set():
            due = int((time.monotonic() - t0) * self.rate) - self.sent
            for _ in range(max(0, due) // len(payload)):
                self.sent += s.sendto(payload, (self.addr, 9))
            self.log.append((time.time(), self.sent))
            time.sleep(0.01)
        s.close()

    def rate_between(self, t0, t1):
        """Bytes per second sent between wall-clock times @t0 and @t1."""
        def at(t):
            return max((n for when, n in self.log if when <= t), default=0)
        return (at(t1) - at(t0)) / (t1 - t0)

    def stop(self):
        self.stopping.set()
        self.join()


def names(url, selector):
    """The metric names of the series matching @selector at @url."""
    return {r["metric"]["__name__"] for r in promql(url, f"count by (__name__) ({selector})")}


@test
def shards_remote_write_into_the_store():
    need_root()
    need("ip")
    # A watch list, so the watched-process panel has data.
    hosts = [Host(i, "--process.watch=kpulse") for i in range(3)]
    for h in hosts:
        h.wait_healthy()
    vm = start_victoria_metrics()
    print(f"  VictoriaMetrics {vm} with deploy's ARGS {' '.join(deployed_victoria_metrics_args())} "
          "(data directory, address and latency offset the test's)")
    write = [{"url": vm + "/api/v1/write", "queue_config": {"batch_send_deadline": "1s"}}]
    shards = {
        "shard-a": start_prometheus([h.instance for h in hosts[:2]], rule_files=[RECORDING],
                                    external_labels={"shard": "shard-a"}, remote_write=write),
        "shard-b": start_prometheus([hosts[2].instance], rule_files=[RECORDING],
                                    external_labels={"shard": "shard-b"}, remote_write=write),
    }
    senders = [Sender(h.addr, r) for h, r in zip(hosts, RATES)]
    for t in senders:
        t.start()
    try:
        # ~25 s of 1 s scrapes, so that rate()s over [1m] and the dashboard's windows have data.
        time.sleep(25)
        check_store(vm, shards, hosts, senders)
    finally:
        for t in senders:
            t.stop()


def check_store(vm, shards, hosts, senders):
    shard_of = {h.instance: ("shard-a" if i < 2 else "shard-b") for i, h in enumerate(hosts)}

    # Every host's series, by name, as its own shard has them, labelled with that shard.
    for h in hosts:
        shard = shards[shard_of[h.instance]]
        want = names(shard, f'{{instance="{h.instance}", __name__=~"kpulse_.*"}}')
        assert len(want) > 20, f"{shard_of[h.instance]} has only {sorted(want)} of {h.instance}"
        sel = f'{{instance="{h.instance}", shard="{shard_of[h.instance]}", __name__=~"kpulse_.*"}}'
        got = wait_for(lambda: (lambda n: want <= n and n)(names(vm, sel)), timeout=20, step=1)
        missing = want - names(vm, sel)
        assert got, f"the store lacks {len(missing)} of {len(want)} families of " \
            f"{h.instance}: {sorted(missing)[:10]}"
        print(f"  {h.instance} ({shard_of[h.instance]}): all {len(want)} kpulse families in the store")

    # The shards' recorded instance:* summaries.
    for h in hosts:
        shard = shards[shard_of[h.instance]]
        want = names(shard, f'{{instance="{h.instance}", __name__=~"instance.*:.*"}}')
        assert want, f"{shard_of[h.instance]} recorded nothing for {h.instance}"
        sel = f'{{instance="{h.instance}", __name__=~"instance.*:.*"}}'
        ok = wait_for(lambda: want <= names(vm, sel), timeout=20, step=1)
        assert ok, f"recordings of {h.instance} missing in the store: {sorted(want - names(vm, sel))}"
    recorded = names(vm, '{__name__=~"instance.*:.*"}')
    print(f"  recordings in the store: {len(recorded)} names")

    # A fleet question: the hosts ranked by received bandwidth over the last minute (the
    # shards' recording, excluding lo), from the store alone. Traffic of known rates makes
    # the ranking known: hosts[1] > hosts[2] > hosts[0].
    q = "topk(3, instance:kpulse_network_receive_bytes_excluding_lo:rate1m)"
    res = promql(vm, q)
    ranked = [r["metric"]["instance"] for r in sorted(res, key=lambda r: -float(r["value"][1]))]
    want = [hosts[i].instance for i in sorted(range(3), key=lambda i: -RATES[i])]
    assert ranked == want, f"{q} ranks {ranked}, the known rates rank {want}: {res}"
    top = {r["metric"]["instance"]: float(r["value"][1]) for r in res}
    # The store answers what the shard recorded (same evaluation time).
    at = time.time() - 5
    for h in hosts:
        sel = f'instance:kpulse_network_receive_bytes_excluding_lo:rate1m{{instance="{h.instance}"}}'
        in_store, in_shard = (query(u, sel, at)[1] for u in (vm, shards[shard_of[h.instance]]))
        # VictoriaMetrics keeps 12 significant digits.
        assert in_store and in_shard and abs(float(in_store[0]["value"][1]) - float(
            in_shard[0]["value"][1])) <= 1e-9 * float(in_shard[0]["value"][1]), \
            f"{sel} at {at:.3f}: store {in_store}, shard {in_shard}"
    # And it is true: over 15 s ending at @at, the rate the store gives for each host is
    # what was sent to it in those 15 s (1000 B datagrams + 28 B of IP/UDP headers, plus its
    # shard's scrapes, a few kB/s): within 10 %.
    for h, snd in zip(hosts, senders):
        q15 = f'sum(rate(kpulse_network_receive_bytes_total{{instance="{h.instance}", device!="lo"}}[15s]))'
        got = float(query(vm, q15, at)[1][0]["value"][1])
        sent = snd.rate_between(at - 15, at) * 1028 / 1000
        assert abs(got - sent) <= 0.10 * sent, \
            f"the store says {h.instance} received {got:.0f} B/s over the 15 s to {at:.1f}; " \
            f"{sent:.0f} B/s of datagrams were sent to it then (tolerance 10 %)"
        print(f"  {h.instance}: {got / 1e3:.0f} kB/s received in the store, {sent / 1e3:.0f} "
              f"kB/s sent; recorded rate1m {top[h.instance] / 1e3:.0f} kB/s (over ~25 s of "
              "samples)")
    # Grafana with the store as its Prometheus data source: every panel query answers from
    # the store what it answers from the host's own shard (the same series, at the same
    # time). A panel empty on the shard too must be explained by its families being absent
    # on that host (the cgroup families: `ip netns exec` gives each host a /sys without the
    # cgroup2 mount), never by a query the store cannot run.
    problems, answered, late = [], 0, 0
    t = targets(load())
    for h in hosts:
        shard = shards[shard_of[h.instance]]
        for title, ref, expr in t:
            e = substitute(expr, h.instance)
            ok_shard, res_shard = query(shard, e, at)
            assert ok_shard, f"panel {title!r} [{ref}] fails on the shard: {res_shard}: {e}"

            # Two documented MetricsQL differences: VictoriaMetrics drops NaN samples from
            # its answers, where Prometheus returns them, and its rate() starts from the last
            # sample before the window, where Prometheus's uses the window alone. A quantile or
            # ratio over a window in which a series did not move (a disk with no reads in the
            # last 4 s) is NaN on the shard, and in the store either absent or a number (if the
            # series moved between the sample before the window and the window). So every
            # series with a number on the shard must be in the store, and every series in the
            # store must be on the shard (as a number or as NaN).
            def labels(x):
                return str(sorted((k, v) for k, v in x["metric"].items() if k != "shard"))

            def diff(res):
                num = {labels(x) for x in res_shard if x["value"][1] != "NaN"}
                every = {labels(x) for x in res_shard}
                got = {labels(x) for x in res}
                return sorted(num - got), sorted(got - every)
            # @at is fixed and past, so the shard's answer is final; the store's can only
            # catch up as remote_write delivers (a series born in the last seconds, such as a
            # disk's first flush, may still be queued on a loaded machine): allow it 10 s.
            ok, res = query(vm, e, at)
            if ok and diff(res) != ([], []):
                late += 1
                wait_for(lambda: diff(query(vm, e, at)[1]) == ([], []), timeout=10, step=1)
                ok, res = query(vm, e, at)
            if not ok:
                problems.append(f"{h.instance} panel {title!r} [{ref}]: error {res}: {e}")
            elif diff(res) != ([], []):
                missing, extra = diff(res)
                problems.append(f"{h.instance} panel {title!r} [{ref}]: store has "
                                f"{len(res)} series, shard {len(res_shard)} (only in the store: "
                                f"{extra}, a number only on the shard: {missing}): {e}")
            elif not res and res_shard:
                answered += 1  # NaN on the shard (no movement in the window), absent in the store
            elif not res:
                absent = [n for n in set(re.findall(r"(?<![\w:])kpulse_[a-z0-9_]+", e))
                          if not promql(shard, f'count({{__name__="{n}", instance="{h.instance}"}})')]
                if not absent:
                    problems.append(f"{h.instance} panel {title!r} [{ref}]: empty, though "
                                    f"its families are exported: {e}")
            else:
                answered += 1
    for p in problems:
        print("  " + p)
    assert not problems, f"{len(problems)} of {3 * len(t)} dashboard queries differ on the store"
    assert answered >= 0.9 * 3 * len(t), f"only {answered} of {3 * len(t)} queries had data"
    print(f"  {answered} of {3 * len(t)} dashboard queries (3 hosts) answer from the store as "
          f"from the shards ({late} only after waiting for remote_write); the rest are the "
          "cgroup panels, empty on both")

if __name__ == "__main__":
    main("fleet-store")
