"""The Prometheus under test has loaded every alert rule of the config, as the config says.

Read-only, so it also runs against a staging Prometheus (--stack external), where it is the
check that what runs is what was reviewed: same expression, `for`, labels and annotations.
Against the gate's own Prometheus the loaded rules are the config's after the one documented
adaptation (time-scaled and isolated per scenario; obsgate/stack/prometheus.py), so the
expectation is that adaptation applied to the config, never the server's own answer.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import requests

from obsgate.config import AlertRule, ObsConfig, parse_duration
from obsgate.errors import ServiceError
from obsgate.promql import duration_text, scale_expr
from obsgate.stack.endpoint import PrometheusEndpoint
from obsgate.stack.prometheus import ISOLATION_LABEL

# The live Prometheus sends to the config's Alertmanager: without one, nothing to deploy into.
pytestmark = [
    pytest.mark.alerts,
    pytest.mark.needs("prometheus"),
    pytest.mark.requires("alertmanager"),
]

# One alert name may be several rules (severity tiers, Sloth's page and ticket): a rule is
# known by its group, name and labels, as Prometheus keeps them apart.
RuleKey = tuple[str, str, tuple[tuple[str, str], ...]]


def rule_key(group: str, name: str, labels: dict[str, str]) -> RuleKey:
    return (group, name, tuple(sorted(labels.items())))


def loaded_alert_rules(prometheus: PrometheusEndpoint) -> list[tuple[str, dict]]:
    """Every alerting rule the server reports at /api/v1/rules, with its group's name."""
    try:
        groups = prometheus.rule_groups(type="alert")
    except requests.RequestException as exc:
        raise ServiceError(f"prometheus: GET {prometheus.url}/api/v1/rules failed: {exc}") from None
    return [(group["name"], rule) for group in groups for rule in group["rules"]]


def canonical(expr: str, where: str) -> str:
    """One spelling per expression: parsed and printed again by the gate's PromQL printer."""
    return scale_expr(expr, 1.0, None, where)


def expected(rule: AlertRule, factor: float, scaled: bool) -> dict:
    """What the server should report for `rule`, after the gate's adaptation if `scaled`:
    the same printer of durations as the adaptation, so `for: 0s` stays 0."""
    where = f"{rule.file}:{rule.line}: {rule.name}"
    expr, duration = rule.expr, rule.for_seconds
    if scaled:  # the gate's Prometheus: scaled, isolated copy
        expr = scale_expr(expr, factor, ISOLATION_LABEL, where)
        duration = parse_duration(duration_text(rule.for_seconds / factor))
    return {
        "query": canonical(expr, where),
        "duration": round(duration, 3),
        "labels": rule.labels,
        "annotations": rule.annotations,
    }


def differences(rule: AlertRule, got: dict, want: dict, source: str) -> list[str]:
    seen = {
        "query": canonical(got["query"], f"{source}: {rule.name}"),
        "duration": round(float(got["duration"]), 3),
        "labels": got.get("labels") or {},
        "annotations": got.get("annotations") or {},
    }
    return [
        f"{rule.name} ({rule.file}:{rule.line}): {key}: the server has {seen[key]!r}, the "
        f"config says {want[key]!r}"
        for key in want
        if seen[key] != want[key]
    ]


def deployed_problems(
    rules: list[AlertRule], loaded: list[tuple[str, dict]], factor: float, scaled: bool, source: str
) -> list[str]:
    """How the loaded rules differ from the config's, compared rule by rule, not name by name."""
    on_server: dict[RuleKey, list[dict]] = defaultdict(list)
    for group, got in loaded:
        on_server[rule_key(group, got["name"], got.get("labels") or {})].append(got)
    in_config: dict[RuleKey, list[AlertRule]] = defaultdict(list)
    for rule in rules:
        in_config[rule_key(rule.group, rule.name, rule.labels)].append(rule)
    unmatched = [(k, got) for k, gots in on_server.items() if k not in in_config for got in gots]
    problems = []
    for key, mine in in_config.items():
        got = on_server.get(key, [])
        first = mine[0]
        where = f"{first.name} ({first.file}:{first.line}), group {first.group}"
        if not got:  # a rule of that group and name with other labels shows which differ
            alike = [g for k, g in unmatched if k[:2] == key[:2]]
            if len(alike) == len(mine) == 1:
                problems += differences(first, alike[0], expected(first, factor, scaled), source)
            else:
                problems.append(f"{where}, labels {dict(key[2])}: not loaded")
            continue
        if len(got) != len(mine):
            problems.append(
                f"{where}, labels {dict(key[2])}: loaded {len(got)} times, "
                f"the config has it {len(mine)} time(s)"
            )
            continue
        for rule, served in zip(mine, got, strict=True):
            problems += differences(rule, served, expected(rule, factor, scaled), source)
    return problems


def test_every_alert_rule_is_loaded_as_the_config_says(
    obs_config: ObsConfig, prometheus: PrometheusEndpoint
) -> None:
    problems = deployed_problems(
        obs_config.alert_rules(),
        loaded_alert_rules(prometheus),
        prometheus.time_scale,
        scaled=prometheus.backend != "external",
        source=prometheus.url,
    )
    assert not problems, f"Prometheus at {prometheus.url} runs other rules than the config:\n" + (
        "\n".join(problems)
    )
