"""Routing intent: the label sets the rules really produce, and the receivers each must reach.

Entries live in `<config>/scenarios/routing/*.yaml` (format in the shipped routes.yaml).
An entry naming `alerts` is expanded into one case per distinct label set those alerts
fire with in the alert scenarios, so routing is checked on labels the rules produce,
not on labels someone typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError
from obsgate.scenarios.model import Scenario, load_scenarios
from obsgate.scenarios.params import ALERT_SCENARIOS

ROUTING_SCENARIOS = "scenarios/routing"


@dataclass(frozen=True)
class RouteCase:
    id: str
    labels: dict[str, str]
    receivers: tuple[str, ...]
    intent: str
    file: Path
    alert: str | None = None
    finding: str | None = None
    live_finding: str | None = None  # what only the live layer shows (a failing template)
    finding_receivers: tuple[str, ...] | None = None  # where the finding says it really goes
    live_finding_receivers: tuple[str, ...] | None = None

    @property
    def entry_id(self) -> str:
        """The id of the routing entry this case came from: its findings' id."""
        return self.id.split(":", 1)[0]


def produced_label_sets(alert: str, rules: ObsConfig, scenarios: list[Scenario]) -> list[dict]:
    """Every distinct label set `alert` fires with in the scenarios; the rule's own labels
    if no scenario fires it (the coverage check fails that case anyway)."""
    seen: list[dict[str, str]] = []
    for sc in scenarios:
        for cp in sc.expect:
            for expected in cp.firing:
                labels = {"alertname": sc.alert, **expected.labels}
                if sc.alert == alert and labels not in seen:
                    seen.append(labels)
    if not seen:
        rule = next((r for r in rules.alert_rules() if r.name == alert), None)
        if rule is not None:
            seen.append({"alertname": alert, **rule.labels})
    return seen


def produced_alerts(config: ObsConfig) -> list[dict[str, str]]:
    """Every label set the config's alert rules fire with in its alert scenarios."""
    scenarios = load_scenarios(config.locate(ALERT_SCENARIOS))
    return [
        labels
        for rule in config.alert_rules()
        for labels in produced_label_sets(rule.name, config, scenarios)
    ]


def _entry(raw: Any, file: Path, index: int) -> dict[str, Any]:
    where = f"{file}: routing[{index}]"
    if not isinstance(raw, dict) or "id" not in raw or "receivers" not in raw:
        raise ConfigError(f"{where}: each entry needs 'id' and 'receivers'")
    if ("alerts" in raw) == ("labels" in raw):
        raise ConfigError(f"{where} ({raw['id']}): give exactly one of 'alerts' or 'labels'")
    return raw


def _receivers(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(sorted(str(r) for r in value))


def load_route_cases(config: ObsConfig) -> list[RouteCase]:
    directory = config.locate(ROUTING_SCENARIOS)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no routing scenarios (scenarios/routing/*.yaml)")
    alert_scenarios = load_scenarios(config.locate(ALERT_SCENARIOS))
    rule_names = {r.name for r in config.alert_rules()}
    cases: list[RouteCase] = []
    for file in sorted(directory.glob("*.yaml")):
        doc = load_yaml(file)
        if not isinstance(doc, dict) or not isinstance(doc.get("routing"), list):
            raise ConfigError(f"{file}: expected a top-level 'routing:' list")
        for i, raw in enumerate(doc["routing"]):
            entry = _entry(raw, file, i)
            receivers = tuple(str(r) for r in entry["receivers"])
            common = {
                "receivers": receivers,
                "intent": " ".join(str(entry.get("intent", "")).split()),
                "file": file,
                "finding": entry.get("finding"),
                "live_finding": entry.get("live_finding"),
                "finding_receivers": _receivers(entry.get("finding_receivers")),
                "live_finding_receivers": _receivers(entry.get("live_finding_receivers")),
            }
            if "labels" in entry:
                labels = {str(k): str(v) for k, v in entry["labels"].items()}
                cases.append(RouteCase(id=str(entry["id"]), labels=labels, **common))
                continue
            for alert in entry["alerts"]:
                if alert not in rule_names:
                    raise ConfigError(f"{file}: {entry['id']}: no alert rule named {alert!r}")
                for n, labels in enumerate(produced_label_sets(alert, config, alert_scenarios)):
                    suffix = f"-{n + 1}" if n else ""
                    cases.append(
                        RouteCase(
                            id=f"{entry['id']}:{alert}{suffix}",
                            labels=labels,
                            alert=alert,
                            **common,
                        )
                    )
    return cases
