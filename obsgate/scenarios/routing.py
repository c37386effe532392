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
from obsgate.findings import Finding, declared_finding
from obsgate.scenarios.model import Scenario, load_scenarios
from obsgate.scenarios.params import ALERT_SCENARIOS
from obsgate.sinks.capture import Notification

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
    # The live pin per Alertmanager version line ("*": every line): arrivals and why.
    live_finding_receivers: dict[str, LivePin] | None = None

    @property
    def entry_id(self) -> str:
        """The id of the routing entry this case came from: its findings' id."""
        return self.id.split(":", 1)[0]

    def finding_pin(self, config: ObsConfig) -> Finding | None:
        """The finding amtool's answer is judged against: where the case really goes."""
        return declared_finding(config, self.entry_id, self.finding, self.finding_receivers)

    def live_finding_pin(self, line: str, config: ObsConfig) -> Finding | None:
        """The finding a live check judges against on this Alertmanager version line: the
        live finding where there is one (with why this line differs), else the finding."""
        if not self.live_finding:
            return self.finding_pin(config)
        pins = self.live_finding_receivers or {}
        pin = pins.get(line, pins.get("*"))
        text = " ".join(self.live_finding.split())
        if pin is not None and pin.why:
            text += f" On the {line} version line: {pin.why}"
        return declared_finding(config, self.entry_id, text, pin.arrivals if pin else None)


@dataclass(frozen=True)
class LivePin:
    """What a live finding pins: the arrivals at the sink, and why this version line differs
    from the others (None where one pin serves every line)."""

    arrivals: tuple[str, ...]
    why: str | None = None


def slack_channels(alertmanager: dict[str, Any]) -> dict[str, set[str]]:
    """The channels each receiver's Slack configs name: a Slack notification reaches its
    receiver only there (a message without its channel lands in the webhook's default)."""
    channels: dict[str, set[str]] = {}
    for receiver in alertmanager.get("receivers") or []:
        for slack in receiver.get("slack_configs") or []:
            if slack.get("channel"):
                channels.setdefault(str(receiver.get("name")), set()).add(str(slack["channel"]))
    return channels


def arrival(receiver: str, kind: str, channel: str | None, channels: dict[str, set[str]]) -> str:
    """How one notification shows in a route case's evidence: the receiver's name where it
    arrived as configured, else the name with the channel it really carried."""
    wanted = channels.get(receiver)
    if kind != "slack" or not wanted:
        return receiver
    if channel in wanted or (channel and any("{{" in w for w in wanted)):
        return receiver
    return f"{receiver} (no channel)" if not channel else f"{receiver} (channel {channel})"


def accepted_firing(alert: str, notifications: list[Notification]) -> list[Notification]:
    """The firing notifications that name `alert` and that the sink accepted."""
    return [
        n for n in notifications if n.status == "firing" and n.answered < 300 and n.mentions(alert)
    ]


def live_arrivals(
    alert: str, notifications: list[Notification], channels: dict[str, set[str]]
) -> list[str]:
    """Where those notifications arrived, each as `arrival` shows it (the receiver, with the
    channel where it is not the configured one)."""
    found = accepted_firing(alert, notifications)
    return sorted({arrival(n.receiver, n.kind, n.channel, channels) for n in found})


def scenario_label_sets(alert: str, scenarios: list[Scenario]) -> list[dict[str, str]]:
    """Every distinct label set `alert` fires with in the alert scenarios."""
    seen: list[dict[str, str]] = []
    for sc in scenarios:
        for cp in sc.expect:
            for expected in cp.firing:
                labels = {"alertname": sc.alert, **expected.labels}
                if sc.alert == alert and labels not in seen:
                    seen.append(labels)
    return seen


