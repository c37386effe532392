"""The scenario model (obsgate/scenarios/model.py): promtool's expanding notation for
series values, checked against the real promtool, and a finding that does not pin the
text its failure shows is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from obsgate.errors import ConfigError
from obsgate.scenarios.model import expand_values, load_scenarios
from obsgate.tools import promtool


def write_yaml(path: Path, doc: object) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_expand_values_follows_promtool_notation() -> None:
    """promtool's docs: 'a+bxn' is n+1 values, 'axn' repeats a n+1 times, '_xn' is n blanks."""
    assert expand_values("1+1x3") == [1, 2, 3, 4]
    assert expand_values("1x3") == [1, 1, 1, 1]
    assert expand_values("5-2x2") == [5, 3, 1]
    assert expand_values("_x3") == [None, None, None]
    assert expand_values("stale") == [None]
    assert expand_values("0+10x1 _ stale 7") == [0, 10, None, None, 7]


@given(
    a=st.integers(-(10**6), 10**6),
    b=st.integers(0, 10**4),
    n=st.integers(0, 200),
    op=st.sampled_from("+-"),
)
def test_expand_values_is_arithmetic(a: int, b: int, n: int, op: str) -> None:
    """Every 'a±bxn' is exactly n+1 evenly spaced values starting at a."""
    values = expand_values(f"{a}{op}{b}x{n}")
    step = b if op == "+" else -b
    assert values == [a + step * i for i in range(n + 1)]


def test_expand_values_agrees_with_real_promtool(tmp_path: Path) -> None:
    """Our expansion puts every sample at the step where promtool's own loader puts it."""
    texts = ["1+1x3 9", "1x3 7", "1 _x3 5", "1 stale 5", "5-2x2 0", "0+10x3 _x2 stale 5"]
    rules = write_yaml(tmp_path / "rules.yaml", {"groups": []})
    checks = [
        {
            "expr": f'x{{case="{i}"}}',
            "eval_time": f"{step}m",
            "exp_samples": [{"labels": f'x{{case="{i}"}}', "value": value}],
        }
        for i, text in enumerate(texts)
        for step, value in enumerate(expand_values(text))
        if value is not None
    ]
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'x{{case="{i}"}}', "values": t} for i, t in enumerate(texts)
                ],
                "promql_expr_test": checks,
            }
        ],
    }
    result = promtool.test_rules(write_yaml(tmp_path / "expand.test.yaml", test))
    assert result.ok, result.describe()


def write_finding_scenario(folder: Path, extra: str) -> None:
    """One scenario with a finding, and `extra` lines of its mapping."""
    (folder / "f.yaml").write_text(
        "scenarios:\n"
        "  - id: f\n    alert: A\n    interval: 1m\n"
        "    series: [{series: 'm{a=\"1\"}', values: '1x3'}]\n"
        "    expect: [{at: 1m, firing: []}]\n"
        "    finding: the rule does something else\n" + extra
    )


def test_a_finding_without_the_text_its_failure_shows_is_refused(tmp_path: Path) -> None:
    """Without `finding_shows`, any failure would pass as the finding: refuse the file."""
    write_finding_scenario(tmp_path, "")
    with pytest.raises(ConfigError, match="finding_shows"):
        load_scenarios(tmp_path)


@pytest.mark.parametrize(
    ("live", "error"),
    [
        ("{matches: 'x [0-9]'}", "needs `matches` and `why`"),
        ("{matches: 'x [0-9', why: drifts}", "finding_shows.live.matches: unterminated"),
    ],
)
def test_a_live_pattern_pin_needs_its_why_and_a_valid_regex(
    tmp_path: Path, live: str, error: str
) -> None:
    write_finding_scenario(tmp_path, f"    finding_shows: {{exact: 'x', live: {live}}}\n")
    with pytest.raises(ConfigError, match=error):
        load_scenarios(tmp_path)
