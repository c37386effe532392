"""The alerts suite's floor: the longest live scenario that ran, over the time scale."""

from __future__ import annotations

from types import SimpleNamespace

from obsgate.scenarios.floor import AlertsSuiteClock

LIVE = "suites/alerts/test_alerts_live.py::test_scenario_live[{}]"


def clock_after(*nodeids: str) -> AlertsSuiteClock:
    clock = AlertsSuiteClock({"short": 600.0, "long": 4320.0}, time_scale=240.0, started=0.0)
    for nodeid in nodeids:
        clock.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid))  # type: ignore[arg-type]
    return clock


def test_the_floor_is_the_longest_live_scenario_that_ran() -> None:
    floor = clock_after(LIVE.format("short"), LIVE.format("long")).floor()
    assert floor is not None and floor.scenario == "long" and floor.seconds == 18.0


def test_a_scenario_that_did_not_run_sets_no_floor() -> None:
    floor = clock_after(LIVE.format("short")).floor()
    assert floor is not None and (floor.scenario, floor.seconds) == ("short", 2.5)


def test_the_summary_says_the_ratio_and_why() -> None:
    line = clock_after(LIVE.format("long")).summary()
    assert line is not None
    assert "its floor of 18.0 s (long: 72 simulated minutes at time scale 240)" in line, line


def test_no_alerts_test_no_line_and_exact_only_no_floor() -> None:
    assert clock_after("suites/slo/test_x.py::test_y").summary() is None
    line = clock_after("suites/alerts/test_alerts_exact.py::test_x[short]").summary()
    assert line is not None and "no live scenario ran: no floor" in line, line