def produced_label_sets(alert: str, rules: ObsConfig, scenarios: list[Scenario]) -> list[dict]:
    """Every distinct label set `alert` fires with in the scenarios, and, for each rule of that
    name that no scenario fires (one name may be several rules: severity tiers, Sloth's page
    and ticket), that rule's own labels (the coverage check fails that case anyway)."""
    seen = scenario_label_sets(alert, scenarios)
    for rule in rules.alert_rules():
        fired = any(rule.labels.items() <= labels.items() for labels in seen)
        own = {"alertname": alert, **rule.labels}
        if rule.name == alert and not fired and own not in seen:
            seen.append(own)
    return seen


def produced_alerts(config: ObsConfig) -> list[dict[str, str]]:
    """Every label set the config's alert rules fire with in its alert scenarios."""
    directory = config.locate(ALERT_SCENARIOS)
    scenarios = load_scenarios(directory) if directory.is_dir() else []  # rules' own labels
    names = dict.fromkeys(rule.name for rule in config.alert_rules())
    return [labels for name in names for labels in produced_label_sets(name, config, scenarios)]


def _entry(raw: Any, file: Path, index: int) -> dict[str, Any]:
    where = f"{file}: routing[{index}]"
    if not isinstance(raw, dict) or "id" not in raw or "receivers" not in raw:
        raise ConfigError(f"{where}: each entry needs 'id' and 'receivers'")
    if ("alerts" in raw) == ("labels" in raw):
        raise ConfigError(f"{where} ({raw['id']}): give exactly one of 'alerts' or 'labels'")
    return raw


def _receivers(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(sorted(str(r) for r in value))


LINES = ("current", "debian")


def _live_pins(value: Any, where: str) -> dict[str, LivePin] | None:
    """`live_finding_receivers`: a list for every version line, or per line
    `{LINE: {arrivals: [...], why: ...}}` where the versions differ."""
    if value is None:
        return None
    if isinstance(value, list):
        return {"*": LivePin(_receivers(value) or ())}
    if not isinstance(value, dict) or not set(value) <= set(LINES):
        raise ConfigError(
            f"{where}: live_finding_receivers is a list, or a mapping of the version lines "
            f"{list(LINES)} to {{arrivals: [...], why: ...}}"
        )
    pins = {}
    for line, pin in value.items():
        if (
            not isinstance(pin, dict)
            or not isinstance(pin.get("arrivals"), list)
            or not pin.get("why")
        ):
            raise ConfigError(f"{where}: live_finding_receivers.{line} needs 'arrivals' and 'why'")
        pins[line] = LivePin(_receivers(pin["arrivals"]) or (), " ".join(str(pin["why"]).split()))
    return pins


def load_route_cases(config: ObsConfig) -> list[RouteCase]:
    directory = config.locate(ROUTING_SCENARIOS)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no routing scenarios (scenarios/routing/*.yaml)")
    scenarios_dir = config.locate(ALERT_SCENARIOS)  # without alert intent: the rules' labels
    alert_scenarios = load_scenarios(scenarios_dir) if scenarios_dir.is_dir() else []
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
                "live_finding_receivers": _live_pins(
                    entry.get("live_finding_receivers"), f"{file}: {entry['id']}"
                ),
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


def load_grouping_intent(config: ObsConfig) -> tuple[str, ...] | None:
    """The labels whose values the team means to notify apart (`grouping: {separate: [...]}`
    in a routing intent file), or None where no file states it (then the config's own
    group_by is all the gate knows)."""
    directory = config.locate(ROUTING_SCENARIOS)
    for file in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        doc = load_yaml(file)
        section = doc.get("grouping") if isinstance(doc, dict) else None
        if section is None:
            continue
        labels = section.get("separate") if isinstance(section, dict) else None
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ConfigError(f"{file}: `grouping:` takes `separate: [<label>, ...]`, the labels "
                              "whose alerts are notified apart")  # fmt: skip
        if "alertname" in labels:
            raise ConfigError(f"{file}: grouping.separate: leave out alertname (the gate's "
                              "tests tell their own alerts apart by it)")  # fmt: skip
        return tuple(labels)
    return None
