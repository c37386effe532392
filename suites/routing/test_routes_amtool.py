"""Routing, offline: Alertmanager's own routing code (amtool) says where each label set goes.

The config is the seed's alertmanager.yaml through the same adapter the live server runs,
so what amtool routes is what Alertmanager would; the label sets are the ones the real
rules fire with (see obsgate/scenarios/routing.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge
from obsgate.params import parametrize_from_config
from obsgate.scenarios.routing import RouteCase, load_route_cases
from obsgate.stack.endpoint import Endpoint
from obsgate.tools import amtool

pytestmark = [pytest.mark.routing, pytest.mark.requires("scenarios/routing")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(metafunc, "case", load_route_cases, id_of=lambda c: c.id)


def judge_routing(case: RouteCase, routing: Path | str, config: ObsConfig) -> None:
    """amtool's answer for the case's labels, from a config file or a running Alertmanager,
    must be exactly the intended receivers, each once."""
    got = amtool.routes_test(routing, case.labels)
    twice = sorted(r for r, n in Counter(got).items() if n > 1)
    judge(
        holds=sorted(set(got)) == sorted(case.receivers) and not twice,
        observed=tuple(sorted(got)),
        finding=case.finding_pin(config),
        failure=f"{case.id} ({case.file.name}): {case.intent}\n"
        f"labels {case.labels}\n"
        f"  expected receivers {sorted(case.receivers)}\n"
        f"  Alertmanager routes to {got}"
        + (f" ({twice} more than once)" if twice else "")
        + f"\n  (routing read from {routing})"
        + f"\nrouting tree:\n{amtool.routes_show(routing)}",
    )


def test_label_set_reaches_exactly_the_intended_receivers(
    case: RouteCase, offline_alertmanager_config: Path, obs_config: ObsConfig
) -> None:
    judge_routing(case, offline_alertmanager_config, obs_config)


@pytest.mark.needs("alertmanager")
def test_running_alertmanager_routes_label_set_as_intended(
    case: RouteCase, alertmanager: Endpoint, obs_config: ObsConfig
) -> None:
    """The config the Alertmanager under test has loaded routes as intended: on a staging
    deployment (--stack external), this is the check that what runs is what was reviewed."""
    judge_routing(case, alertmanager.url, obs_config)


def test_every_alert_rule_has_routing_intent(obs_config: ObsConfig) -> None:
    """An alert added without routing intent fails here, as one without scenarios does."""
    covered = {c.alert for c in load_route_cases(obs_config) if c.alert}
    missing = sorted({r.name for r in obs_config.alert_rules()} - covered)
    assert not missing, (
        f"alerts with no entry in {obs_config.locate('scenarios/routing')}: {missing}"
    )
