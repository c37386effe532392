"""Receiver intent: each receiver's integrations send what the routing intent states, field by
field (obsgate/scenarios/receivers.py), so a changed channel, severity or send_resolved
turns the gate red instead of quietly changing who hears what. Which receivers an alert
reaches is the route cases' question (test_routes_amtool.py, test_routes_live.py)."""

from __future__ import annotations

import pytest

from obsgate.applicability import not_applicable
from obsgate.config import ObsConfig
from obsgate.scenarios.receivers import by_name, differences, load_receiver_intent
from obsgate.scenarios.routing import ROUTING_SCENARIOS

pytestmark = [pytest.mark.routing, pytest.mark.requires("scenarios/routing")]


def test_every_receiver_sends_the_intended_fields(obs_config: ObsConfig) -> None:
    intent = load_receiver_intent(obs_config)
    if intent is None:
        not_applicable("the routing intent states no `receivers:` (their integrations' fields)")
    receivers = by_name(obs_config.alertmanager())
    problems = [p for name, r in receivers.items() for p in differences(intent.get(name), r)]
    problems += [f"{name}: in the intent, not in the config" for name in intent.keys() - receivers]
    assert not problems, (
        f"receivers differ from their intent ({obs_config.alertmanager_file()} against "
        f"`receivers:` in {obs_config.locate(ROUTING_SCENARIOS)}):\n" + "\n".join(problems)
    )
