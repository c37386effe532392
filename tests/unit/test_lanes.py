"""Time-scale lanes (obsgate/scenarios/lanes.py): which live scenarios replay faster, and
why the others do not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import GateError
from obsgate.scenarios.lanes import (
    FAST_MIN_DURATION,
    FAST_MIN_REPLAY,
    LiveLanes,
    lane_factor,
    lane_factors,
    shortest_duration,
)
from obsgate.scenarios.params import layer_scenarios

CONFIG = ObsConfig(DEFAULT_CONFIG_DIR)
RULES = {rule.name: rule for rule in CONFIG.alert_rules()}
LIVE = {s.id: s for s in layer_scenarios(CONFIG, "live")}


def test_the_shortest_duration_is_the_for_or_any_window_or_step() -> None:
    assert shortest_duration(RULES["ServiceDown"]) == 60  # for: 1m, no window
    assert shortest_duration(RULES["CertificateExpiringSoon"]) == 3600  # for: 1h, no window
    assert shortest_duration(RULES["PodRestartLoop"]) == 300  # [1h] window, for: 5m
    # rate(...[5m]) / avg_over_time(rate(...[5m])[1h:5m]), for: 10m: the 5m step and windows
    assert shortest_duration(RULES["UnusualApiCallSpike"]) == 300
    assert shortest_duration(replace(RULES["CertificateExpiringSoon"], for_seconds=0)) == 0


def test_a_long_scenario_of_a_rule_without_short_durations_replays_fast() -> None:
    hour = LIVE["certificate-expiring-fires"]
    assert hour.replay_seconds >= FAST_MIN_REPLAY
    assert lane_factor(hour, RULES["CertificateExpiringSoon"], 240, 3) == 720
    # the same scenario of a rule that can fire for one evaluation, or reads one minute
    no_for = replace(RULES["CertificateExpiringSoon"], for_seconds=0)
    assert lane_factor(hour, no_for, 240, 3) == 240
    one_minute = replace(RULES["CertificateExpiringSoon"], for_seconds=FAST_MIN_DURATION - 60)
    assert lane_factor(hour, one_minute, 240, 3) == 240
    assert lane_factor(hour, RULES["CertificateExpiringSoon"], 240, 1) == 240  # lane off
    assert lane_factor(hour, None, 240, 3) == 240  # no such rule: the test says so


def test_a_short_scenario_stays_at_the_base_scale() -> None:
    short = LIVE["high-error-rate-fires"]  # 15 simulated minutes
    assert short.replay_seconds < FAST_MIN_REPLAY
    assert shortest_duration(RULES[short.alert]) >= FAST_MIN_DURATION
    assert lane_factor(short, RULES[short.alert], 240, 3) == 240


def test_on_the_seed_config_service_down_keeps_the_base_scale() -> None:
    """ServiceDown's one-minute `for` fires for a third of a second at 240: the watcher that
    polls every 0.1 s would miss it three times faster."""
    factors = lane_factors(LIVE.values(), RULES.values(), 240, 3)
    assert factors["service-down-fires"] == 240
    fast = {sid for sid, f in factors.items() if f == 720}
    assert {"certificate-expiring-fires", "pod-restart-loop-fires"} <= fast
    for sid in fast:  # every fast one is long and has no short duration
        scenario = LIVE[sid]
        assert scenario.replay_seconds >= FAST_MIN_REPLAY
        assert shortest_duration(RULES[scenario.alert]) >= FAST_MIN_DURATION
    # the real-time floor: the fast lane's hour ends before the base lane's longest
    slowest = max(LIVE[s].replay_seconds / f for s, f in factors.items())
    assert slowest == 72 * 60 / 720


def test_a_scenario_in_no_lane_is_named() -> None:
    with pytest.raises(GateError, match="'nope' is in no live replay"):
        LiveLanes({}).of(replace(LIVE["service-down-fires"], id="nope"))
