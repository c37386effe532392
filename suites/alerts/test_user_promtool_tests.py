"""Your own promtool tests (`promtool_tests:` in obs-gate.yaml), run by the gate against the
config's own rules: every case in the exact layer, and the plain alert cases replayed live.

One test per case (an entry of `tests:`), named by its file, index and first alert or
expression, so a failure says which of your tests broke and shows promtool's exp/got.
A config without `promtool_tests:` collects none (suites/alerts/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.params import parametrize_from_config
from obsgate.scenarios.lanes import LiveLanes
from obsgate.scenarios.model import Scenario
from obsgate.scenarios.promtool_tests import (
    CaseResult,
    PromtoolCase,
    live_scenarios,
    load_cases,
    run_cases,
)

pytestmark = [pytest.mark.alerts, pytest.mark.needs("promtool")]


def _live(config: ObsConfig) -> list[Scenario]:
    """The cases the live layer can replay, where the config has the stack to replay them."""
    if not (config.has("prometheus") and config.has("alertmanager")):
        return []
    return [s for case in load_cases(config) for s in live_scenarios(case, config)[0]]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(metafunc, "promtool_case", load_cases, id_of=lambda c: c.id)
    parametrize_from_config(metafunc, "scenario", _live, id_of=lambda s: s.id)


@pytest.fixture(scope="module")
def promtool_case_results(
    request: pytest.FixtureRequest, obs_config: ObsConfig, gate_workdir: Path
) -> dict[str, CaseResult]:
    """The selected cases run at once, one promtool process each, instead of in turn."""
    selected: dict[str, PromtoolCase] = {}
    for item in request.session.items:
        case = getattr(getattr(item, "callspec", None), "params", {}).get("promtool_case")
        if isinstance(case, PromtoolCase):
            selected.setdefault(case.id, case)
    workers = max(1, min(8, os.cpu_count() or 1))
    workdir = gate_workdir / "user-promtool-tests"
    return run_cases(list(selected.values()), obs_config, workdir, max_workers=workers)


@pytest.mark.xdist_group("user-promtool-tests")  # one worker runs them all, in its pool
def test_promtool_case(
    promtool_case: PromtoolCase,
    promtool_case_results: dict[str, CaseResult],
    obs_config: ObsConfig,
) -> None:
    """promtool passes the case against the config's own rules."""
    result = promtool_case_results.get(promtool_case.id)
    assert result is not None, f"{promtool_case.where}: not run (the config changed mid-run?)"
    rules = obs_config.origin_text(", ".join(str(p) for p in promtool_case.rule_files))
    assert result.ok, (
        f"your promtool test {promtool_case.where} ({promtool_case.label}) fails against "
        f"{rules}:\n{result.output}"
    )


@pytest.mark.needs("prometheus", "alertmanager")
@pytest.mark.writes("serves test series to Prometheus and loads time-scaled rules")
@pytest.mark.xdist_group("live")
@pytest.mark.live_scenario
def test_promtool_case_live(scenario: Scenario, live_alert_runs: LiveLanes) -> None:
    """The case's alerts fire, reach Alertmanager and resolve through the real servers."""
    run = live_alert_runs.of(scenario)
    run.wait_for(scenario)
    verdict = run.judge(scenario)
    assert verdict.ok, (
        f"your promtool test {scenario.intent}, alert {scenario.alert}, live at time scale "
        f"{run.factor:g}:\n  "
        + "\n  ".join(verdict.problems)
        + f"\nwhat Prometheus and Alertmanager showed:\n{verdict.history}"
        + f"\nPrometheus log:\n{run.prometheus.log_tail(15)}"
    )
