"""The live alert run: every scenario a selected test replays live, started at once.

A test takes part by carrying the marker `live_scenario` and a `scenario` parameter: the
alerts suite's live tests, and the routing suite's, which watch the same alerts arrive at
the sink. One run serves both, so each rule fires once however many suites look at it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError, GateError
from obsgate.promql import scale_expr, threshold_of_alert_expr, value_of_alert_expr
from obsgate.scenarios.live import LiveAlertRun, LiveRunSettings
from obsgate.scenarios.model import Scenario
from obsgate.sinks.capture import Notification
from obsgate.stack.endpoint import Endpoint, PrometheusEndpoint
from obsgate.stack.prometheus import ISOLATION_LABEL


def _selected_live_scenarios(session: pytest.Session) -> list[Scenario]:
    found: dict[str, Scenario] = {}
    for item in session.items:
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


@pytest.fixture(scope="session")
def live_alert_run(
    request: pytest.FixtureRequest,
    obs_config: ObsConfig,
    prometheus: PrometheusEndpoint,
    alertmanager: Endpoint,
    time_scale: float,
) -> Iterator[LiveAlertRun]:
    scenarios = _selected_live_scenarios(request.session)
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
    templates = {rule.name: dict(rule.annotations) for rule in obs_config.alert_rules()}
    scrape = obs_config.prometheus() if obs_config.has("prometheus") else {}
    external = set((scrape.get("global") or {}).get("external_labels") or {})
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    settings = LiveRunSettings(
        factor=time_scale,
        label=ISOLATION_LABEL,
        tag=f"{worker}.",
        templates=templates,
        values_queries={
            rule.name: scale_expr(value_of_alert_expr(rule.expr), time_scale, ISOLATION_LABEL)
            for rule in obs_config.alert_rules()
        },
        plumbing_labels=frozenset(external),
        thresholds={
            rule.name: threshold_of_alert_expr(rule.expr) for rule in obs_config.alert_rules()
        },
        notifications=_sink_notifications(request),
    )
    run = LiveAlertRun(
        scenarios, prometheus=prometheus, alertmanager=alertmanager, settings=settings
    )
    run.start()
    yield run
    run.stop()


@pytest.fixture(scope="session")
def start_live_run_first(request: pytest.FixtureRequest) -> None:
    """Start the live scenarios with the first alert test, so the exact layer's promtool
    runs overlap the live layer's real-time wait instead of adding to it."""
    if _selected_live_scenarios(request.session):
        request.getfixturevalue("live_alert_run")
