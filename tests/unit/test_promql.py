"""PromQL time scaling and isolation (obsgate/promql.py: scale_expr, output_labels), judged
by the real promtool where it evaluates queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.promql import duration_text, output_labels, scale_expr, threshold_of_alert_expr
from obsgate.tools import promtool

ALERT_RULES = ObsConfig(DEFAULT_CONFIG_DIR).alert_rules()


def write_yaml(path: Path, doc: object) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_every_shipped_alert_scaled_by_240_passes_promtool(tmp_path: Path) -> None:
    """The live layer loads exactly this shape into Prometheus; promtool must accept it."""
    rules = [
        {"alert": r.name, "expr": scale_expr(r.expr, 240, "scenario", r.name), "for": "1250ms"}
        for r in ALERT_RULES
    ]
    path = write_yaml(tmp_path / "scaled.yaml", {"groups": [{"name": "scaled", "rules": rules}]})
    result = promtool.check_rules(path)
    assert result.ok, result.describe()
    assert f"SUCCESS: {len(rules)} rules found" in result.output, result.describe()


@pytest.mark.parametrize("rule", ALERT_RULES, ids=[r.name for r in ALERT_RULES])
def test_isolation_label_survives_every_aggregation(rule) -> None:  # type: ignore[no-untyped-def]
    """Concurrent scenarios stay apart only if each aggregation keeps the isolation label."""
    before = output_labels(rule.expr)
    after = output_labels(scale_expr(rule.expr, 240, "scenario"))
    assert after == (None if before is None else before | {"scenario"})


def test_scale_by_one_evaluates_like_the_original(tmp_path: Path) -> None:
    """Factor 1 without isolation must be the same query, judged by promtool's engine."""
    (rule,) = [r for r in ALERT_RULES if r.name == "HighErrorRate"]
    scaled = scale_expr(rule.expr, 1, None)
    assert "[300000ms]" in scaled
    rules = write_yaml(tmp_path / "rules.yaml", {"groups": []})
    ns = 'namespace="mindweave-services"'
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f'http_requests_total{{{ns},status_code="500"}}',
                        "values": "0+6x20",
                    },
                    {
                        "series": f'http_requests_total{{{ns},status_code="200"}}',
                        "values": "0+94x20",
                    },
                ],
                "promql_expr_test": [
                    # non-empty: 6% is above the 5% threshold, so `== bool` compares values
                    {
                        "expr": f"({scaled}) == bool ({rule.expr})",
                        "eval_time": "10m",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    },
                ],
            }
        ],
    }
    result = promtool.test_rules(write_yaml(tmp_path / "same.test.yaml", test))
    assert result.ok, result.describe()


def test_scaling_divides_ranges_and_rates_and_isolates() -> None:
    assert "[300000ms]" in scale_expr("sum(rate(x[5m]))", 1, None)
    scaled = scale_expr("sum(rate(x[5m])) by (pod)", 240, "scenario")
    assert "by (pod, scenario)" in scaled
    assert "[1250ms]" in scaled
    assert re.search(r"rate\(x\{\}\[1250ms\]\) / 240\)", scaled), scaled


def test_increase_is_a_count_and_is_not_divided() -> None:
    scaled = scale_expr("increase(x[1h])", 240, None)
    assert scaled == "increase(x{}[15000ms])"


@pytest.mark.parametrize(
    ("expr", "labels"),
    [
        ("sum(x)", frozenset()),
        ("sum(x) by (pod)", frozenset({"pod"})),
        ("x > 1", None),
        ("histogram_quantile(0.99, sum(rate(b[5m])) by (le, service))", frozenset({"service"})),
        ("sum without (a) (sum by (a, b) (x))", frozenset({"b"})),
        ("1 - sum(x) by (job)", frozenset({"job"})),
        ("sum by (a, b) (x) / on (a) group_right sum by (a) (y)", frozenset({"a"})),
        # group_left(node) adds node from the one side; on() keeps only its labels one-to-one
        ("sum by (instance) (x) * on (instance) group_left (node) info", {"instance", "node"}),
        ("x * on (instance) group_left (node) info", None),
        ("sum by (a, b) (x) > on (a) sum by (a) (y)", frozenset({"a"})),
        ("sum by (a, b) (x) / ignoring (b) sum by (a) (y)", frozenset({"a"})),
        ("sum by (a) (x) / on (a) group_right (c) sum by (a, b) (y)", {"a", "b", "c"}),
        # scalars carry no labels, on either side
        ("time() - max by (job) (x) > 3600", frozenset({"job"})),
        ("scalar(sum(x)) * sum by (job) (y)", frozenset({"job"})),
        ("vector(1)", frozenset()),
        ('label_replace(sum by (a) (x), "dst", "$1", "a", "(.*)")', frozenset({"a", "dst"})),
        ('label_join(sum by (a, b) (x), "ab", "-", "a", "b")', frozenset({"a", "b", "ab"})),
        ('absent(up{job="api", instance=~"a.*"})', frozenset({"job"})),
        ('absent(sum(up{job="api"}))', frozenset()),
        ("topk(3, sum by (a, b) (x))", frozenset({"a", "b"})),
        ('count_values("version", build_info)', frozenset({"version"})),
        ("sum by (a) (x) or sum by (b) (y)", frozenset({"a", "b"})),
        ("sum by (a) (x) unless on (a) y", frozenset({"a"})),
    ],
)
def test_output_labels(expr: str, labels: set[str] | None) -> None:
    """What `{{ $labels.x }}` can render; None means the series' own labels pass through."""
    assert output_labels(expr) == (None if labels is None else frozenset(labels))


def test_a_zero_duration_stays_zero_when_scaled() -> None:
    """`for: 0s` divided by any factor is 0s, never the 1ms floor of positive durations."""
    assert duration_text(0 / 240) == "0s"
    assert duration_text(0.0001) == "1ms"


@pytest.mark.parametrize(
    ("expr", "threshold"),
    [
        ("sum(rate(a[5m])) / sum(rate(b[5m])) > 0.05", (">", 0.05)),
        ("0.9 <= x", (">=", 0.9)),  # read as `value OP number`
        ("increase(restarts[1h]) > 5", (">", 5.0)),
        ("x > bool 3", None),  # a 0/1 value, no threshold line
        ("x > y", None),
        ("up == 0 and on() vector(1)", None),
    ],
)
def test_threshold_of_alert_expr(expr: str, threshold: tuple[str, float] | None) -> None:
    assert threshold_of_alert_expr(expr) == threshold


def test_every_shipped_rule_with_a_constant_comparison_has_a_threshold() -> None:
    rules = ObsConfig(DEFAULT_CONFIG_DIR).alert_rules()
    constant = [r for r in rules if re.search(r"[<>=]=?\s*[0-9.]+\s*$", r.expr.strip())]
    assert constant, "the seed's rules compare with constants"
    assert [r.name for r in constant if threshold_of_alert_expr(r.expr) is None] == []
