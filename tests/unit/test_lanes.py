"""Time-scale lanes (obsgate/scenarios/lanes.py): which live scenarios replay faster, and
why the others do not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import GateError
from obsgate.scenarios.lanes import (
    FAST_MIN_FOR,
    FAST_MIN_REPLAY,
    FAST_MIN_WINDOW,
    LiveLanes,
    lane_factor,
    lane_factors,
    shortest_window,
    speeds_up,
)
from obsgate.scenarios.params import layer_scenarios

CONFIG = ObsConfig(DEFAULT_CONFIG_DIR)
RULES = {rule.name: rule for rule in CONFIG.alert_rules()}
LIVE = {s.id: s for s in layer_scenarios(CONFIG, "live")}


def test_the_shortest_window_is_of_samples_not_of_evaluations() -> None:
    assert shortest_window(RULES["ServiceDown"]) == float("inf")  # up == 0: no window
    assert shortest_window(RULES["PodRestartLoop"]) == 3600  # increase(...[1h])
    # rate(...[5m]) / avg_over_time(rate(...[5m])[1h:5m]): the subquery's 1h and its 5m
    # step are evaluations; the samples are read over 5 minutes
    assert shortest_window(RULES["UnusualApiCallSpike"]) == 300
    assert FAST_MIN_WINDOW == 300 and FAST_MIN_FOR == 300


def test_a_rule_speeds_up_without_a_short_for_or_window() -> None:
    assert not speeds_up(RULES["ServiceDown"])  # for: 1m
    assert speeds_up(RULES["CertificateExpiringSoon"])  # for: 1h, no window
    assert not speeds_up(replace(RULES["CertificateExpiringSoon"], for_seconds=0))
    short = replace(RULES["PodRestartLoop"], expr=RULES["PodRestartLoop"].expr.replace("1h", "4m"))
    assert shortest_window(short) == 240 and not speeds_up(short)


def test_a_long_scenario_of_a_rule_without_short_features_replays_fast() -> None:
    hour = LIVE["certificate-expiring-fires"]
    assert hour.replay_seconds >= FAST_MIN_REPLAY
    assert lane_factor(hour, RULES["CertificateExpiringSoon"], 240, 3) == 720
    no_for = replace(RULES["CertificateExpiringSoon"], for_seconds=0)
    assert lane_factor(hour, no_for, 240, 3) == 240
    assert lane_factor(hour, RULES["CertificateExpiringSoon"], 240, 1) == 240  # lane off
    assert lane_factor(hour, None, 240, 3) == 240  # no such rule: the test says so


def test_a_short_scenario_stays_at_the_base_scale() -> None:
    short = LIVE["high-error-rate-fires"]  # 15 simulated minutes
    assert short.replay_seconds < FAST_MIN_REPLAY and speeds_up(RULES[short.alert])
    assert lane_factor(short, RULES[short.alert], 240, 3) == 240


def test_on_the_seed_config_service_down_keeps_the_base_scale() -> None:
    """ServiceDown's one-minute `for` fires for a third of a second at 240: the watcher that
    polls every 0.1 s would miss it three times faster."""
    factors = lane_factors(LIVE.values(), RULES.values(), 240, 3)
    assert factors["service-down-fires"] == 240
    fast = {sid for sid, f in factors.items() if f == 720}
    assert {"certificate-expiring-fires", "pod-restart-loop-fires"} <= fast
    for sid in fast:  # every fast one is long and its rule has no short feature
        assert LIVE[sid].replay_seconds >= FAST_MIN_REPLAY and speeds_up(RULES[LIVE[sid].alert])
    # the real-time floor: an hour in the fast lane, 20 minutes at the base scale
    slowest = max(LIVE[s].replay_seconds / f for s, f in factors.items())
    assert slowest == 72 * 60 / 720


def test_over_the_scrape_budget_every_scenario_keeps_the_base_scale() -> None:
    """Taking turns, a three times shorter turn at three times the scrapes ends no sooner."""
    factors = lane_factors(LIVE.values(), RULES.values(), 240, 3)
    asked = sum((1 + sum(s.name == "up" for s in LIVE[sid].series)) * f / 60
                for sid, f in factors.items())  # fmt: skip
    assert set(factors.values()) == {240, 720}
    assert lane_factors(LIVE.values(), RULES.values(), 240, 3, budget=asked) == factors
    over = lane_factors(LIVE.values(), RULES.values(), 240, 3, budget=asked - 1)
    assert set(over.values()) == {240}


def test_a_scenario_in_no_lane_is_named() -> None:
    with pytest.raises(GateError, match="'nope' is in no live replay"):
        LiveLanes({}).of(replace(LIVE["service-down-fires"], id="nope"))
