"""What the gate prints of a secret-bearing value: enough to recognise, never the secret."""

from __future__ import annotations

import pytest

from obsgate.masking import MASK, mask_token, mask_url, mask_value

SLACK = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (SLACK, "https://hooks.slack.com/***"),
        ("https://user:pass@alerts.example.com:8443", "https://alerts.example.com:8443/***"),
        (
            "https://events.pagerduty.com/v2/enqueue?token=s3cr3t",
            "https://events.pagerduty.com/***",
        ),
        ("http://127.0.0.1:9093", "http://127.0.0.1:9093"),
        ("http://127.0.0.1:9093/", "http://127.0.0.1:9093"),
        ("not a url", MASK),
    ],
)
def test_url_keeps_scheme_and_host_only(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_a_token_shows_its_tail_and_length_only() -> None:
    key = "R0UT1NGKEY-0123456789abcdef"
    assert mask_token(key) == f"{MASK}cdef ({len(key)} chars)"
    assert "0123456789" not in mask_token(key)
    assert mask_token("short") == MASK


def test_mask_value_picks_by_shape() -> None:
    assert mask_value(SLACK) == "https://hooks.slack.com/***"
    assert "abcdefghijkl" not in mask_value("xoxb-abcdefghijklmnopqrstuvwx")
