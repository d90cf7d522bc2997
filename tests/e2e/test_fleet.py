#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A fleet of three hosts (network namespaces, each with its own kpulse on its own address)
scraped every second by one Prometheus evaluating deploy/prometheus's alert rules.

Stopping one kpulse must turn its up to 0 and raise KpulseHostDown in /api/v1/alerts,
pending then firing (the rule's `for` shortened to 5 s in a copy), with the downtime as the
alert's value, while the other two keep reporting fresh samples. Each host's network
families must name only that namespace's own devices.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from fleet import Host, alert_rules_with_short_for  # noqa: E402
from kpulse import main, need_root, script, test, wait_for  # noqa: E402
from prom import alerts, need, promql, start_prometheus  # noqa: E402

FOR = "5s"


def fleet(n=3, scrapes=20):
    """@n hosts up and a Prometheus that has scraped each of them @scrapes times."""
    need("ip")
    hosts = [Host(i) for i in range(n)]
    for h in hosts:
        h.wait_healthy()
    url = start_prometheus([h.instance for h in hosts], rule_files=[alert_rules_with_short_for({"KpulseHostDown": FOR})])

    def enough():
        r = promql(url, f'count_over_time(up{{job="kpulse"}}[1m]) >= {scrapes} '
                        'and on (instance) up == 1')
        return len(r) == n and r
    assert wait_for(enough, timeout=scrapes + 30, step=1), \
        f"not every host has {scrapes} successful scrapes: " \
        f"{promql(url, 'count_over_time(up[1m])')} up={promql(url, 'up')}"
    return hosts, url


def by_instance(result):
    return {r["metric"]["instance"]: r for r in result}


def host_down_alerts(url, instance):
    return [a for a in alerts(url) if a["labels"].get("alertname") == "KpulseHostDown"
            and a["labels"].get("instance") == instance]


@test
def one_host_down_raises_the_alert_while_the_others_report():
    need_root()
    hosts, url = fleet()
    down, others = hosts[1], [hosts[0], hosts[2]]
    assert not any(a["labels"].get("alertname") == "KpulseHostDown" for a in alerts(url)), \
        f"KpulseHostDown before anything stopped: {alerts(url)}"
    t_stop = time.time()
    rc = down.stop()
    assert rc == 0, f"kpulse in {down.ns} exited with {rc}: {down.output()}"

    # up goes to 0 at the next scrape.
    assert wait_for(lambda: by_instance(promql(url, "up")).get(down.instance, {})
                    .get("value", [0, "1"])[1] == "0", timeout=10, step=0.2), \
        f"up of {down.instance} did not become 0: {promql(url, 'up')}"

    # Pending first, then firing once the condition has held for FOR.
    states = []
    deadline = time.monotonic() + 40
    firing = None
    while time.monotonic() < deadline and not firing:
        for a in host_down_alerts(url, down.instance):
            if not states or states[-1][0] != a["state"]:
                states.append((a["state"], time.time()))
            if a["state"] == "firing":
                firing = a
        time.sleep(0.2)
    seen = [s for s, _ in states]
    assert firing, f"KpulseHostDown for {down.instance} never fired (states seen: {seen})"
    assert seen[0] == "pending" and seen[-1] == "firing", f"alert states in order: {seen}"
    pending_for = states[-1][1] - states[0][1]
    assert pending_for >= 4, f"pending for only {pending_for:.1f}s with for: {FOR}"

    # The alert's value is how long the host has been down, to a scrape (1 s) within the
    # first 10 minutes: counted from the last 1 s step at which the last good scrape (up to
    # 1 s before the stop) was current; the API shows the last evaluation's value (<= 1 s
    # old). So within about a second either way; 3 s allows for a loaded machine.
    downtime = time.time() - t_stop
    value = float(firing["value"])
    assert downtime - 3 <= value <= downtime + 3, \
        f"alert value {value:.1f}s, host stopped {downtime:.1f}s ago"
    print(f"  {down.instance} stopped; alert states {[(st, round(t - t_stop, 1)) for st, t in states]}"
          f" (s after stop); firing value {value:.1f}s at {downtime:.1f}s after stop")
    desc = firing["annotations"]["description"]
    assert desc.startswith(f"{down.instance} (job kpulse) has not answered a scrape for "), desc
    assert firing["labels"]["severity"] == "critical", firing["labels"]

    # The other two are up, not alerting, and their samples keep advancing.
    up = by_instance(promql(url, "up"))
    for h in others:
        assert up[h.instance]["value"][1] == "1", f"up of {h.instance}: {up[h.instance]}"
        assert not host_down_alerts(url, h.instance), f"{h.instance}: {alerts(url)}"
    t0 = time.time()

    def fresh():
        r = by_instance(promql(url, "timestamp(kpulse_cpu_busy_ratio_all)"))
        return all(h.instance in r and float(r[h.instance]["value"][1]) > t0 + 1
                   for h in others) and r
    assert wait_for(fresh, timeout=10, step=0.5), \
        f"samples of the running hosts stopped advancing: " \
        f"{promql(url, 'timestamp(kpulse_cpu_busy_ratio_all)')}"
    r = by_instance(promql(url, "timestamp(kpulse_cpu_busy_ratio_all)"))
    assert down.instance not in r, f"the stopped host still has a fresh sample: {r[down.instance]}"


@test
def each_host_sees_only_its_own_interfaces():
    need_root()
    hosts, url = fleet(scrapes=5)
    fam = "kpulse_network_receive_bytes_total"
    # The veth carries Prometheus's scrapes; one datagram on lo inside each namespace gives
    # lo traffic too (a device appears once it has seen a packet). Both must show up, and
    # nothing of the host namespace or of the other "hosts".
    for h in hosts:
        subprocess.run(["ip", "netns", "exec", h.ns, sys.executable, script("udp_send"),
                        "127.0.0.1", "9", "1", "6", "0"], check=True, timeout=10)
    assert promql(url, f"count({fam})"), \
        f"no {fam} series at all: the net collector is not in this build"

    def devices(h):
        return {r["metric"]["device"]: float(r["value"][1])
                for r in promql(url, f'{fam}{{instance="{h.instance}"}}')}
    first = {}
    for h in hosts:
        links = h.links()
        got = wait_for(lambda: (lambda d: set(d) == links and d)(devices(h)), timeout=10, step=0.5)
        assert got, f"{h.ns}: {fam} devices {sorted(devices(h))}, the namespace has {sorted(links)}"
        first[h.instance] = got
    # Prometheus's scrapes arrive on each namespace's veth: its receive bytes grow there.
    time.sleep(3)
    for h in hosts:
        now = devices(h)
        assert now.get(h.dev, 0) > first[h.instance][h.dev], \
            f"{h.ns}: {h.dev} receive bytes did not grow while being scraped: " \
            f"{first[h.instance][h.dev]} -> {now.get(h.dev)}"
        print(f"  {h.ns} ({h.instance}): devices {sorted(now)}; {h.dev} receive bytes "
              f"{first[h.instance][h.dev]:.0f} -> {now[h.dev]:.0f}")


if __name__ == "__main__":
    main("fleet")
