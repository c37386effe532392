"""Coverage: every alerting rule has scenarios that make it fire and keep it quiet.

A rule added without scenarios fails the gate here; the table (rule, scenarios, layers)
is written to reports/alerts-coverage.md for the report.
"""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.options import reports_dir
from obsgate.scenarios.model import Scenario, load_scenarios
from obsgate.scenarios.params import ALERT_SCENARIOS

pytestmark = [pytest.mark.alerts]


def coverage_table(rules: list[str], scenarios: list[Scenario]) -> str:
    lines = [
        "| alert | firing scenarios | quiet scenarios | layers | findings |",
        "|---|---|---|---|---|",
    ]
    for name in rules:
        mine = [s for s in scenarios if s.alert == name]
        fires = ", ".join(s.id for s in mine if s.fires) or "**none**"
        quiet = ", ".join(s.id for s in mine if not s.fires) or "**none**"
        layers = (
            ", ".join(
                f"{s.id}: {'+'.join(s.layers)}"
                for s in mine
                if tuple(s.layers) != ("exact", "live")
            )
            or "all: exact+live"
        )
        findings = sum(1 for s in mine if s.finding)
        lines.append(f"| {name} | {fires} | {quiet} | {layers} | {findings} |")
    return "\n".join(lines) + "\n"


def test_every_rule_has_firing_and_quiet_scenarios(
    obs_config: ObsConfig, pytestconfig: pytest.Config
) -> None:
    report = reports_dir(pytestconfig) / "alerts-coverage.md"
    rules = [r.name for r in obs_config.alert_rules()]
    scenarios = load_scenarios(obs_config.locate(ALERT_SCENARIOS))
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("# Alert scenario coverage\n\n" + coverage_table(rules, scenarios))
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
