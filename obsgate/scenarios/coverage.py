"""The alert scenario coverage table (reports/alerts-coverage.md): each rule, the scenarios
that make it fire and keep it quiet, and the layers they run in; a config without alert
intent gets the table too, every rule marked as having none."""

from __future__ import annotations

from pathlib import Path

from obsgate.config import ObsConfig
from obsgate.scenarios.model import Scenario, load_scenarios
from obsgate.scenarios.params import ALERT_SCENARIOS

REPORT = "alerts-coverage.md"
NONE = "**none**"


def config_scenarios(config: ObsConfig) -> list[Scenario] | None:
    """The config's alert scenarios, or None when it brings no alert intent at all."""
    folder = config.locate(ALERT_SCENARIOS)
    if not folder.is_dir() or not any(folder.glob("*.yaml")):
        return None
    return load_scenarios(folder)


def coverage_table(rules: list[str], scenarios: list[Scenario]) -> str:
    lines = [
        "| alert | firing scenarios | quiet scenarios | layers | findings |",
        "|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(rules):  # one row per name: tiers share their scenarios
        mine = [s for s in scenarios if s.alert == name]
        fires = ", ".join(s.id for s in mine if s.fires) or NONE
        quiet = ", ".join(s.id for s in mine if not s.fires) or NONE
        layers = ", ".join(
            f"{s.id}: {'+'.join(s.layers)}" for s in mine if tuple(s.layers) != ("exact", "live")
        ) or ("all: exact+live" if mine else NONE)
        findings = sum(1 for s in mine if s.finding)
        lines.append(f"| {name} | {fires} | {quiet} | {layers} | {findings} |")
    return "\n".join(lines) + "\n"


def write_coverage(config: ObsConfig, path: Path) -> Path:
    """The table for the config's rules; without alert intent, said above the table."""
    scenarios = config_scenarios(config)
    rules = [r.name for r in config.alert_rules()]
    head = "# Alert scenario coverage\n\n"
    if scenarios is None:
        head += (
            f"No alert intent: {config.locate(ALERT_SCENARIOS)} has no scenarios, so no rule "
            "below is checked to fire or to stay quiet (not applicable: the exact and live "
            "layers and the coverage checks).\n\n"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + coverage_table(rules, scenarios or []))
    return path
