"""One scenario model for both layers: series over simulated time, alerts expected at times.

A scenario file is data beside the rules it tests (like a promtool test file), in
`<config>/scenarios/alerts/*.yaml`:

    scenarios:
      - id: high-error-rate-fires          # unique; also the live layer's isolation label
        alert: HighErrorRate               # the alerting rule this scenario is about
        intent: 6% of requests fail for 10 minutes: page.
        interval: 1m                       # the step of every series' values
        series:
          - series: 'http_requests_total{namespace="mindweave-services",status_code="500"}'
            values: '0+6x30'               # promtool's expanding notation
        expect:
          - at: 4m                         # simulated time since the first sample
            firing: []                     # the alert is not firing (absent or pending)
          - at: 10m
            firing:
              - labels: {severity: critical, team: platform}      # the complete label set
                annotations: {summary: High error rate detected}  # every annotation, rendered
        finding: optional text; the scenario states intent the shipped config breaks
        finding_shows: what the failure shows while the config breaks it that way, for every
          layer (`{exact: ..., live: ...}`): for `exact`, what promtool got instead, exactly
          (`{got: [{labels: {...}, annotations: {...}}], errors: ["RULE: promtool's err"]}`,
          every alert of its got blocks, `got: []` for none); for `live`, a text the failure
          shows. Broken any other way, the failure is real: a finding never hides a second
          breakage
        layers: [exact, live]              # default both; a layer left out needs `live_note`
        history: 55m                       # optional, live layer only: see below

In the live layer a series named `up` is not served as a metric: its labels become a
scrape target's labels and its values (1 or 0) whether that target answers, so `up == 0`
comes from a really failed scrape. A series with `wall_clock: true` has the wall-clock
time (epoch seconds at the scenario's start) added to its values live, for rules that
compare a timestamp with `time()` (promtool's simulated clock starts at 0).

`history` declares the first part of a scenario to be past steady state that only range
windows look back on (an hour of normal traffic before a spike). The live layer writes those
samples into Prometheus (remote write, one per simulated minute, as scraping would have)
at the scenario's first scrape, and scrapes the rest: the scenario then takes that much less
real time. It must end at least the rule's `for` before the first checkpoint (the live run
checks it), so every checkpoint is judged on real evaluations; no `up` series with it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser

from obsgate.config import load_yaml, parse_duration
from obsgate.errors import ConfigError

LAYERS = ("exact", "live")
_TERM = re.compile(
    r"^(?P<start>_|stale|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)"
    r"(?:(?P<op>[-+])(?P<step>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))?"
    r"(?:x(?P<times>\d+))?$"
)


def scenario_seconds(value: str | int | float, where: str) -> float:
    """A scenario's time: a Prometheus duration ('90s', '1h30m'), or a number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    return parse_duration(value, where)


def expand_values(text: str, where: str = "values") -> list[float | None]:
    """Expand promtool's notation ('0+10x3 _x2 stale 5') into one value per step.

    None marks a step without a sample ('_' or 'stale'): the series is absent there.
    """
    out: list[float | None] = []
    for term in str(text).split():
        m = _TERM.match(term)
        if not m:
            raise ConfigError(f"{where}: {term!r} is not in promtool's expanding notation")
        start, op, step, times = m["start"], m["op"], m["step"], m["times"]
        if start in ("_", "stale"):
            if op:
                raise ConfigError(f"{where}: {term!r}: '_' and 'stale' take no increment")
            out.extend([None] * (int(times) if times else 1))
            continue
        base = float(start.replace("Inf", "inf"))
        if times is None:
            if op:
                raise ConfigError(f"{where}: {term!r}: an increment needs 'xN'")
            out.append(base)
            continue
        delta = 0.0 if not op else float(step) * (1 if op == "+" else -1)
        # 'a+bxN' is N+1 values; 'axN' repeats a N+1 times, as promtool does.
        out.extend(base + delta * i for i in range(int(times) + 1))
    return out


@dataclass(frozen=True)
class Series:
    """One input series: its selector text, parsed name and labels, and values per step."""

    selector: str
    name: str
    labels: dict[str, str]
    values_text: str
    values: tuple[float | None, ...]
    wall_clock: bool = False


@dataclass(frozen=True)
class ExpectedAlert:
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class Checkpoint:
    at_seconds: float
    at_text: str
    firing: tuple[ExpectedAlert, ...]


