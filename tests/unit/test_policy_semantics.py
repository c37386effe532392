"""Conventions declared, not assumed, and Prometheus' and Alertmanager's semantics: each test
writes a small config of its own that a MindWeave-shaped gate called wrong (a false alarm
from a convention or a semantic shortcut), and one true defect the gate must still report.

The checks run as the suites run them: the suite's own functions on an ObsConfig read from
tmp_path, a real Prometheus for what it loads, real amtool for where Alertmanager routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgate.config import ObsConfig
from obsgate.config.policy import Policy, load_policy
from obsgate.errors import ConfigError
from obsgate.scenarios.inhibition import dead_rules, inhibit_rules
from obsgate.scenarios.route_tree import route_tree, routing_plan
from obsgate.scenarios.routing import produced_alerts
from obsgate.slo.spec import load_slos
from obsgate.stack import prometheus as prom
from obsgate.stack.alertmanager_config import AlertmanagerConfigAdapter
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.process import stop_process_group
from obsgate.tools import amtool
from obsgate.wait import eventually
from suites.alerts import test_rules_deployed as deployed
from suites.alerts import test_rules_universal as universal
from suites.routing import test_routing_universal as routing_universal

RECEIVER = {"name": "ops", "webhook_configs": [{"url": "http://127.0.0.1:9/hook"}]}


def rule(name: str, expr: str = "up == 0", **fields: Any) -> dict[str, Any]:
    return {"alert": name, "expr": expr, **fields}


def write_config(
    root: Path,
    rules: list[dict[str, Any]],
    alertmanager: dict[str, Any] | None = None,
    manifest: str | None = None,
) -> ObsConfig:
    """A config dir of the default layout with only what the check under test reads."""
    (root / "prometheus" / "rules").mkdir(parents=True)
    doc = {"groups": [{"name": "tiers", "rules": rules}]}
    (root / "prometheus" / "rules" / "rules.yaml").write_text(yaml.safe_dump(doc))
    (root / "prometheus" / "prometheus.yaml").write_text("global: {}\nscrape_configs: []\n")
    (root / "alertmanager").mkdir()
    am = alertmanager or {"route": {"receiver": "ops"}, "receivers": [RECEIVER]}
    (root / "alertmanager" / "alertmanager.yaml").write_text(yaml.safe_dump(am))
    if manifest is not None:
        (root / "obs-gate.yaml").write_text(manifest)
    return ObsConfig(root)


TIERS = [
    rule("DiskFilling", "disk_free < 0.2", labels={"severity": "warning"}),
    rule("DiskFilling", "disk_free < 0.05", labels={"severity": "critical"}),
]


# -- policy ---------------------------------------------------------------------------------


def test_without_a_policy_no_label_or_severity_value_is_required(tmp_path: Path) -> None:
    """Prometheus requires no label: no `team`, and `severity: none` is a fine value."""
    cfg = write_config(tmp_path, [rule("Watchdog", "vector(1)", labels={"severity": "none"})])
    assert cfg.policy() == Policy()
    universal.test_every_alert_carries_the_labels_the_policy_requires(cfg)
    universal.test_every_alert_links_a_runbook_as_the_policy_says(cfg)


def test_a_declared_policy_still_reports_what_breaks_it(tmp_path: Path) -> None:
    manifest = "policy:\n  required_alert_labels: [severity, team]\n  severities: [page]\n"
    cfg = write_config(tmp_path, [rule("Watchdog", labels={"severity": "none"})], None, manifest)
    with pytest.raises(AssertionError) as failed:
        universal.test_every_alert_carries_the_labels_the_policy_requires(cfg)
    assert "Watchdog (rules.yaml:" in str(failed.value)
    assert "no 'team' label" in str(failed.value)
    assert "severity 'none' is not one of ['page']" in str(failed.value)


def test_runbook_is_judged_under_the_policy_key_and_scheme(tmp_path: Path) -> None:
    manifest = (
        "policy:\n  runbook:\n    annotation: runbook\n    scheme: https\n"
        "    required_for: [critical]\n"
    )
    linked = rule("Linked", labels={"severity": "critical"}, annotations={"runbook": "https://x/y"})
    cfg = write_config(tmp_path / "ok", [linked], None, manifest)
    universal.test_every_alert_links_a_runbook_as_the_policy_says(cfg)

    unlinked = rule("Unlinked", labels={"severity": "critical"})
    plain = rule("Plain", labels={"severity": "info"}, annotations={"runbook": "http://x"})
    cfg = write_config(tmp_path / "bad", [unlinked, plain], None, manifest)
    with pytest.raises(AssertionError) as failed:
        universal.test_every_alert_links_a_runbook_as_the_policy_says(cfg)
    assert "Unlinked (rules.yaml:" in str(failed.value)
    assert "no 'runbook' annotation" in str(failed.value)
    assert "'http://x' is not an https:// link" in str(failed.value)


@pytest.mark.parametrize(
    ("manifest", "line", "says"),
    [
        ("policy:\n  required_labels: [team]\n", 2, "unknown key 'required_labels'"),
        ("policy:\n  severities: critical\n", 2, "severities is not a list of names"),
        ("policy:\n  runbook:\n    key: runbook\n", 3, "unknown key 'key' in runbook"),
        ("policy:\n  route_timings:\n    group_wait: 30\n", 3, "not a Prometheus duration"),
        (
            "policy:\n  route_timings:\n    repeat_interval: {min: 4h, max: 1h}\n",
            3,
            "min above max",
        ),
        ("policy: [severity]\n", 1, "the policy is not a mapping"),
    ],
)
def test_a_bad_policy_is_one_line_naming_file_and_line(
    tmp_path: Path, manifest: str, line: int, says: str
) -> None:
    (tmp_path / "obs-gate.yaml").write_text(manifest)
    with pytest.raises(ConfigError) as err:
        load_policy(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'obs-gate.yaml'}:{line}: policy: "), message
    assert says in message and "\n" not in message


def test_route_timings_are_judged_as_alertmanager_applies_them(tmp_path: Path) -> None:
    """No timing set: Alertmanager's defaults (repeat 4h), inherited by the child route."""
    am = {
        "route": {"receiver": "ops", "routes": [{"receiver": "ops", "group_wait": "10s"}]},
        "receivers": [RECEIVER],
    }
    fits = "policy:\n  route_timings:\n    repeat_interval: {max: 4h}\n    group_wait: {max: 30s}\n"
    cfg = write_config(tmp_path / "ok", [rule("A")], am, fits)
    routing_universal.test_route_timings_meet_the_policy(cfg)
    strict = "policy:\n  route_timings:\n    repeat_interval: {max: 1h}\n"
    cfg = write_config(tmp_path / "bad", [rule("A")], am, strict)
    with pytest.raises(AssertionError) as failed:
        routing_universal.test_route_timings_meet_the_policy(cfg)
    assert "route.routes[0] (receiver ops): repeat_interval is 14400 s" in str(failed.value)


