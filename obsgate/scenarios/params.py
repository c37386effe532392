"""Scenarios as pytest parameters, one per scenario and layer (findings are judged in the
test, against the text their failure shows: obsgate.findings.judge)."""

from __future__ import annotations

from obsgate.config import ObsConfig
from obsgate.scenarios.model import Scenario, load_scenarios

ALERT_SCENARIOS = "scenarios/alerts"


def layer_scenarios(config: ObsConfig, layer: str) -> list[Scenario]:
    """The config's alert scenarios that run in `layer` (exact or live)."""
    return [s for s in load_scenarios(config.locate(ALERT_SCENARIOS)) if layer in s.layers]
