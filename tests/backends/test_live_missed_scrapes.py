"""A live scenario whose target Prometheus could not scrape (the test process answering too
late, as on a busy machine) is named as such: a failure is not the rule's own verdict, so
no finding can absorb it, and a pass is no pass. Real Prometheus, real scrapes that time
out."""

from __future__ import annotations

import time
from pathlib import Path

from obsgate.config import ObsConfig
from obsgate.scenarios.live import LiveAlertRun, LiveRunSettings
from obsgate.scenarios.model import load_scenarios
from obsgate.stack import prometheus as prom
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_group
from obsgate.wait import eventually

SCENARIO = """\
scenarios:
  - id: steady
    alert: KafkaConsumerLag
    interval: 1m
    series:
      - series: 'kafka_consumer_lag{topic="usage-events",consumer_group="usage-tracker"}'
        values: '10x40'
    expect:
      - at: 30m
        firing: []
"""


def test_failed_scrapes_are_named_and_keep_a_failure_from_the_rule(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "steady.yaml").write_text(SCENARIO)
    (scenario,) = load_scenarios(tmp_path / "scenarios")
    config = ObsConfig(Path("fixtures/config/mindweave"))
    workdir = tmp_path / "prometheus"
    config_path = prom.write_live_config(config, 240, workdir, None)
    endpoint = prom.start(
        ProcessBackend(), workdir, config_path, factor=240, file_sd_dir=workdir / "file_sd"
    )
    # No Alertmanager: the watcher records its polls as unanswered, which this test never reads.
    nobody = Endpoint(service="alertmanager", host="127.0.0.1", port=9, backend="none")
    settings = LiveRunSettings(
        factor=240, label=prom.ISOLATION_LABEL, tag="t.", templates={}, values_queries={},
        plumbing_labels=frozenset(),
    )  # fmt: skip
    run = LiveAlertRun([scenario], prometheus=endpoint, alertmanager=nobody, settings=settings)
    run.start()
    try:
        clock = run.targets.clocks[scenario.id]
        eventually(lambda: clock.started_wall, timeout=20, what="the first scrape")
        time.sleep(2.0)
        assert run.missed_scrapes(scenario) == ""  # every scrape answered
        # The target answers nothing for 1.5 s, as a starved test process would: every
        # scrape waits on the scenario's clock, which this test holds.
        with clock._lock:
            time.sleep(1.5)
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
    finally:
        run.stop()
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)