@dataclass(frozen=True)
class Scenario:
    id: str
    alert: str
    intent: str
    interval_seconds: float
    series: tuple[Series, ...]
    expect: tuple[Checkpoint, ...]
    file: Path
    finding: str | None = None
    finding_shows: dict[str, str] = field(default_factory=dict)  # layer -> text
    # The exact layer's pin: what promtool got (obsgate.scenarios.exact.promtool_got).
    finding_got: dict[str, frozenset[str]] | None = None  # by version line, "*": any
    # The live layer's pin as a regular expression (`finding_shows.live: {matches, why}`),
    # where the live replay's rendered numbers vary within a stated range.
    finding_live_matches: str | None = None
    layers: tuple[str, ...] = LAYERS
    live_note: str | None = None
    history_seconds: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def fires(self) -> bool:
        """True if the scenario expects its alert to fire at some checkpoint."""
        return any(cp.firing for cp in self.expect)

    @property
    def duration_seconds(self) -> float:
        """Simulated time the scenario spans: its last checkpoint."""
        return max(cp.at_seconds for cp in self.expect)

    @property
    def replay_seconds(self) -> float:
        """Simulated time the live layer plays out in real time: its span less the history
        written at its first scrape."""
        return self.duration_seconds - self.history_seconds


def _parse_selector(text: str, where: str) -> tuple[str, dict[str, str]]:
    try:
        node = promql_parser.parse(text)
    except Exception as exc:
        raise ConfigError(f"{where}: series {text!r} is not a PromQL selector ({exc})") from None
    if not isinstance(node, promql_parser.VectorSelector) or not node.name:
        raise ConfigError(f"{where}: series {text!r} must be a metric name with labels")
    labels = {}
    for matcher in node.matchers.matchers:
        if str(matcher.op) != "MatchOp.Equal":
            raise ConfigError(f"{where}: series {text!r}: only '=' label matchers are allowed")
        labels[matcher.name] = matcher.value
    return node.name, labels


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of names to strings")
    return {str(k): str(v) for k, v in value.items()}


def _scenario(raw: Any, file: Path, index: int) -> Scenario:
    where = f"{file}: scenarios[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each scenario must be a mapping")
    for key in ("id", "alert", "interval", "series", "expect"):
        if key not in raw:
            raise ConfigError(f"{where}: missing key {key!r}")
    sid = str(raw["id"])
    where = f"{file}: scenario {sid!r}"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", sid):
        raise ConfigError(f"{where}: id must be lower-case letters, digits and '-'")
    series = []
    for s in raw["series"] or []:
        name, labels = _parse_selector(str(s.get("series", "")), where)
        values = expand_values(s.get("values", ""), f"{where}: series {name}")
        if not values:
            raise ConfigError(f"{where}: series {name} has no values")
        series.append(
            Series(
                str(s["series"]),
                name,
                labels,
                str(s["values"]),
                tuple(values),
                bool(s.get("wall_clock", False)),
            )
        )
    checkpoints = []
    for cp in raw["expect"] or []:
        if "at" not in cp or "firing" not in cp:
            raise ConfigError(f"{where}: every expect entry needs 'at' and 'firing'")
        alerts = tuple(
            ExpectedAlert(_str_map(a.get("labels"), where), _str_map(a.get("annotations"), where))
            for a in (cp["firing"] or [])
        )
        checkpoints.append(Checkpoint(scenario_seconds(cp["at"], where), str(cp["at"]), alerts))
    if not checkpoints:
        raise ConfigError(f"{where}: 'expect' is empty: a scenario must assert something")
    layers = tuple(raw.get("layers", LAYERS))
    if not set(layers) <= set(LAYERS) or not layers:
        raise ConfigError(f"{where}: layers must be a non-empty subset of {list(LAYERS)}")
    if "live" not in layers and not raw.get("live_note"):
        raise ConfigError(f"{where}: a scenario left out of the live layer needs 'live_note'")
    interval = scenario_seconds(raw["interval"], where)
    if interval <= 0 or math.isinf(interval):
        raise ConfigError(f"{where}: interval must be positive")
    history = scenario_seconds(raw.get("history", 0), where)
    if history < 0 or (history and history >= min(cp.at_seconds for cp in checkpoints)):
        raise ConfigError(f"{where}: history must end before the first checkpoint")
    if history and any(s.name == "up" for s in series):
        raise ConfigError(f"{where}: history cannot be written for an `up` series")
    return Scenario(
        id=sid,
        alert=str(raw["alert"]),
        intent=str(raw.get("intent", "")),
        interval_seconds=interval,
        series=tuple(series),
        expect=tuple(checkpoints),
        file=file,
        finding=raw.get("finding"),
        finding_shows=_finding_shows(raw, layers, where),
        finding_got=_finding_got(raw, where),
        finding_live_matches=_finding_live_matches(raw, where),
        layers=layers,
        live_note=raw.get("live_note"),
        history_seconds=history,
        raw=raw,
    )


def scenario_from_mapping(raw: Any, file: Path, index: int = 0) -> Scenario:
    """One scenario from its mapping as a scenario file holds it, validated the same way:
    for adapters that build scenarios from another format (users' promtool tests)."""
    return _scenario(raw, file, index)