# -- label inference ------------------------------------------------------------------------


def test_group_left_label_renders_and_a_dropped_label_is_still_reported(tmp_path: Path) -> None:
    joined = rule(
        "NodeDiskFull",
        "sum by (instance) (disk_used) * on (instance) group_left (node) node_info > 0.9",
        annotations={"summary": "{{ $labels.node }} ({{ $labels.instance }}) is full"},
    )
    cfg = write_config(tmp_path / "ok", [joined])
    universal.test_annotations_only_reference_labels_the_alert_can_have(cfg)

    dropped = rule(
        "ErrorsHigh",
        "sum by (service) (rate(errors_total[5m])) > 1",
        annotations={"summary": "{{ $labels.pod }} errs"},
    )
    cfg = write_config(tmp_path / "bad", [dropped])
    with pytest.raises(AssertionError) as failed:
        universal.test_annotations_only_reference_labels_the_alert_can_have(cfg)
    assert "ErrorsHigh (rules.yaml:" in str(failed.value)
    assert "uses $labels.pod, but the expression keeps only ['service']" in str(failed.value)


# -- one alert name, several rules ----------------------------------------------------------


def test_severity_tiers_are_each_loaded_once_and_for_0s_stays_0(tmp_path: Path) -> None:
    """Two rules of one name (and `for: 0s`) as the gate's real Prometheus loads them."""
    tiers = [{**r, "for": "0s"} for r in TIERS]
    cfg = write_config(tmp_path / "config", tiers)
    workdir = tmp_path / "prometheus"
    config_path = prom.write_live_config(cfg, 240, workdir, None)
    endpoint = prom.start(ProcessBackend(), workdir, config_path, factor=240, file_sd_dir=None)
    try:
        eventually(lambda: endpoint.rule_groups(type="alert"), timeout=10, what="rules loaded")
        loaded = deployed.loaded_alert_rules(endpoint)
    finally:
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)
    assert [got["duration"] for _, got in loaded] == [0, 0]
    rules = cfg.alert_rules()
    assert deployed.deployed_problems(rules, loaded, 240, scaled=True, source="here") == []
    # A tier missing from the server is still named, with its labels.
    problems = deployed.deployed_problems(rules, loaded[:1], 240, scaled=True, source="here")
    assert problems == [
        f"DiskFilling ({rules[1].file}:{rules[1].line}), group tiers, labels "
        "{'severity': 'critical'}: not loaded"
    ]


INHIBIT_TIERS = {
    "source_matchers": ['severity="critical"'],
    "target_matchers": ['severity="warning"'],
    "equal": ["alertname"],
}


def test_an_inhibit_rule_muting_the_lower_tier_of_one_name_is_alive(tmp_path: Path) -> None:
    am = {
        "route": {"receiver": "ops"},
        "receivers": [RECEIVER],
        "inhibit_rules": [INHIBIT_TIERS],
    }
    cfg = write_config(tmp_path / "ok", TIERS, am)
    assert sorted(a["severity"] for a in produced_alerts(cfg)) == ["critical", "warning"]
    assert dead_rules(inhibit_rules(cfg), produced_alerts(cfg)) == []

    never = {**INHIBIT_TIERS, "equal": ["cluster"]}  # no rule keeps `cluster`... on one side
    am["inhibit_rules"] = [never]
    one_sided = [TIERS[0], {**TIERS[1], "labels": {"severity": "critical", "cluster": "a"}}]
    cfg = write_config(tmp_path / "bad", one_sided, am)
    (why,) = dead_rules(inhibit_rules(cfg), produced_alerts(cfg))
    assert 'DiskFilling{"cluster": "a"}' in why and 'DiskFilling{"cluster": "<missing>"}' in why


