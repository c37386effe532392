"""The live alert run: every scenario a selected test replays live, started at once.

A test takes part by carrying the marker `live_scenario` and a `scenario` parameter: the
alerts suite's live tests, and the routing suite's, which watch the same alerts arrive at
the sink. One run serves both, so each rule fires once however many suites look at it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError, GateError
from obsgate.options import fast_lane
from obsgate.promql import scale_expr, threshold_of_alert_expr, value_of_alert_expr
from obsgate.scenarios.lanes import LiveLanes, lane_factors
from obsgate.scenarios.live import LiveAlertRun, LiveRunSettings
from obsgate.scenarios.model import Scenario
from obsgate.sinks.capture import Notification
from obsgate.stack.endpoint import Endpoint, PrometheusEndpoint
from obsgate.stack.fixtures import lane_stack
from obsgate.stack.prometheus import ISOLATION_LABEL


def live_scenarios_of(items: list[pytest.Item]) -> list[Scenario]:
    """The scenarios the given tests replay live (marker `live_scenario`), once each."""
    found: dict[str, Scenario] = {}
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("live_scenario") and isinstance(
            params.get("scenario"), Scenario
        ):
            found.setdefault(params["scenario"].id, params["scenario"])
    return list(found.values())


def _sink_notifications(
    request: pytest.FixtureRequest,
) -> Callable[[], list[Notification]] | None:
    """What the sink received, for the report's timelines: Alertmanager notifies the run's
    one sink (started with it), so asking for it starts nothing new."""
    try:
        return request.getfixturevalue("capture_sink").notifications
    except GateError:
        return None


def _check_history(obs_config: ObsConfig, scenarios: list[Scenario]) -> None:
    rules = {rule.name: rule for rule in obs_config.alert_rules()}
    for sc in scenarios:
        first = min(cp.at_seconds for cp in sc.expect)
        rule = rules.get(sc.alert)
        if sc.history_seconds and rule and sc.history_seconds + rule.for_seconds > first:
            raise ConfigError(
                f"{sc.file}: scenario {sc.id!r}: history ({sc.history_seconds:g} s) must end at "
                f"least {sc.alert}'s `for` ({rule.for_seconds:g} s) before the first checkpoint "
                f"({first:g} s): the live layer could not judge it on real evaluations"
            )


def _lane_stacks(
    request: pytest.FixtureRequest, lanes: dict[float, list[Scenario]], base: float
) -> dict[float, tuple[PrometheusEndpoint, Endpoint]]:
    """Each lane's Prometheus and Alertmanager: the run's own for the base scale, and the
    other lanes' (with the rules of their scenarios' alerts) started beside them, in
    threads, so a lane adds no start-up time."""
    stacks: dict[float, tuple[PrometheusEndpoint, Endpoint]] = {}
    errors: list[BaseException] = []

    def start(factor: float) -> None:
        alerts = frozenset(s.alert for s in lanes[factor])
        try:
            stacks[factor] = lane_stack(request.config, factor, alerts)
        except BaseException as exc:  # raised in the fixture's own thread below
            errors.append(exc)

    others = sorted(set(lanes) - {base})
    threads = [threading.Thread(target=start, args=(f,)) for f in others]
    for thread in threads:
        thread.start()
    try:
        stacks[base] = (
            request.getfixturevalue("prometheus"),
            request.getfixturevalue("alertmanager"),
        )
    finally:
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return stacks


@pytest.fixture(scope="session")
def live_alert_runs(
    request: pytest.FixtureRequest, obs_config: ObsConfig, time_scale: float
) -> Iterator[LiveLanes]:
    scenarios = live_scenarios_of(request.session.items)
    _check_history(obs_config, scenarios)
    rules = obs_config.alert_rules()
    factors = lane_factors(scenarios, rules, time_scale, fast_lane(request.config))
    lanes = {f: [s for s in scenarios if factors[s.id] == f] for f in set(factors.values())}
    stacks = _lane_stacks(request, lanes, time_scale)
    scrape = obs_config.prometheus() if obs_config.has("prometheus") else {}
    external = set((scrape.get("global") or {}).get("external_labels") or {})
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    notifications = _sink_notifications(request)
    runs = {}
    for factor, lane in sorted(lanes.items()):
        settings = LiveRunSettings(
            factor=factor,
            label=ISOLATION_LABEL,
            tag=f"{worker}.",
            templates={rule.name: dict(rule.annotations) for rule in rules},
            values_queries={
                rule.name: scale_expr(value_of_alert_expr(rule.expr), factor, ISOLATION_LABEL)
                for rule in rules
            },
            plumbing_labels=frozenset(external),
            thresholds={rule.name: threshold_of_alert_expr(rule.expr) for rule in rules},
            notifications=notifications,
        )
        prometheus, alertmanager = stacks[factor]
        runs[factor] = LiveAlertRun(
            lane, prometheus=prometheus, alertmanager=alertmanager, settings=settings
        )
    live = LiveLanes(runs).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def start_live_run_first(request: pytest.FixtureRequest) -> None:
    """Start the live scenarios with the first alert test, so the exact layer's promtool
    runs overlap the live layer's real-time wait instead of adding to it."""
    if live_scenarios_of(request.session.items):
        request.getfixturevalue("live_alert_runs")
