#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""From an alert to a person: deploy/alertmanager/alertmanager.yml on a real Alertmanager,
fed by a real Prometheus evaluating deploy's alert rules over three kpulse hosts (network
namespaces), notifying a webhook receiver and a mailbox of this test.

The Alertmanager configuration is deploy's own (routes, grouping, inhibition, receivers);
only its mail relay is this test's mailbox (without TLS), its webhooks this test's, every
receiver also posts to this test's webhook at /<receiver> (to see the routing), its group
timers are shortened, and the alerts' `for` is shortened to seconds in a copy of the rules.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from fleet import Host, alert_rules_with_short_for  # noqa: E402
from kpulse import cleanup, http_get, kill, main, need_root, test, wait_for  # noqa: E402
from prom import (DEPLOY, Mailbox, Webhook, need, promql, start_alertmanager,  # noqa: E402
                  start_prometheus)

AM_CONFIG = os.path.join(DEPLOY, "alertmanager", "alertmanager.yml")
FOR = "5s"
# A second job scraping the same hosts, and an alert on it: what else alerts about a host
# that is down (another exporter, a probe). Its `for` is longer than KpulseHostDown's, as
# in any real rule set, so the host-down alert is there to inhibit it when it fires.
PROBE_RULES = """groups:
  - name: probe
    rules:
      - alert: ProbeTargetDown
        expr: up{job="probe"} == 0
        for: 10s
        labels:
          severity: warning
        annotations:
          summary: "probe of {{ $labels.instance }} failing"
"""


