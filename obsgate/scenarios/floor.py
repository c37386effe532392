"""The alerts suite's wall time against its floor.

The live layer cannot finish before its longest scenario has played out: that scenario's
replayed span (its last checkpoint, less any history written at its first scrape) divided
by its lane's time scale is the floor no scheduling can beat. Printing the
wall time as a ratio to it says how much of a run is the gate's own overhead (server start,
promtool runs, waiting on scrapes), which is what a change to the gate should shrink.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from obsgate.options import FIGURE_SECONDS_ATTR

_LIVE_ID = re.compile(r"::test_scenario_live\[(?P<id>[^\]]+)\]$")
# The time scale of each of the given live scenarios' lanes, when just those run together.
LaneFactors = Callable[[list[str]], dict[str, float]]


@dataclass(frozen=True)
class Floor:
    """The longest live scenario of the run and what it costs in real time."""

    scenario: str
    simulated_seconds: float
    time_scale: float

    @property
    def seconds(self) -> float:
        return self.simulated_seconds / self.time_scale


class AlertsSuiteClock:
    """Registered by the run's owner: notes when the alerts suite's last test reported and
    which live scenarios ran, from the reports the owner sees (the xdist controller sees
    every worker's)."""

    def __init__(self, spans: dict[str, float], lanes: LaneFactors, started: float) -> None:
        self.spans = spans  # live scenario id -> the simulated seconds it replays
        self.lanes = lanes
        self.started = started
        self.last_report: float | None = None
        self.live: set[str] = set()
        self.drawing = 0.0  # seconds the alerts tests spent drawing their figures

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "/suites/alerts/" not in f"/{report.nodeid}" and not report.nodeid.startswith(
            "suites/alerts/"
        ):
            return
        self.last_report = time.time()
        self.drawing += getattr(report, FIGURE_SECONDS_ATTR, 0.0)
        match = _LIVE_ID.search(report.nodeid)
        if match and match["id"] in self.spans:
            self.live.add(match["id"])

    def floor(self) -> Floor | None:
        """The floor of the live scenarios that ran, each in the lane it had among them (a
        `-k` subset may fit the fast lane where the whole config does not); None when none
        ran."""
        if not self.live:
            return None
        ran = sorted(self.live)
        factors = self.lanes(ran)
        floors = (Floor(s, self.spans[s], factors[s]) for s in ran)
        return max(floors, key=lambda f: f.seconds)

    def summary(self) -> str | None:
        """One line for the terminal summary, or None when no alerts test ran."""
        if self.last_report is None:
            return None
        wall = self.last_report - self.started
        floor = self.floor()
        drawing = ""
        if self.drawing >= 0.05:
            drawing = f"; its tests spent {self.drawing:.1f} s drawing figures"
            # Drawing overlaps the live layer's wait: advice only where the run is well past
            # its floor, as with hundreds of scenarios, and drawing is a third of the excess.
            past = wall - (floor.seconds if floor else 0.0)
            if (floor is None or wall > 1.5 * floor.seconds) and self.drawing >= past / 3:
                drawing += " (`--figures failed` draws only those of tests that did not pass)"
        if floor is None:
            return f"alerts suite: {wall:.1f} s wall (no live scenario ran: no floor){drawing}"
        return (
            f"alerts suite: {wall:.1f} s wall, {wall / floor.seconds:.2f}x its floor of "
            f"{floor.seconds:.1f} s ({floor.scenario}: {floor.simulated_seconds / 60:g} "
            f"simulated minutes replayed at time scale {floor.time_scale:g}){drawing}"
        )