def _finding_shows(raw: dict[str, Any], layers: tuple[str, ...], where: str) -> dict[str, str]:
    if not raw.get("finding"):
        return {}
    shows = raw.get("finding_shows")
    if isinstance(shows, str):
        shows = dict.fromkeys(layers, shows)
    if not isinstance(shows, dict) or set(layers) - set(shows):
        raise ConfigError(
            f"{where}: a finding needs `finding_shows`, the text its failure shows, for each of "
            f"its layers {list(layers)}: without it a second breakage would pass as the finding"
        )
    return {str(k): str(v) for k, v in shows.items() if not isinstance(v, dict)}


def _finding_live_matches(raw: dict[str, Any], where: str) -> str | None:
    shows = raw.get("finding_shows") if raw.get("finding") else None
    pin = shows.get("live") if isinstance(shows, dict) else None
    if not isinstance(pin, dict):
        return None
    if not pin.get("matches") or not pin.get("why"):
        raise ConfigError(f"{where}: finding_shows.live as a mapping needs `matches` and `why`")
    try:
        re.compile(str(pin["matches"]))
    except re.error as exc:
        raise ConfigError(f"{where}: finding_shows.live.matches: {exc}") from None
    return str(pin["matches"])


LINES = ("current", "debian")


def _finding_got(raw: dict[str, Any], where: str) -> dict[str, frozenset[str]] | None:
    """The exact layer's pin, `finding_shows.exact` as a mapping (None: a text pin), by
    --server-versions line ("*": every line). Where promtool's versions compute different
    values, the pin is given per line, each with `why`."""
    shows = raw.get("finding_shows") if raw.get("finding") else None
    pin = shows.get("exact") if isinstance(shows, dict) else None
    if not isinstance(pin, dict):
        return None
    if pin and set(pin) <= set(LINES):
        pins = {}
        for line, per_line in pin.items():
            if not isinstance(per_line, dict) or not per_line.get("why"):
                raise ConfigError(f"{where}: finding_shows.exact.{line} needs `got` and `why`")
            rest = {k: v for k, v in per_line.items() if k != "why"}
            pins[line] = _got_pin(rest, where)
        return pins
    return {"*": _got_pin(pin, where)}


def _got_pin(pin: dict[str, Any], where: str) -> frozenset[str]:
    """One pin of what promtool got: its alerts and its errors, canonical."""
    got, errors = pin.get("got", []), pin.get("errors", [])
    if not isinstance(got, list) or not isinstance(errors, list) or set(pin) - {"got", "errors"}:
        raise ConfigError(
            f"{where}: finding_shows.exact pins what promtool got: `got: [{{labels: {{...}}, "
            'annotations: {...}}]` and `errors: ["RULE: promtool\'s error"]`'
        )
    alerts = set()
    for alert in got:
        if not isinstance(alert, dict) or set(alert) - {"labels", "annotations"}:
            raise ConfigError(f"{where}: finding_shows.exact.got: {alert!r} is not an alert")
        alerts.add(canonical_alert(alert.get("labels") or {}, alert.get("annotations") or {}))
    return frozenset(alerts | {f"error: {e}" for e in errors})


def load_scenarios(directory: Path) -> list[Scenario]:
    """Every scenario in `directory/*.yaml`, validated; ids are unique across files.

    Parsed once per process while the files are unchanged: configure, both layers'
    parametrisation and the coverage checks each ask, and parsing costs a quarter second.
    """
    if not directory.is_dir():
        raise ConfigError(
            f"{directory}: no scenario directory; the config dir must hold scenarios/alerts/*.yaml"
        )
    files = sorted(directory.glob("*.yaml"))
    key = (
        directory.resolve(),
        tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files),
    )
    if key not in _PARSED:
        _PARSED[key] = _parse_scenarios(files)
    return list(_PARSED[key])


_PARSED: dict[tuple[Path, tuple[tuple[str, int, int], ...]], list[Scenario]] = {}


def _parse_scenarios(files: list[Path]) -> list[Scenario]:
    scenarios: list[Scenario] = []
    seen: dict[str, Path] = {}
    for file in files:
        doc = load_yaml(file)
        if not isinstance(doc, dict) or not isinstance(doc.get("scenarios"), list):
            raise ConfigError(f"{file}: expected a top-level 'scenarios:' list")
        for i, raw in enumerate(doc["scenarios"]):
            sc = _scenario(raw, file, i)
            if sc.id in seen:
                raise ConfigError(f"{file}: scenario id {sc.id!r} is also used in {seen[sc.id]}")
            seen[sc.id] = file
            scenarios.append(sc)
    return scenarios


def canonical_alert(labels: dict[str, Any], annotations: dict[str, Any]) -> str:
    """One alert, labels and annotations, as one comparable line."""
    return json.dumps(
        {"labels": {str(k): str(v) for k, v in labels.items()},
         "annotations": {str(k): str(v) for k, v in annotations.items()}},
        sort_keys=True,
    )  # fmt: skip
