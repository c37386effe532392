"""Time-scale lanes: which live scenarios replay faster than the base time scale.

The alerts suite cannot end before its longest live scenario has played out, and at the
base scale (240) an hour-long `for` holds it for 18 s. So a long scenario whose rule has no
short feature replays `--fast-lane` times faster (720 by default) on a Prometheus and
Alertmanager pair of its own; everything else keeps the base scale.

What makes a rule safe to speed up:
- its `for` is at least five minutes (FAST_MIN_FOR): at 720 that is 0.42 s of real time,
  longer than a one-minute `for` at 240 (0.25 s), the shortest alert the base lane already
  sees; a rule without `for` can fire for one evaluation;
- every window of samples it reads (range selectors) spans at least five minutes
  (FAST_MIN_WINDOW), five scrapes, as the shortest the base lane reads. Scrapes stay one
  simulated minute apart in both lanes, so the rule sees the same samples, only faster; at
  720 a scrape is 83 ms, and samples stamped on the scrape schedule (targets.py) keep a
  `rate()` exact however late an answer comes, within half an interval.
A scenario short enough to end early at the base scale stays there too, and every scenario
does where the lanes together would ask for more scrapes than the live layer answers.
"""

from __future__ import annotations

from collections.abc import Iterable

from obsgate.config.rules import AlertRule
from obsgate.errors import GateError
from obsgate.promql import window_seconds
from obsgate.scenarios.live import MAX_SCRAPES_PER_SECOND, LiveAlertRun
from obsgate.scenarios.model import Scenario
from obsgate.scenarios.targets import ScenarioTargets

FAST_MIN_FOR = 300.0  # simulated seconds: the shortest `for` a fast rule has
FAST_MIN_WINDOW = 300.0  # simulated seconds: the shortest window of samples it reads
# Simulated seconds of replay under which a scenario stays at the base scale: there it ends
# within 6.25 s, about when an hour-long one ends in the fast lane (72 minutes: 6 s).
FAST_MIN_REPLAY = 1500.0


def shortest_window(rule: AlertRule) -> float:
    """The shortest window of samples the rule reads (infinite if it reads none)."""
    return min(window_seconds(rule.expr, f"{rule.file}: {rule.name}"), default=float("inf"))


def speeds_up(rule: AlertRule) -> bool:
    """True if the rule has no feature too short to replay faster than the base scale."""
    return rule.for_seconds >= FAST_MIN_FOR and shortest_window(rule) >= FAST_MIN_WINDOW


def lane_factor(scenario: Scenario, rule: AlertRule | None, base: float, fast: float) -> float:
    """The time scale `scenario` replays at: `base * fast` where its rule is safe to speed
    up and its replay is long, else `base`."""
    if fast <= 1 or rule is None or scenario.replay_seconds < FAST_MIN_REPLAY:
        return base
    return base * fast if speeds_up(rule) else base


def lane_factors(
    scenarios: Iterable[Scenario],
    rules: Iterable[AlertRule],
    base: float,
    fast: float,
    budget: float = MAX_SCRAPES_PER_SECOND,
) -> dict[str, float]:
    """Scenario id -> the time scale it replays at. All at the base scale where the lanes
    would ask for more scrapes a second than the `budget`: the scenarios then take turns
    (obsgate/scenarios/live.py), and a turn three times shorter at three times the scrapes
    a second ends no sooner; it only leaves the fast lane's 83 ms scrapes on a saturated
    machine, where they are answered late."""
    chosen = list(scenarios)
    by_name = {rule.name: rule for rule in rules}
    factors = {s.id: lane_factor(s, by_name.get(s.alert), base, fast) for s in chosen}
    asked = sum(ScenarioTargets.target_count(s) * factors[s.id] / 60 for s in chosen)
    if asked > budget:
        return dict.fromkeys(factors, base)
    return factors


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
