"""The live alert run: every selected live scenario replayed at once through real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.config import ObsConfig
from fixtures.scenarios.live import LiveAlertRun
from fixtures.scenarios.model import Scenario
from fixtures.stack.endpoint import Endpoint
from fixtures.stack.prometheus import ISOLATION_LABEL

LIVE_TEST = "test_scenario_live"


def _selected_live_scenarios(session: pytest.Session) -> list[Scenario]:
    found = []
    for item in session.items:
        if getattr(item, "originalname", None) == LIVE_TEST:
            found.append(item.callspec.params["scenario"])  # type: ignore[attr-defined]
    return found


@pytest.fixture(scope="session")
def live_alert_run(
    request: pytest.FixtureRequest,
    obs_config: ObsConfig,
    prometheus: Endpoint,
    alertmanager: Endpoint,
    time_scale: float,
) -> Iterator[LiveAlertRun]:
    scenarios = _selected_live_scenarios(request.session)
    templates = {rule.name: dict(rule.annotations) for rule in obs_config.alert_rules()}
    external = set((obs_config.prometheus().get("global") or {}).get("external_labels") or {})
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    run = LiveAlertRun(
        scenarios,
        prometheus,
        alertmanager,
        time_scale,
        ISOLATION_LABEL,
        f"{worker}.",
        Path(prometheus.extras["file_sd_dir"]),
        templates,
        external,
    ).start()
    yield run
    run.stop()


@pytest.fixture(scope="session", autouse=True)
def _start_live_run_first(request: pytest.FixtureRequest) -> None:
    """Start the live scenarios with the first alert test, so the exact layer's promtool
    runs overlap the live layer's real-time wait instead of adding to it."""
    if _selected_live_scenarios(request.session):
        request.getfixturevalue("live_alert_run")
