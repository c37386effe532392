"""Universal checks: what any rule config must satisfy, derived from the config alone."""

from __future__ import annotations

import re

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.promql import output_labels
from obsgate.scrape_labels import rule_id, unattached_labels
from obsgate.tools import promtool

pytestmark = [pytest.mark.alerts]

_LABEL_REF = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)")


def test_promtool_check_rules_is_clean(obs_config: ObsConfig) -> None:
    result = promtool.check_rules(*obs_config.rule_files())
    assert result.ok, (
        f"promtool rejects the rule files:\n{obs_config.origin_text(result.describe())}"
    )


def test_every_alert_carries_the_labels_the_policy_requires(obs_config: ObsConfig) -> None:
    """The policy's required labels (what the routing tree routes on) and severity vocabulary:
    an alert without them, or with a severity no route knows, goes to the default receiver."""
    policy = obs_config.policy()
    missing = [
        f"{rule_id(r)}: no {label!r} label"
        for r in obs_config.alert_rules()
        for label in policy.required_alert_labels
        if label not in r.labels
    ]
    unknown = [
        f"{rule_id(r)}: severity {r.labels['severity']!r} is not one of {list(policy.severities)}"
        for r in obs_config.alert_rules()
        if policy.severities is not None
        and "severity" in r.labels
        and r.labels["severity"] not in policy.severities
    ]
    assert not missing + unknown, f"by {policy.where()}:\n" + "\n".join(missing + unknown)


def test_every_alert_links_a_runbook_as_the_policy_says(obs_config: ObsConfig) -> None:
    """A page at 3 a.m. must say what to do: the severities the policy names carry a runbook
    under its annotation key, and every runbook link uses its scheme."""
    runbook = obs_config.policy().runbook
    bad = [
        f"{rule_id(r)}: {problem}"
        for r in obs_config.alert_rules()
        if (problem := runbook.problem(r.annotations, r.labels.get("severity")))
    ]
    assert not bad, f"alerts whose runbook breaks {obs_config.policy().where()}:\n" + "\n".join(bad)


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


@pytest.mark.needs("obs-relabel")
@pytest.mark.requires("app_settings", "prometheus", "scenarios/scrape")
def test_rules_select_on_labels_the_scrape_config_attaches(obs_config: ObsConfig) -> None:
    """A rule that filters or groups an app metric (or `up`) by a label that no series of it
    carries as scraped matches nothing in production: it never fires. The scrape is the
    config's own jobs, relabelled by Prometheus' code on the deployment's discovered targets."""
    by_job, offenders = unattached_labels(obs_config)
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "rule-labels-attached-by-scrape"),
        observed=offenders,
        failure="scrape jobs attach only "
        + "; ".join(f"{j}: {sorted(ls)}" for j, ls in by_job.items())
        + "\n"
        + "\n".join(sorted(offenders.values())),
    )
