"""Live layer: each scenario's series scraped by real Prometheus from targets this process
serves, the time-scaled rules evaluated there, the alerts delivered to real Alertmanager.

It proves the pipeline (labels that survive scraping and aggregation, annotations rendered
by the real server, delivery, resolution); exact durations are the exact layer's job.
"""

from __future__ import annotations

import re

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import declared_finding, judge
from obsgate.params import parametrize_from_config
from obsgate.scenarios.lanes import LiveLanes
from obsgate.scenarios.model import Scenario
from obsgate.scenarios.params import layer_scenarios

pytestmark = [
    pytest.mark.alerts,
    pytest.mark.requires("scenarios/alerts"),
    pytest.mark.needs("prometheus", "alertmanager"),
    pytest.mark.writes("serves test series to Prometheus and loads time-scaled rules"),
    pytest.mark.xdist_group("live"),
    pytest.mark.live_scenario,
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(
        metafunc, "scenario", lambda c: layer_scenarios(c, "live"), id_of=lambda s: s.id
    )


def test_scenario_live(
    scenario: Scenario, live_alert_runs: LiveLanes, obs_config: ObsConfig
) -> None:
    run = live_alert_runs.of(scenario)
    run.wait_for(scenario)
    verdict = run.judge(scenario)
    shown = "\n".join(verdict.problems) + "\n" + verdict.history
    shows = scenario.finding_shows.get("live", "")
    if scenario.finding_live_matches:
        pinned = re.search(scenario.finding_live_matches, shown) is not None
    else:
        pinned = bool(shows) and shows in shown
    # A finding is the rule's verdict only where the servers had the data and ran the rule.
    unproven = [] if verdict.ok else run.unproven(scenario)
    judge(
        holds=verdict.ok,
        observed=pinned and not unproven,
        finding=declared_finding(obs_config, scenario.id, scenario.finding),
        failure=f"{scenario.alert}, scenario {scenario.id} ({scenario.file.name}), live at time "
        f"scale {run.factor:g}:\n  "
        + "\n  ".join(verdict.problems)
        + "".join(f"\n  not the rule's own verdict: {gap}" for gap in unproven)
        + f"\nwhat Prometheus and Alertmanager showed:\n{verdict.history}"
        + f"\nPrometheus log:\n{run.prometheus.log_tail(15)}",
    )
