"""Universal inhibition checks: true for any Alertmanager config, derived from it and the rules."""

from __future__ import annotations

import json

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import expect_known_finding
from obsgate.scenarios.inhibition import InhibitRule, inhibit_rules, load_inhibition_cases
from obsgate.scenarios.routing import produced_alerts

pytestmark = [pytest.mark.inhibition]


def _short(labels: dict[str, str], equal: tuple[str, ...]) -> str:
    """An alert by name and its `equal` labels, a missing one shown as such."""
    shown = {name: labels.get(name, "<missing>") for name in equal if name != "alertname"}
    return f"{labels.get('alertname')}{json.dumps(shown, sort_keys=True)}"


def why_dead(rule: InhibitRule, alerts: list[dict[str, str]]) -> str:
    sources = [a for a in alerts if rule.selects_source(a)]
    targets = [a for a in alerts if rule.selects_target(a)]
    if not sources or not targets:
        side = "source" if not sources else "target"
        return f"{rule.describe()}\n  no alert the rules produce matches its {side} side"
    return (
        f"{rule.describe()}\n  sources the rules produce: "
        + ", ".join(_short(a, rule.equal) for a in sources)
        + "\n  targets the rules produce: "
        + ", ".join(_short(a, rule.equal) for a in targets)
        + "\n  no pair agrees on every `equal` label (missing on one side only is unequal)"
    )


def test_every_inhibit_rule_can_match_what_the_rules_produce(
    obs_config: ObsConfig, request: pytest.FixtureRequest
) -> None:
    """A rule whose source and target never meet with equal labels mutes nothing: dead config
    that someone relies on to keep a page quiet."""
    expect_known_finding(request, obs_config, "inhibit-rules-can-match")
    alerts = produced_alerts(obs_config)
    dead = [
        why_dead(rule, alerts)
        for rule in inhibit_rules(obs_config)
        if not any(rule.inhibits(s, t) for s in alerts for t in alerts)
    ]
    assert not dead, "inhibit rules that can never match:\n" + "\n".join(dead)


def test_every_inhibit_rule_has_intent(obs_config: ObsConfig) -> None:
    """Without intent, a rule is only checked for being alive, never for muting the right thing."""
    covered = {case.rule.index for case in load_inhibition_cases(obs_config)}
    missing = [r.describe() for r in inhibit_rules(obs_config) if r.index not in covered]
    assert not missing, (
        "inhibit rules without an entry in scenarios/inhibition/*.yaml:\n" + "\n".join(missing)
    )
