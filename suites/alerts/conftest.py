"""The alerts suite starts the live run with its first test, and runs its live tests last,
so the other tests and the exact layer's promtool runs overlap the live layer's real-time
wait instead of adding to it; and it writes the coverage table."""

from collections.abc import Callable
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.options import config_dir, fast_lane, reports_dir, time_scale
from obsgate.scenarios.coverage import REPORT, write_coverage
from obsgate.scenarios.fixtures import live_scenarios_of
from obsgate.scenarios.lanes import lane_factors
from obsgate.scenarios.model import Scenario
from obsgate.scenarios.promtool_tests import PromtoolCase

HERE = Path(__file__).parent


@pytest.fixture(scope="session", autouse=True)
def _live_run_starts_first(start_live_run_first: None) -> None:
    pass


def _no_user_promtool_case(item: pytest.Item) -> bool:
    if item.path.name != "test_user_promtool_tests.py":
        return False
    params = getattr(getattr(item, "callspec", None), "params", {})
    return not any(isinstance(v, PromtoolCase | Scenario) for v in params.values())


@pytest.fixture(scope="session", autouse=True)
def _coverage_table(obs_config: ObsConfig, pytestconfig: pytest.Config) -> None:
    """reports/alerts-coverage.md for every run of the suite: which rules have scenarios, and
    which have none (all of them, for a config without alert intent)."""
    write_coverage(obs_config, reports_dir(pytestconfig) / REPORT)


def _replay_end(config: pytest.Config, items: list[pytest.Item]) -> Callable[[pytest.Item], float]:
    """Real seconds a live test's scenario takes to play out in its lane (0: no scenario),
    with the lanes the live run gives the scenarios these tests replay."""
    scenarios = live_scenarios_of(items)
    try:
        rules = ObsConfig(config_dir(config)).alert_rules()
    except GateError:  # no rules (an SLO-only config): its tests say so; no order to keep
        rules = []
    factors = lane_factors(scenarios, rules, time_scale(config), fast_lane(config))

    def end(item: pytest.Item) -> float:
        scenario = getattr(getattr(item, "callspec", None), "params", {}).get("scenario")
        if not isinstance(scenario, Scenario) or scenario.id not in factors:
            return 0.0
        return scenario.replay_seconds / factors[scenario.id]

    return end


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Within this suite, tests that wait for the live run go after those that do not, in
    the order their scenarios end (each reports, and draws its figure, while longer ones
    still play); and a config without promtool tests collects none of them, not an
    empty-parameter skip."""
    items[:] = [item for item in items if not _no_user_promtool_case(item)]

    def mine(item: pytest.Item) -> bool:
        return HERE in Path(item.path).parents

    def waits(item: pytest.Item) -> bool:
        return mine(item) and item.get_closest_marker("live_scenario") is not None

    live = [item for item in items if waits(item)]
    rest = [item for item in items if not waits(item)]
    if not live or not any(mine(item) for item in rest):
        return
    live.sort(key=_replay_end(config, items))  # stable: same ends keep their file order
    after = max(n for n, item in enumerate(rest) if mine(item)) + 1
    items[:] = rest[:after] + live + rest[after:]
