"""Time-scale lanes: which live scenarios replay faster than the base time scale.

The alerts suite cannot end before its longest live scenario has played out, and at the
base scale (240) an hour-long `for` holds it for 18 s. So a long scenario whose rule has no
short feature replays `--fast-lane` times faster (720 by default) on a Prometheus and
Alertmanager pair of its own; everything else keeps the base scale.

What makes a rule safe to speed up: every duration it reads, its `for` and each range and
subquery step, is at least FAST_MIN_DURATION (five minutes). At 720 five minutes take 0.42 s
of real time, longer than a one-minute `for` at 240 (0.25 s), the shortest feature the base
lane already resolves. A rule without `for` (it can fire for one evaluation) or with a
shorter window stays at the base scale, as does a scenario short enough to end early
there. Scrapes stay one simulated minute apart in both lanes: the rule sees the same
samples, only faster.
"""

from __future__ import annotations

from collections.abc import Iterable

from obsgate.config.rules import AlertRule
from obsgate.errors import GateError
from obsgate.promql import range_seconds
from obsgate.scenarios.live import LiveAlertRun
from obsgate.scenarios.model import Scenario

FAST_MIN_DURATION = 300.0  # simulated seconds: the shortest `for` or window a fast rule has
# Simulated seconds of replay under which a scenario stays at the base scale: there it ends
# within 6.25 s, about when an hour-long one ends in the fast lane (72 minutes: 6 s).
FAST_MIN_REPLAY = 1500.0


def shortest_duration(rule: AlertRule) -> float:
    """The shortest duration the rule reads: its `for` (0 without one), its range windows
    and subquery steps."""
    return min([rule.for_seconds, *range_seconds(rule.expr, f"{rule.file}: {rule.name}")])


def lane_factor(scenario: Scenario, rule: AlertRule | None, base: float, fast: float) -> float:
    """The time scale `scenario` replays at: `base * fast` where its rule is safe to speed
    up and its replay is long, else `base`."""
    if fast <= 1 or rule is None or scenario.replay_seconds < FAST_MIN_REPLAY:
        return base
    return base * fast if shortest_duration(rule) >= FAST_MIN_DURATION else base


def lane_factors(
    scenarios: Iterable[Scenario], rules: Iterable[AlertRule], base: float, fast: float
) -> dict[str, float]:
    """Scenario id -> the time scale it replays at."""
    by_name = {rule.name: rule for rule in rules}
    return {s.id: lane_factor(s, by_name.get(s.alert), base, fast) for s in scenarios}


class LiveLanes:
    """The run's live replays, one per time scale, and which scenario replays in which."""

    def __init__(self, runs: dict[float, LiveAlertRun]) -> None:
        self.runs = runs
        self._of = {sid: run for run in runs.values() for sid in run.scenarios}

    def of(self, scenario: Scenario) -> LiveAlertRun:
        """The live replay `scenario` is in (every scenario a selected test replays is)."""
        run = self._of.get(scenario.id)
        if run is None:
            raise GateError(f"scenario {scenario.id!r} is in no live replay of this run")
        return run

    def start(self) -> LiveLanes:
        for run in self.runs.values():  # their serving processes start side by side
            run.targets.start()
        for run in self.runs.values():
            run.start()
        return self

    def stop(self) -> None:
        for run in self.runs.values():
            run.stop()
