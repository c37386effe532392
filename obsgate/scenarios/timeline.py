"""What happened to one live scenario's alert, as data for a figure: the rule's value over
simulated time, the threshold, the pending and firing spans of its ALERTS series, the
checkpoints, and the notifications that named it at the sink.

Everything comes from the servers themselves (Prometheus' range queries, the sink's record),
not from the watcher's polls, so the figure shows what Prometheus computed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import requests

from obsgate.scenarios.live import LiveAlertRun
from obsgate.scenarios.model import Scenario

POINTS = 240  # range-query points over the scenario: finer than any rule interval here
MIN_STEP = 0.02  # real seconds


@dataclass(frozen=True)
class ValueSeries:
    labels: str  # the labels that tell it apart from the scenario's other series ("" if one)
    points: list[tuple[float, float]]  # (simulated seconds, value)


@dataclass(frozen=True)
class Span:
    state: str  # "pending" | "firing"
    start: float  # simulated seconds
    end: float


@dataclass(frozen=True)
class Arrival:
    at: float  # simulated seconds
    receiver: str
    kind: str
    status: str  # "firing" | "resolved" | "?"
    own: bool = True  # names this scenario's series; False: only the alert (a group's text)


@dataclass(frozen=True)
class Checkpoint:
    at: float  # simulated seconds
    text: str  # as the scenario writes it: "8m"
    firing: bool  # expected firing there


@dataclass(frozen=True, kw_only=True)
class AlertTimeline:
    scenario_id: str
    alert: str
    factor: float
    duration: float  # simulated seconds, the last checkpoint
    value_query: str
    threshold: tuple[str, float] | None
    values: list[ValueSeries] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be asked


def _number(text: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) else value


def spans_of(times: list[float], state: str, step: float) -> list[Span]:
    """Runs of consecutive range-query points (a gap over 1.5 steps ends a run)."""
    spans: list[Span] = []
    for t in sorted(times):
        if spans and t - spans[-1].end <= 1.5 * step:
            spans[-1] = Span(state, spans[-1].start, t)
        else:
            spans.append(Span(state, t, t))
    return spans


@dataclass(frozen=True)
class _Window:
    """One scenario's place in the run: its clock's zero (wall and monotonic), the end of
    its judging, the query step, and its isolation value."""

    wall0: float
    mono0: float
    end: float
    step: float
    factor: float
    iso: str

    def sim(self, wall: float) -> float:
        return (wall - self.wall0) * self.factor


def _values(run: LiveAlertRun, query: str, w: _Window) -> list[ValueSeries]:
    found = [
        s
        for s in run.query_range(query, w.wall0, w.step, w.end)
        if s["metric"].get(run.label) == w.iso
    ]
    values = []
    for s in found:
        shown = sorted((k, v) for k, v in s["metric"].items() if k != run.label)
        points = [
            (w.sim(float(t)), v) for t, text in s["values"] if (v := _number(text)) is not None
        ]
        labels = ", ".join(f"{k}={v}" for k, v in shown) if len(found) > 1 else ""
        values.append(ValueSeries(labels, points))
    return values


def _spans(run: LiveAlertRun, alert: str, w: _Window) -> list[Span]:
    query = f'ALERTS{{alertname="{alert}",{run.label}="{w.iso}"}}'
    times: dict[str, list[float]] = {}
    for s in run.query_range(query, w.wall0, w.step, w.end):
        state = s["metric"].get("alertstate", "?")
        times.setdefault(state, []).extend(w.sim(float(t)) for t, _ in s["values"])
    return [
        span
        for state in ("pending", "firing")
        for span in spans_of(times.get(state, []), state, w.step * w.factor)
    ]


def _named(text: str, tag: str) -> set[str]:
    """The isolation values (`tag` + a scenario id) that appear whole in `text`: one pass
    over the text, however many scenarios the run has."""
    return set(re.findall(rf"(?<![\w.-]){re.escape(tag)}[\w.-]+", text))


def _arrivals(run: LiveAlertRun, alert: str, w: _Window) -> list[Arrival]:
    """Notifications that name the alert: `own` where they name this scenario's series (its
    isolation value is among the labels sent); those that name another scenario's series
    are left out, those that name none (a text with the alert's name only) kept, not own."""
    assert run.notifications is not None
    scenarios = {run.targets.isolation_value(sid) for sid in run.scenarios}
    arrivals = []
    for n in run.notifications():
        if not n.mentions(alert):
            continue
        named = _named(json.dumps(n.raw), run.targets.tag) & scenarios
        own = w.iso in named
        if own or not named:
            at = (n.received_at - w.mono0) * w.factor
            arrivals.append(Arrival(at, n.receiver, n.kind, n.status or "?", own))
    return arrivals


def alert_timeline(run: LiveAlertRun, scenario: Scenario) -> AlertTimeline | None:
    """The scenario's timeline, or None if its clock never started (never scraped)."""
    clock = run.targets.clocks[scenario.id]
    if clock.started_wall is None or clock.started_mono is None:
        return None
    end = clock.started_wall + scenario.duration_seconds / run.factor + run.grace
    w = _Window(
        wall0=clock.started_wall,
        mono0=clock.started_mono,
        end=end,
        step=max(MIN_STEP, (end - clock.started_wall) / POINTS),
        factor=run.factor,
        iso=run.targets.isolation_value(scenario.id),
    )
    query = run.values_queries.get(scenario.alert, "")
    timeline = AlertTimeline(
        scenario_id=scenario.id,
        alert=scenario.alert,
        factor=run.factor,
        duration=scenario.duration_seconds,
        value_query=query,
        threshold=run.thresholds.get(scenario.alert),
        checkpoints=[Checkpoint(c.at_seconds, c.at_text, bool(c.firing)) for c in scenario.expect],
    )
    try:
        if query:
            timeline.values.extend(_values(run, query, w))
        timeline.spans.extend(_spans(run, scenario.alert, w))
    except (requests.RequestException, ValueError, KeyError) as exc:
        timeline.problems.append(f"Prometheus: {exc}")
    if run.notifications is not None:
        try:
            timeline.arrivals.extend(_arrivals(run, scenario.alert, w))
        except (requests.RequestException, ValueError) as exc:
            timeline.problems.append(f"sink: {exc}")
    return timeline
