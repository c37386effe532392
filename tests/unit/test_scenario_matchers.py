"""Whether a rule's scenarios exercise each of its matchers (obsgate/scenarios/matchers.py):
a series the selector keeps beside one that only that matcher turns away."""

from __future__ import annotations

from pathlib import Path

from obsgate.config.rules import AlertRule
from obsgate.scenarios.matchers import unexercised
from obsgate.scenarios.model import load_scenarios

EXPR = (
    'sum(rate(http_requests_total{status_code=~"5..",namespace="prod"}[5m]))\n/\n'
    'sum(rate(http_requests_total{namespace="prod"}[5m])) > 0.05'
)
RULE = AlertRule("g", None, "HighErrorRate", EXPR, 300, {}, {}, Path("rules.yaml"), 8)


def scenario_with(tmp_path: Path, *series: str) -> Path:
    lines = "\n".join(f"      - series: '{s}'\n        values: '0+1x5'" for s in series)
    (tmp_path / "s.yaml").write_text(
        "scenarios:\n  - id: s\n    alert: HighErrorRate\n    intent: x\n    interval: 1m\n"
        f"    series:\n{lines}\n    expect:\n      - at: 5m\n        firing: []\n"
    )
    return tmp_path


def missing(tmp_path: Path, *series: str) -> list[str]:
    found = unexercised([RULE], load_scenarios(scenario_with(tmp_path, *series)))
    return [f"{m.selector.text()} {m.matcher[0]}" for m in found]


NUMERATOR = 'http_requests_total{status_code=~"5..",namespace="prod"}'
DENOMINATOR = 'http_requests_total{namespace="prod"}'


def test_one_namespace_exercises_only_the_status_matcher(tmp_path: Path) -> None:
    got = missing(
        tmp_path,
        'http_requests_total{namespace="prod",status_code="200"}',
        'http_requests_total{namespace="prod",status_code="500"}',
    )
    assert got == [f"{NUMERATOR} namespace", f"{DENOMINATOR} namespace"]


def test_another_namespaces_series_exercises_the_namespace_matchers(tmp_path: Path) -> None:
    got = missing(
        tmp_path,
        'http_requests_total{namespace="prod",status_code="200"}',
        'http_requests_total{namespace="prod",status_code="500"}',
        'http_requests_total{namespace="staging",status_code="500",pod="other-pod"}',
    )
    assert got == []


def test_a_series_turned_away_by_two_matchers_exercises_neither(tmp_path: Path) -> None:
    """staging's 200s fail the namespace and the status matcher: dropping either one alone
    still leaves them out, so they show nothing about that matcher."""
    got = missing(
        tmp_path,
        'http_requests_total{namespace="prod",status_code="503"}',
        'http_requests_total{namespace="staging",status_code="200"}',
    )
    assert f"{NUMERATOR} status_code" in got and f"{NUMERATOR} namespace" in got


def test_a_missing_label_is_the_empty_value(tmp_path: Path) -> None:
    """Prometheus reads an absent label as "": a series without namespace is one that only
    the namespace matcher turns away."""
    got = missing(
        tmp_path,
        'http_requests_total{namespace="prod",status_code="200"}',
        'http_requests_total{namespace="prod",status_code="500"}',
        'http_requests_total{status_code="500"}',
    )
    assert got == []
