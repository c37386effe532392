"""Universal checks: what any rule config must satisfy, derived from the config alone."""

from __future__ import annotations

import re

import pytest

from fixtures.config import AlertRule, ObsConfig
from fixtures.promql import output_labels
from fixtures.tools import promtool

pytestmark = [pytest.mark.alerts]

ROUTING_LABELS = ("severity", "team")
SEVERITIES = ("critical", "warning", "info")
_LABEL_REF = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)")


def rule_id(rule: AlertRule) -> str:
    return f"{rule.name} ({rule.file.name}:{rule.line})"


def test_promtool_check_rules_is_clean(obs_config: ObsConfig) -> None:
    result = promtool.check_rules(*obs_config.rule_files())
    assert result.ok, f"promtool rejects the rule files:\n{result.describe()}"


def test_every_alert_carries_the_labels_routing_needs(obs_config: ObsConfig) -> None:
    """Alertmanager routes on severity and team; an alert without them goes to the default."""
    missing = [
        f"{rule_id(r)}: no {label!r} label"
        for r in obs_config.alert_rules()
        for label in ROUTING_LABELS
        if label not in r.labels
    ]
    unknown = [
        f"{rule_id(r)}: severity {r.labels['severity']!r} is not one of {SEVERITIES}"
        for r in obs_config.alert_rules()
        if "severity" in r.labels and r.labels["severity"] not in SEVERITIES
    ]
    assert not missing + unknown, "\n".join(missing + unknown)


def test_every_critical_alert_links_a_runbook(obs_config: ObsConfig) -> None:
    """A page at 3 a.m. must say what to do: critical alerts carry runbook_url."""
    bad = [
        rule_id(r)
        for r in obs_config.alert_rules()
        if r.labels.get("severity") == "critical"
        and not r.annotations.get("runbook_url", "").startswith("https://")
    ]
    assert not bad, "critical alerts without an https runbook_url: " + ", ".join(bad)


def test_annotations_only_reference_labels_the_alert_can_have(obs_config: ObsConfig) -> None:
    """`{{ $labels.x }}` renders empty when the expression aggregated x away."""
    problems = []
    for rule in obs_config.alert_rules():
        kept = output_labels(rule.expr, rule_id(rule))
        if kept is None:
            continue  # no aggregation fixes the labels: the scenarios check the rendering
        available = set(kept) | set(rule.labels) | {"alertname"}
        for name, template in rule.annotations.items():
            for m in _LABEL_REF.finditer(template):
                label = m.group(1) or m.group(2)
                if label not in available:
                    problems.append(
                        f"{rule_id(rule)}: annotation {name} uses $labels.{label}, but the "
                        f"expression keeps only {sorted(kept) or 'no labels'}"
                    )
    assert not problems, "\n".join(problems)
