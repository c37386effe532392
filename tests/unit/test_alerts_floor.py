"""The alerts suite's floor: the longest live scenario that ran, over the time scale."""

from __future__ import annotations

from types import SimpleNamespace

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.scenarios.floor import AlertsSuiteClock
from obsgate.scenarios.params import layer_scenarios

LIVE = "suites/alerts/test_alerts_live.py::test_scenario_live[{}]"


def clock_of(**spans: tuple[float, float]) -> AlertsSuiteClock:
    """A clock whose scenarios replay the given seconds, each at the given fixed scale."""
    scales = {sid: scale for sid, (_, scale) in spans.items()}
    return AlertsSuiteClock(
        {sid: seconds for sid, (seconds, _) in spans.items()},
        lambda ran: {sid: scales[sid] for sid in ran},
        started=0.0,
    )


def clock_after(*nodeids: str) -> AlertsSuiteClock:
    clock = clock_of(short=(600.0, 240.0), long=(4320.0, 240.0))
    for nodeid in nodeids:
        clock.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid))  # type: ignore[arg-type]
    return clock


def test_the_floor_is_the_longest_live_scenario_that_ran() -> None:
    floor = clock_after(LIVE.format("short"), LIVE.format("long")).floor()
    assert floor is not None and floor.scenario == "long" and floor.seconds == 18.0


def test_the_floor_is_in_real_time_each_scenario_at_its_lanes_scale() -> None:
    """An hour in the fast lane (720) ends before 35 minutes at the base scale (240)."""
    clock = clock_of(hour=(4320.0, 720.0), spike=(2100.0, 240.0))
    for sid in ("hour", "spike"):
        clock.pytest_runtest_logreport(SimpleNamespace(nodeid=LIVE.format(sid)))  # type: ignore[arg-type]
    floor = clock.floor()
    assert floor is not None and (floor.scenario, floor.seconds) == ("spike", 8.75)
    line = clock.summary()
    assert line is not None and "(spike: 35 simulated minutes replayed at time scale 240)" in line


def test_the_lanes_are_those_of_the_scenarios_that_ran() -> None:
    """The live run puts the selected scenarios in lanes; a `-k` subset of a config too big
    for the fast lane can fit it, and its floor is then at the fast lane's scale."""
    asked: list[list[str]] = []

    def lanes(ran: list[str]) -> dict[str, float]:
        asked.append(ran)
        return {sid: (720.0 if len(ran) == 1 else 240.0) for sid in ran}

    clock = AlertsSuiteClock({"hour": 4320.0, "other": 600.0}, lanes, started=0.0)
    clock.pytest_runtest_logreport(SimpleNamespace(nodeid=LIVE.format("hour")))  # type: ignore[arg-type]
    floor = clock.floor()
    assert asked == [["hour"]]
    assert floor is not None and (floor.scenario, floor.time_scale, floor.seconds) == (
        "hour",
        720.0,
        6.0,
    )


def test_a_scenario_that_did_not_run_sets_no_floor() -> None:
    floor = clock_after(LIVE.format("short")).floor()
    assert floor is not None and (floor.scenario, floor.seconds) == ("short", 2.5)


def test_the_summary_says_the_ratio_and_why() -> None:
    line = clock_after(LIVE.format("long")).summary()
    assert line is not None
    assert "its floor of 18.0 s (long: 72 simulated minutes replayed at time scale 240)" in line, (
        line
    )


def test_no_alerts_test_no_line_and_exact_only_no_floor() -> None:
    assert clock_after("suites/slo/test_x.py::test_y").summary() is None
    line = clock_after("suites/alerts/test_alerts_exact.py::test_x[short]").summary()
    assert line is not None and "no live scenario ran: no floor" in line, line


def test_history_is_not_replayed_so_not_in_the_floor() -> None:
    """api-call-spike-fourfold-fires spans 90 simulated minutes, of which 55 are history
    written at its first scrape (business.yaml): the live layer replays 35 of them."""
    live = {s.id: s for s in layer_scenarios(ObsConfig(DEFAULT_CONFIG_DIR), "live")}
    spike = live["api-call-spike-fourfold-fires"]
    assert (spike.duration_seconds, spike.history_seconds) == (90 * 60, 55 * 60)
    assert spike.replay_seconds == 35 * 60
    plain = live["pod-restart-loop-fires"]  # no history: replayed whole
    assert plain.replay_seconds == plain.duration_seconds == 72 * 60


def test_the_summary_says_how_much_was_drawing() -> None:
    """Drawing a failure's figure runs in the test process: on a large config it can be
    most of the suite; the option is named only where it is a third of the run's excess."""
    clock = clock_of(long=(4320.0, 240.0))
    for seconds in (2.5, 5.0):
        report = SimpleNamespace(nodeid=LIVE.format("long"), obs_figure_seconds=seconds)
        clock.pytest_runtest_logreport(report)  # type: ignore[arg-type]
    assert clock.last_report is not None
    clock.started = clock.last_report - 36.0  # 2x its 18 s floor, 7.5 s of the 18 drawing
    line = clock.summary()
    assert line is not None and "its tests spent 7.5 s drawing figures" in line, line
    assert "--figures failed" in line
    clock.started = clock.last_report - 20.0  # 1.1x its floor: drawing overlapped the wait
    line = clock.summary()
    assert line is not None and "7.5 s drawing" in line and "--figures" not in line, line
    clock.started = clock.last_report - 60.0  # 3.3x, but drawing is not what took the time
    line = clock.summary()
    assert line is not None and "7.5 s drawing" in line and "--figures" not in line, line
    assert "drawing" not in (clock_after(LIVE.format("long")).summary() or "")
