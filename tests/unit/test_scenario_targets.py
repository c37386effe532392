"""ScenarioTargets (obsgate/scenarios/targets.py): the scrape targets that serve a
scenario's series to a real Prometheus at the live layer's time scale."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from obsgate.scenarios import targets as targets_module
from obsgate.scenarios.model import load_scenarios
from obsgate.scenarios.targets import LEAD, ScenarioTargets

TINY = """\
scenarios:
  - id: tiny
    alert: Tiny
    interval: 1m
    series:
      - series: 'queue_depth{queue="q1"}'
        values: '42x10'
      - series: 'requests_total{path="/a"}'
        values: '100+60x10'
      - series: 'up{job="svc",instance="10.0.0.1:80"}'
        values: '0x10'
    expect:
      - at: 5m
        firing: []
"""


def _samples(text: str) -> dict[str, float]:
    """`name{labels} value timestamp_ms` lines; every sample must carry a current timestamp."""
    samples = {}
    for line in text.splitlines():
        name, value, stamp = line.rsplit(" ", 2)
        assert abs(int(stamp) / 1000 - time.time()) < 5, f"stale or missing timestamp: {line}"
        samples[name] = float(value)
    return samples


def test_scenario_targets_serve_values_and_failed_scrapes(tmp_path: Path) -> None:
    """At factor 600 one simulated minute is 0.1 s: values at t≈0 (plus the lead), a 503
    while `up` is 0, and both gone (series absent, target answering) once the values end
    after 1.1 s."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    (scenario,) = load_scenarios(tmp_path)
    targets = ScenarioTargets([scenario], 600, "scenario", "t.")
    targets.start()
    try:
        base = f"http://{targets.address}/s/tiny"
        clock = targets.clocks["tiny"]
        assert targets.pid not in (None, os.getpid()) and clock.started_mono is None
        before = time.monotonic()
        first = requests.get(f"{base}/metrics", timeout=5)
        # The serving process started the clock on that scrape; this process reads it.
        assert clock.started_mono is not None and before <= clock.started_mono <= time.monotonic()
        assert clock.started_wall is not None and abs(clock.started_wall - time.time()) < 1
        down = requests.get(f"{base}/up/2", timeout=5)
        assert first.status_code == 200
        samples = _samples(first.text)
        assert samples['queue_depth{queue="q1"}'] == 42
        # rising, interpolated; served for LEAD scrapes (one a simulated minute) ahead. The
        # lower bound is exact: the clock starts within this first scrape. The upper allows
        # 6 simulated seconds (0.01 s) between that start and the sample, in the same call.
        lead = 60 * LEAD
        assert 100 + lead <= samples['requests_total{path="/a"}'] < 106 + lead
        assert not any(name.startswith("up") for name in samples)  # `up` is a target, not data
        assert down.status_code == 503
        assert (
            requests.get(f"http://{targets.address}/s/nope/metrics", timeout=5).status_code == 404
        )
        sd = targets.file_sd(scenario)
        assert sd[0]["labels"]["__metrics_path__"] == "/s/tiny/metrics"
        assert (
            sd[1]["labels"] | {"scenario": "t.tiny", "__metrics_path__": "/s/tiny/up/2"}
            == sd[1]["labels"]
        )
        time.sleep(1.5)
        assert requests.get(f"{base}/metrics", timeout=5).text.strip() == ""
        assert requests.get(f"{base}/up/2", timeout=5).status_code == 200
    finally:
        targets.stop()


def test_the_lead_does_not_depend_on_the_clocks_magnitude(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first sample is exactly LEAD scrapes ahead whatever the monotonic clock reads
    (it is the machine's uptime: float rounding of (mono + lead) - mono varies with it)."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    (scenario,) = load_scenarios(tmp_path)
    for uptime in (0.0, 1234.567, 987654.321, 12345678.9):
        monkeypatch.setattr(targets_module.time, "monotonic", lambda u=uptime: u)
        targets = ScenarioTargets([scenario], 600, "scenario", "t.")
        samples = _samples(targets.exposition(scenario))
        assert samples['requests_total{path="/a"}'] == 100 + 60 * LEAD, uptime


def test_late_answers_stamp_their_samples_on_the_scrape_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scrapes answered up to 40 % of an interval late or early (a busy machine) stamp their
    samples exactly one interval apart, with the values of those times: rate() sees no
    jitter. At factor 600 the interval is 0.1 s, one simulated minute."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    (scenario,) = load_scenarios(tmp_path)
    targets = ScenarioTargets([scenario], 600, "scenario", "t.")
    late = [0.0, 0.03, -0.02, 0.04, 0.0, -0.04]  # seconds off each scrape's tick
    stamps, counts = [], []
    for k, off in enumerate(late):
        now = 1000.0 + k * 0.1 + off
        monkeypatch.setattr(targets_module.time, "monotonic", lambda n=now: n)
        monkeypatch.setattr(targets_module.time, "time", lambda n=now: n + 5e8)
        line = next(
            x for x in targets.exposition(scenario).splitlines() if x.startswith("requests")
        )
        _, value, stamp = line.rsplit(" ", 2)
        stamps.append(int(stamp))
        counts.append(float(value))
    clock = targets.clocks["tiny"]
    assert clock.started_wall == 1000.0 + 5e8
    assert [s - stamps[0] for s in stamps] == [100 * k for k in range(len(late))]
    assert stamps[0] == round((1000.0 + 5e8 + LEAD * 0.1) * 1000)
    assert counts == pytest.approx([100 + 60 * (k + LEAD) for k in range(len(late))])
