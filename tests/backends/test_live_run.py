"""The live run's own machinery on a real Prometheus: its budget of scrape targets, and
what it says of scrapes the machine lost (the test process answering too late): a failure
is then not the rule's own verdict, so no finding can absorb it, and a pass is no pass."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.scenarios.live import LiveAlertRun, LiveRunSettings
from obsgate.scenarios.model import Scenario, load_scenarios
from obsgate.stack import prometheus as prom
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_group
from obsgate.wait import eventually

QUIET = """\
  - id: {id}
    alert: KafkaConsumerLag
    interval: 1m
    series:
      - series: 'kafka_consumer_lag{{topic="usage-events",consumer_group="usage-tracker"}}'
        values: '10x{values}'
    expect:
      - at: {at}m
        firing: []
"""

RunOf = Callable[[str, int], tuple[LiveAlertRun, list[Scenario]]]


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[RunOf]:
    """Starts a live run of the given scenarios (YAML list items) with a budget of targets
    (scraped four times a second each, at time scale 240), on a real Prometheus with
    MindWeave's time-scaled rules; stops both at the end."""
    workdir = tmp_path / "prometheus"
    config_path = prom.write_live_config(ObsConfig(Path("fixtures/config/mindweave")), 240,
                                         workdir, None)  # fmt: skip
    endpoint = prom.start(
        ProcessBackend(), workdir, config_path, factor=240, file_sd_dir=workdir / "file_sd"
    )
    runs: list[LiveAlertRun] = []

    def start(items: str, max_targets: int) -> tuple[LiveAlertRun, list[Scenario]]:
        (tmp_path / "scenarios").mkdir()
        (tmp_path / "scenarios" / "s.yaml").write_text("scenarios:\n" + items)
        scenarios = load_scenarios(tmp_path / "scenarios")
        # No Alertmanager: its polls are recorded as unanswered, and no scenario here fires.
        nobody = Endpoint(service="alertmanager", host="127.0.0.1", port=9, backend="none")
        settings = LiveRunSettings(
            factor=240, label=prom.ISOLATION_LABEL, tag="t.", templates={}, values_queries={},
            plumbing_labels=frozenset(), budget=max_targets * 240 / 60,
        )  # fmt: skip
        run = LiveAlertRun(scenarios, prometheus=endpoint, alertmanager=nobody, settings=settings)
        runs.append(run.start())
        return run, scenarios

    try:
        yield start
    finally:
        for run in runs:
            run.stop()
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)


def test_over_the_budget_a_scenario_waits_for_its_turn(live_run: RunOf) -> None:
    """One target at a time: the longer scenario first, the other once it is done; both are
    judged on their own full replay."""
    items = QUIET.format(id="short", values=5, at=4) + QUIET.format(id="long", values=8, at=7)
    run, scenarios = live_run(items, 1)
    long, short = sorted(scenarios, key=lambda s: s.id)
    assert [s.id for s in run.waiting] == ["short"] and list(run.active) == ["long"]
    for scenario in (long, short):
        run.wait_for(scenario)
        verdict = run.judge(scenario)
        assert verdict.ok, verdict
    first, second = run.targets.clocks["long"], run.targets.clocks["short"]
    assert first.started_mono is not None and second.started_mono is not None
    # The second scenario's first scrape came after the first scenario had played out.
    assert second.started_mono > first.started_mono + run._span(long) - run.grace


def test_failed_scrapes_are_named_and_keep_a_failure_from_the_rule(live_run: RunOf) -> None:
    run, (scenario,) = live_run(QUIET.format(id="steady", values=40, at=30), 160)
    clock = run.targets.clocks[scenario.id]
    eventually(lambda: clock.started_wall, timeout=20, what="the first scrape")
    time.sleep(2.0)
    assert run.missed_scrapes(scenario) == ""  # every scrape answered
    # The targets answer nothing for 1.5 s, as a starved machine's would: their serving
    # process is stopped.
    assert run.targets.pid is not None
    os.kill(run.targets.pid, signal.SIGSTOP)
    try:
        time.sleep(1.5)
    finally:
        os.kill(run.targets.pid, signal.SIGCONT)
    time.sleep(1.0)
    missed = run.missed_scrapes(scenario)
    assert "failed" in missed and "answered too late" in missed, missed
    unproven = run.unproven(scenario)
    assert any("answered too late" in gap for gap in unproven), unproven
    # A quiet scenario that stayed quiet without its data has not passed.
    run.wait_for(scenario)
    verdict = run.judge(scenario)
    assert not verdict.ok, verdict
    assert verdict.problems[0].startswith("not observed as written"), verdict.problems
