"""same_but_numbers (obsgate/scenarios/live.py): what the live layer tolerates between the
text an alert should render and what real Prometheus rendered."""

from __future__ import annotations

import pytest

from obsgate.scenarios.live import same_but_numbers


@pytest.mark.parametrize(
    ("want", "got", "same"),
    [
        ("Error rate is 6% (threshold: 5%)", "Error rate is 5.996% (threshold: 5%)", True),
        ("Error rate is 6% (threshold: 5%)", "Error rate is 7% (threshold: 5%)", False),
        ("P99 latency is 2.5s", "P99 latency is 2.5ms", False),
        ("lag 12000 messages", "lag 12000 messages for", False),
        ("no numbers", "no numbers", True),
        ("1e3 calls", "1000 calls", True),  # a number, however Go formats it
    ],
)
def test_same_but_numbers(want: str, got: str, same: bool) -> None:
    """Live `$value` drifts in its last digits, never in units, words or magnitude."""
    assert same_but_numbers(want, got) is same


def test_same_but_numbers_tolerance_is_relative() -> None:
    assert same_but_numbers("x 100", "x 109")
    assert not same_but_numbers("x 100", "x 115")
    assert same_but_numbers("x 100", "x 115", tolerance=0.2)
