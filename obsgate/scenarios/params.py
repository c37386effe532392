"""Scenarios as pytest parameters, one per scenario and layer (findings are judged in the
test, against the text their failure shows: obsgate.findings.judge_with_finding)."""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.options import config_dir
from obsgate.scenarios.model import Scenario, load_scenarios

ALERT_SCENARIOS = "scenarios/alerts"


def alert_scenarios(config: pytest.Config) -> list[Scenario]:
    """The alert scenarios of the config under test; a bad file stops the run in one line."""
    try:
        return load_scenarios(ObsConfig(config_dir(config)).root / ALERT_SCENARIOS)
    except GateError as exc:
        raise pytest.UsageError(str(exc)) from None


def scenario_params(config: pytest.Config, layer: str) -> list[pytest.param]:  # type: ignore[valid-type]
    params = []
    for sc in alert_scenarios(config):
        if layer not in sc.layers:
            continue
        params.append(pytest.param(sc, id=sc.id))
    return params