# -- Alertmanager ---------------------------------------------------------------------------


def test_absent_route_timings_are_alertmanagers_defaults_scaled(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, [rule("A")])
    adapted = AlertmanagerConfigAdapter(cfg, "http://127.0.0.1:9", 240).adapted()
    route = adapted["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "125ms",
        "1250ms",
        "60000ms",
    )
    assert route_tree(cfg.alertmanager(), "am").timings == {
        "group_wait": 30.0,
        "group_interval": 300.0,
        "repeat_interval": 14400.0,
    }


def test_routing_plan_takes_its_label_sets_from_the_config_tree(tmp_path: Path) -> None:
    """Receivers named by no one here: the plan finds a fan-out, a single route, the
    fallback, and leaves out a receiver whose template does not exist."""
    am = {
        "route": {
            "receiver": "catch-all",
            "group_by": ["alertname", "cluster"],
            "routes": [
                {"matchers": ['tier="gold"'], "receiver": "gold-pager", "continue": True},
                {"match_re": {"squad": "db|storage"}, "receiver": "db-chat"},
                {"match": {"squad": "web"}, "receiver": "web-broken"},
            ],
        },
        "receivers": [
            {"name": n, "webhook_configs": [{"url": f"http://127.0.0.1:9/{n}"}]}
            for n in ("catch-all", "gold-pager", "db-chat")
        ]
        + [{"name": "web-broken", "slack_configs": [{"api_url": "http://127.0.0.1:9/s"}]}],
    }
    cfg = write_config(tmp_path / "config", [rule("A")], am)
    adapter = AlertmanagerConfigAdapter(cfg, "http://127.0.0.1:9", 240)
    offline = adapter.write(tmp_path / "am" / "alertmanager.yaml")
    plan = routing_plan(
        route_tree(cfg.alertmanager(), "am"),
        lambda labels: amtool.routes_test(offline, labels),
        {"catch-all": frozenset({"webhook"}), "gold-pager": frozenset({"webhook"})},
        {"web-broken"},
    )
    assert plan.fan_out is not None and plan.single is not None and plan.fallback is not None
    assert (plan.fan_out.labels, plan.fan_out.receivers) == (
        {"tier": "gold", "squad": "db"},
        ("gold-pager", "db-chat"),
    )
    assert (plan.single.labels, plan.single.receivers) == ({"squad": "db"}, ("db-chat",))
    assert plan.fallback.receivers == ("catch-all",)
    # cluster: any value routes alike, on the richest label set; nothing else is grouped by.
    assert sorted(plan.grouping) == ["cluster"]
    case = plan.grouping["cluster"]
    assert case.values == ("gate-a", "gate-b") and case.routed.labels == {
        "tier": "gold",
        "squad": "db",
    }
    assert plan.single.ungrouped_label() == "gate_instance"
    # An intent that separates by squad, a label routing reads: the case is a label set on
    # which two squads route alike (tier=gold alone: gate-a and gate-b both page gold-pager
    # only), never one where the second value would reach another receiver.
    separated = routing_plan(
        route_tree(cfg.alertmanager(), "am"),
        lambda labels: amtool.routes_test(offline, labels),
        {"catch-all": frozenset({"webhook"}), "gold-pager": frozenset({"webhook"})},
        {"web-broken"},
        separate=["squad"],
    )
    squad = separated.grouping["squad"]
    assert (squad.routed.labels, squad.routed.receivers) == ({"tier": "gold"}, ("gold-pager",))
    assert squad.values == ("gate-a", "gate-b")


# -- Sloth ----------------------------------------------------------------------------------


def test_a_switched_off_sloth_alert_is_not_a_missing_name(tmp_path: Path) -> None:
    spec = {
        "version": "prometheus/v1",
        "service": "svc",
        "slos": [
            {
                "name": "avail",
                "objective": 99.9,
                "sli": {"events": {"error_query": "e[{{.window}}]", "total_query": "t"}},
                "alerting": {"name": "SvcAvail", "page_alert": {"disable": True}},
            },
            {
                "name": "nameless",
                "objective": 99.9,
                "sli": {"events": {"error_query": "e[{{.window}}]", "total_query": "t"}},
                "alerting": {},
            },
        ],
    }
    path = tmp_path / "slos.yaml"
    path.write_text(yaml.safe_dump(spec))
    off, nameless = load_slos(path)
    assert off.page.disabled and off.page.switched_off and not off.page.name_missing
    assert not off.ticket.disabled
    assert nameless.page.name_missing and nameless.ticket.name_missing
