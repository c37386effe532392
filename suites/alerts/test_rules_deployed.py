"""The Prometheus under test has loaded every alert rule of the config, as the config says.

Read-only, so it also runs against a staging Prometheus (--stack external), where it is the
check that what runs is what was reviewed: same expression, `for`, labels and annotations.
Against the gate's own Prometheus the loaded rules are the config's after the one documented
adaptation (time-scaled and isolated per scenario; obsgate/stack/prometheus.py), so the
expectation is that adaptation applied to the config, never the server's own answer.
"""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from obsgate.config import AlertRule, ObsConfig
from obsgate.errors import ServiceError
from obsgate.promql import scale_expr
from obsgate.stack.endpoint import PrometheusEndpoint
from obsgate.stack.prometheus import ISOLATION_LABEL

pytestmark = [pytest.mark.alerts, pytest.mark.needs("prometheus")]


def loaded_alert_rules(prometheus: PrometheusEndpoint) -> list[dict]:
    """Every alerting rule the server reports at /api/v1/rules."""
    try:
        groups = prometheus.rule_groups(type="alert")
    except requests.RequestException as exc:
        raise ServiceError(f"prometheus: GET {prometheus.url}/api/v1/rules failed: {exc}") from None
    return [rule for group in groups for rule in group["rules"]]


def canonical(expr: str, where: str) -> str:
    """One spelling per expression: parsed and printed again by the gate's PromQL printer."""
    return scale_expr(expr, 1.0, None, where)


def expected(rule: AlertRule, prometheus: PrometheusEndpoint) -> dict:
    """What the server should report for `rule`, after the backend's adaptation if any."""
    factor = prometheus.time_scale
    where = f"{rule.file}:{rule.line}: {rule.name}"
    expr = rule.expr
    if prometheus.backend != "external":  # the gate's Prometheus: scaled, isolated copy
        expr = scale_expr(expr, factor, ISOLATION_LABEL, where)
    return {
        "query": canonical(expr, where),
        "duration": round(rule.for_seconds / factor, 3),
        "labels": rule.labels,
        "annotations": rule.annotations,
    }


def test_every_alert_rule_is_loaded_as_the_config_says(
    obs_config: ObsConfig, prometheus: PrometheusEndpoint
) -> None:
    loaded = loaded_alert_rules(prometheus)
    count = Counter(rule["name"] for rule in loaded)
    problems = []
    for rule in obs_config.alert_rules():
        where = f"{rule.file}:{rule.line}"
        if count[rule.name] != 1:
            problems.append(f"{rule.name} ({where}): loaded {count[rule.name]} times, not once")
            continue
        got = next(r for r in loaded if r["name"] == rule.name)
        seen = {
            "query": canonical(got["query"], f"{prometheus.url}: {rule.name}"),
            "duration": round(float(got["duration"]), 3),
            "labels": got.get("labels") or {},
            "annotations": got.get("annotations") or {},
        }
        want = expected(rule, prometheus)
        problems += [
            f"{rule.name} ({where}): {key}: the server has {seen[key]!r}, the config says "
            f"{want[key]!r}"
            for key in want
            if seen[key] != want[key]
        ]
    assert not problems, f"Prometheus at {prometheus.url} runs other rules than the config:\n" + (
        "\n".join(problems)
    )
