"""Coverage: every alerting rule has scenarios that make it fire and keep it quiet.

A rule added without scenarios fails the gate here; the table (rule, scenarios, layers)
is reports/alerts-coverage.md (obsgate/scenarios/coverage.py, written for any config,
with or without alert intent, by the suite's conftest).
"""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.options import reports_dir
from obsgate.scenarios.coverage import REPORT
from obsgate.scenarios.matchers import unexercised
from obsgate.scenarios.model import load_scenarios
from obsgate.scenarios.params import ALERT_SCENARIOS

pytestmark = [pytest.mark.alerts, pytest.mark.requires("scenarios/alerts")]


def test_every_rule_has_firing_and_quiet_scenarios(
    obs_config: ObsConfig, pytestconfig: pytest.Config
) -> None:
    report = reports_dir(pytestconfig) / REPORT  # written by the suite's first test
    rules = [r.name for r in obs_config.alert_rules()]
    scenarios = load_scenarios(obs_config.locate(ALERT_SCENARIOS))
    unknown = sorted({s.alert for s in scenarios} - set(rules))
    missing = [
        f"{name}: no {kind} scenario"
        for name in rules
        for kind, wanted in (("firing", True), ("quiet", False))
        if not any(s.alert == name and s.fires == wanted for s in scenarios)
    ]
    assert not unknown, f"scenarios name alerts that no rule defines: {unknown}"
    assert not missing, (
        "every alerting rule needs a scenario that makes it fire and one that keeps it quiet "
        f"(in {obs_config.locate(ALERT_SCENARIOS)}):\n"
        + "\n".join(missing)
        + f"\ncoverage table: {report}"
    )


def test_every_rule_is_replayed_live_or_says_why(obs_config: ObsConfig) -> None:
    """Both layers for every alert the live layer can produce; exceptions carry a reason."""
    scenarios = load_scenarios(obs_config.locate(ALERT_SCENARIOS))
    rules = [r.name for r in obs_config.alert_rules()]
    not_live = [
        name for name in rules if not any(s.alert == name and "live" in s.layers for s in scenarios)
    ]
    assert not not_live, f"alerts with no live scenario at all: {not_live}"


def test_every_matcher_of_a_rule_is_exercised_by_a_scenario(obs_config: ObsConfig) -> None:
    """Each label matcher of a rule's selectors meets, in one of the rule's scenarios, a series
    that only it turns away (obsgate/scenarios/matchers.py): else dropping it goes unseen."""
    scenarios = load_scenarios(obs_config.locate(ALERT_SCENARIOS))
    missing = unexercised(obs_config.alert_rules(), scenarios)
    assert not missing, (
        "matchers no scenario exercises: give the rule a scenario with a series that meets "
        "every other matcher of the selector but not this one (another namespace, another "
        f"resource), beside one it keeps (in {obs_config.locate(ALERT_SCENARIOS)}):\n"
        + "\n".join(m.describe() for m in missing)
    )
