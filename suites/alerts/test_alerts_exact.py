"""The exact layer: every intent scenario as a promtool test, in simulated time.

One test per scenario, so a failure names the intent it breaks; all promtool runs happen once,
concurrently, in a module fixture, so the module costs about one promtool run per core.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import declared_finding, judge
from obsgate.params import parametrize_from_config
from obsgate.scenarios.exact import ExactResult, promtool_got, run_all
from obsgate.scenarios.model import Scenario, load_scenarios
from obsgate.scenarios.params import ALERT_SCENARIOS, layer_scenarios
from obsgate.tools.versions_line import chosen_line

pytestmark = [pytest.mark.alerts, pytest.mark.requires("scenarios/alerts")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(
        metafunc, "scenario", lambda c: layer_scenarios(c, "exact"), id_of=lambda s: s.id
    )


@pytest.fixture(scope="module")
def exact_results(
    obs_config: ObsConfig, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, ExactResult]:
    """Run the selected scenarios' promtool tests at once, instead of one process per test in
    turn (`-k` on scenario ids, as the self-test does per mutant, runs only those)."""
    workers = max(1, min(8, os.cpu_count() or 1))
    selected = {
        item.callspec.params["scenario"].id
        for item in request.session.items
        if getattr(item, "module", None) is request.module  # a "not applicable" item has none
        and "scenario" in getattr(getattr(item, "callspec", None), "params", {})
    }  # fmt: skip
    scenarios = [
        s
        for s in load_scenarios(obs_config.locate(ALERT_SCENARIOS))
        if "exact" in s.layers and s.id in selected
    ]
    results = run_all(
        scenarios,
        obs_config.rule_files(),
        tmp_path_factory.mktemp("promtool-exact"),
        max_workers=workers,
    )
    # promtool names materialized rule files; the user edits their own (same lines).
    return {
        sid: dataclasses.replace(r, tool_output=obs_config.origin_text(r.tool_output))
        for sid, r in results.items()
    }


def test_alert_scenario_exact(
    scenario: Scenario, exact_results: dict[str, ExactResult], obs_config: ObsConfig
) -> None:
    """The real rule engine agrees with the scenario's intent at every checkpoint."""
    result = exact_results.get(scenario.id)
    assert result is not None, (
        f"{scenario.id}: not run: the collected config dir and the obs_config fixture differ"
    )
    if scenario.finding_got is not None:  # pinned: exactly the alerts and errors promtool got
        observed: object = promtool_got(result.tool_output)
        line = chosen_line()
        evidence: object = scenario.finding_got.get(line, scenario.finding_got.get("*"))
    else:  # a text pin: a substring of promtool's output
        shows = scenario.finding_shows.get("exact", "")
        observed, evidence = bool(shows) and shows in result.tool_output, True
    judge(
        holds=result.ok,
        observed=observed,
        finding=declared_finding(obs_config, scenario.id, scenario.finding, evidence),
        failure=f"scenario {scenario.id} (alert {scenario.alert}, {scenario.file}): "
        f"intent: {scenario.intent}\n"
        f"promtool test file: {result.test_file}\n{result.tool_output}",
    )
