"""Universal inhibition checks: true for any Alertmanager config, derived from it and the rules."""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.scenarios.inhibition import dead_rules, inhibit_rules, load_inhibition_cases
from obsgate.scenarios.routing import produced_alerts

pytestmark = [pytest.mark.inhibition]


@pytest.mark.requires("rules")
def test_every_inhibit_rule_can_match_what_the_rules_produce(obs_config: ObsConfig) -> None:
    """A rule whose source and target never meet with equal labels mutes nothing: dead config
    that someone relies on to keep a page quiet."""
    rules = inhibit_rules(obs_config)
    produced = produced_alerts(obs_config)
    dead = [r for r in rules if not any(r.inhibits(s, t) for s in produced for t in produced)]
    judge(
        holds=not dead,
        finding=universal_finding(obs_config, "inhibit-rules-can-match"),
        observed=[r.describe() for r in dead],
        failure="inhibit rules that can never match:\n" + "\n".join(dead_rules(dead, produced)),
    )


@pytest.mark.requires("scenarios/inhibition")
def test_every_inhibit_rule_has_intent(obs_config: ObsConfig) -> None:
    """Without intent, a rule is only checked for being alive, never for muting the right thing."""
    covered = {case.rule.index for case in load_inhibition_cases(obs_config)}
    missing = [r.describe() for r in inhibit_rules(obs_config) if r.index not in covered]
    assert not missing, (
        "inhibit rules without an entry in scenarios/inhibition/*.yaml:\n" + "\n".join(missing)
    )