@test
def deployed_configs_check():
    p = subprocess.run([need("amtool"), "check-config", AM_CONFIG], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"amtool check-config {AM_CONFIG}:\n{p.stdout}{p.stderr}"
    prom_yml = os.path.join(DEPLOY, "prometheus", "prometheus.yml")
    p = subprocess.run([need("promtool"), "check", "config", prom_yml], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"promtool check config {prom_yml}:\n{p.stdout}{p.stderr}"
    import yaml
    with open(prom_yml) as f:
        prom = yaml.safe_load(f)
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"], prom
    with open(AM_CONFIG) as f:
        am = yaml.safe_load(f)
    assert am["route"]["group_by"] == ["alertname", "instance"], am["route"]
    assert any("KpulseHostDown" in m for r in am["inhibit_rules"]
               for m in r["source_matchers"]), am["inhibit_rules"]
    # Routing by severity, as Alertmanager itself resolves it: critical pages (mail to on
    # call and the webhook), warning and anything unlabelled goes to the ticket queue.
    for labels, want in ((["alertname=KpulseHostDown", "severity=critical"],
                          "oncall,pager-webhook"),
                         (["alertname=KpulseFilesystemFilling", "severity=warning"], "tickets"),
                         (["alertname=Other"], "tickets")):
        p = subprocess.run([need("amtool"), "config", "routes", "test",
                            f"--config.file={AM_CONFIG}", *labels],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.strip() == want, \
            f"amtool config routes test {' '.join(labels)}: {p.stdout.strip()!r} " \
            f"(exit {p.returncode}), want {want!r}: {p.stderr.strip()}"


def test_am_config(webhook, mailbox):
    """deploy's Alertmanager configuration with its mail relay @mailbox (no TLS), its
    webhook receivers pointed at @webhook, every receiver also a webhook to @webhook at
    /<receiver name> (to see the routing), and group timers in seconds."""
    import yaml
    with open(AM_CONFIG) as f:
        cfg = yaml.safe_load(f)
    cfg["global"].update(smtp_smarthost=mailbox.address, smtp_require_tls=False)
    cfg["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    for r in cfg["receivers"]:
        name = r["name"]
        for w in r.get("webhook_configs", []):
            w["url"] = f"{webhook.url}/{name}"
        if not r.get("webhook_configs"):
            r["webhook_configs"] = [{"url": f"{webhook.url}/{name}", "send_resolved": True}]
    return cfg


def subjects(mailbox, to=None):
    """[(time, recipients, Subject)] of the messages @mailbox got (for @to)."""
    return [(t, rcpt, next((l[len("Subject: "):] for l in text.splitlines()
                            if l.startswith("Subject: ")), ""))
            for t, rcpt, text in mailbox.messages(to)]


def mailed(mailbox, to, *words):
    """The first (time, recipients, Subject) of a mail to @to with every one of @words in
    its subject, or None."""
    return next((m for m in subjects(mailbox, to) if all(w in m[2] for w in words)), None)


def firing(webhook, alertname, instance, status="firing", path=None, **labels):
    """The first (time, path) at which @webhook got @alertname for @instance with
    @status (and @labels), or None."""
    for t, p, st, a in webhook.alerts(path):
        lab = a["labels"]
        if (lab.get("alertname") == alertname and lab.get("instance") == instance and
                st == status and all(lab.get(k) == v for k, v in labels.items())):
            return t, p, a
    return None


@test
def alerts_reach_the_receiver_routed_grouped_and_inhibited():
    need_root()
    need("ip")
    watched = f"kpw{os.getpid() % 1000000}"
    hosts = [Host(0), Host(1), Host(2, f"--process.watch={watched}")]
    for h in hosts:
        h.wait_healthy()
    down, watcher = hosts[1], hosts[2]

    # A process whose name (comm) is @watched: comm is the basename of what was exec'd.
    d = tempfile.mkdtemp(prefix="kpulse-watch-")
    os.symlink("/bin/sleep", os.path.join(d, watched))
    sleeper = subprocess.Popen([os.path.join(d, watched), "1000"])
    cleanup(lambda: (kill(sleeper.pid), os.unlink(os.path.join(d, watched)), os.rmdir(d)))

    webhook, mailbox = Webhook(), Mailbox()
    am = start_alertmanager(test_am_config(webhook, mailbox))
    rules_dir = tempfile.mkdtemp(prefix="kpulse-probe-rules-")
    probe_rules = os.path.join(rules_dir, "probe.rules.yml")
    with open(probe_rules, "w") as f:
        f.write(PROBE_RULES)
    cleanup(lambda: (os.unlink(probe_rules), os.rmdir(rules_dir)))
    rules = alert_rules_with_short_for({"KpulseHostDown": FOR, "KpulseProcessNotRunning": FOR})
    targets = [h.instance for h in hosts]
    url = start_prometheus(
        targets, "  - job_name: probe\n    static_configs:\n"
        f"      - targets: {json.dumps(targets)}\n",
        rule_files=[rules, probe_rules],
        alerting={"alertmanagers": [{"static_configs": [{"targets": [am[len("http://"):]]}]}]})

    def all_up():
        r = promql(url, 'up == 1')
        return len(r) == 2 * len(hosts) and r
    assert wait_for(all_up, timeout=30, step=0.5), f"not every target up: {promql(url, 'up')}"
    assert wait_for(lambda: promql(url, f'kpulse_process_running{{name="{watched}"}} == 1'),
                    timeout=15, step=0.5), \
        f"kpulse on {watcher.ns} does not see {watched} running: " \
        f"{promql(url, 'kpulse_process_running')}"
    assert not webhook.notifications() and not mailbox.messages(), \
        f"notified before anything failed: {webhook.alerts()} {subjects(mailbox)}"

    # 1. One host stops: KpulseHostDown for it, paged (critical: oncall + pager-webhook,
    # never tickets), with its downtime in the description; its probe alert inhibited.
    t_stop = time.time()
    assert down.stop() == 0, down.output()
    got = wait_for(lambda: all(firing(webhook, "KpulseHostDown", down.instance, path=f"/{r}")
                               for r in ("oncall", "pager-webhook")), timeout=60, step=0.2)
    assert got, f"no KpulseHostDown for {down.instance} within 60 s: {webhook.alerts()}"
    t_page, _, alert = firing(webhook, "KpulseHostDown", down.instance, path="/oncall")
    desc = alert["annotations"]["description"]
    m = re.search(r"for ([0-9.]+)s\.", desc)
    assert m, f"no downtime in the description: {desc!r}"
    assert abs(float(m.group(1)) - (t_page - t_stop)) <= 3, \
        f"description says down for {m.group(1)}s; it stopped {t_page - t_stop:.1f}s " \
        "before the notification (tolerance 3 s: one scrape, one evaluation, group_wait)"
    # The probe alert fires in Prometheus too, but Alertmanager holds it back.

    def probe_inhibited():
        for a in _am_alerts(am):
            if (a["labels"].get("alertname") == "ProbeTargetDown" and
                    a["labels"].get("instance") == down.instance):
                return a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"]
        return False
    assert wait_for(probe_inhibited, timeout=30, step=0.5), \
        f"ProbeTargetDown for {down.instance} not inhibited in Alertmanager: {_am_alerts(am)}"
    time.sleep(3)  # a group_interval or two for anything that would wrongly follow
    mine = [(p, a["labels"]["alertname"]) for _, p, _, a in webhook.alerts()
            if a["labels"].get("instance") == down.instance]
    assert mine and all(name == "KpulseHostDown" for _, name in mine), \
        f"for the down host the receiver got {mine}; only KpulseHostDown was expected"
    assert not webhook.alerts("/tickets"), f"a critical alert went to tickets: {webhook.alerts('/tickets')}"
    # deploy's email receiver: the people on call get a mail, the ticket queue none.
    mail = wait_for(lambda: mailed(mailbox, "oncall@example.com", "[FIRING:1] KpulseHostDown",
                                   down.instance), timeout=30, step=0.2)
    assert mail, f"no mail to oncall@example.com about KpulseHostDown {down.instance}: " \
        f"{subjects(mailbox)}"
    assert not mailbox.messages("ops-tickets@example.com"), \
        f"a critical alert was mailed to tickets: {subjects(mailbox)}"
    # Grouped by alertname and instance: each message is about one alert of one host.
    groups = [n["groupLabels"] for _, _, n in webhook.notifications()]
    assert groups and all(g == {"alertname": "KpulseHostDown", "instance": down.instance}
                          for g in groups), f"notifications grouped by {groups}"
    others = [a["labels"] for _, _, _, a in webhook.alerts()
              if a["labels"].get("instance") != down.instance]
    assert not others, f"alerts for hosts that are up: {others}"

    # 2. It comes back: the resolved notification.
    t_start = time.time()
    down.start()
    down.wait_healthy()
    got = wait_for(lambda: firing(webhook, "KpulseHostDown", down.instance, "resolved",
                                  "/oncall"), timeout=60, step=0.2)
    assert got, f"no resolved KpulseHostDown for {down.instance}: {webhook.alerts()}"
    t_resolved = got[0]
    assert wait_for(lambda: mailed(mailbox, "oncall@example.com", "[RESOLVED] KpulseHostDown",
                                   down.instance), timeout=30, step=0.2), \
        f"no resolved mail to oncall@example.com for {down.instance}: {subjects(mailbox)}"

    # 3. A watched process stops: KpulseProcessNotRunning naming it, paged.
    t_kill = time.time()
    kill(sleeper.pid)
    got = wait_for(lambda: firing(webhook, "KpulseProcessNotRunning", watcher.instance,
                                  path="/oncall", name=watched), timeout=60, step=0.2)
    assert got, f"no KpulseProcessNotRunning naming {watched}: {webhook.alerts()}"
    assert watched in got[2]["annotations"]["summary"], got[2]["annotations"]
    for _, path, n in webhook.notifications():
        g = n["groupLabels"]
        assert set(g) == {"alertname", "instance"} and all(
            a["labels"][k] == v for a in n["alerts"] for k, v in g.items()), \
            f"a notification to {path} not grouped by alertname and instance: {n}"
    print(f"  host down -> page {t_page - t_stop:.1f}s, mail {mail[0] - t_stop:.1f}s; back up "
          f"-> resolved {t_resolved - t_start:.1f}s; process killed -> page "
          f"{got[0] - t_kill:.1f}s "
          f"(scrape and evaluation 1 s, for: {FOR}, group_wait 1s, group_interval 1s)")


def _am_alerts(am):
    """Alertmanager's view of every alert, with its state (active, suppressed)."""
    status, _, body = http_get(am + "/api/v2/alerts", timeout=10)
    assert status == 200, f"alertmanager /api/v2/alerts answered {status}"
    return json.loads(body)


if __name__ == "__main__":
    main("alerting")
