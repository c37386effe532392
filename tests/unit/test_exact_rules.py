"""The exact layer's promtool file per scenario: the scenario's own alert (in its group as
written), every recording rule and any alert of alerts; not the config's other alerts, so a
run costs the same at any config size, and another alert's evaluation error stays out of
this scenario's verdict. Real promtool judges it."""

from __future__ import annotations

from pathlib import Path

import yaml

from obsgate.scenarios.exact import rule_groups, rules_for, run_exact
from obsgate.scenarios.model import scenario_from_mapping

GROUP = {
    "name": "api",
    "interval": "30s",
    "labels": {"tier": "api"},
    "rules": [
        {"record": "job:errors:rate5m", "expr": "sum by (job) (rate(errors_total[5m]))"},
        {"alert": "ErrorsHigh", "expr": "job:errors:rate5m > 1", "for": "1m"},
        # Both series of errors_total get the same labels once `by (job)` drops `code`, and
        # `code` is what it adds back: promtool reports a duplicate labelset each evaluation.
        {
            "alert": "ErrorsByCode",
            "expr": "rate(errors_total[5m]) > 0 unless on() vector(0) == 1",
            "labels": {"code": "5xx"},
        },
        {"alert": "Meta", "expr": 'count(ALERTS{alertstate="firing"}) > 5'},
    ],
}


def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    GROUP,
                    {"name": "other", "rules": [{"alert": "Unrelated", "expr": "up == 0"}]},
                ]
            }
        )
    )
    return path


def test_a_scenario_loads_its_alert_the_recording_rules_and_alerts_of_alerts(
    tmp_path: Path,
) -> None:
    kept = rules_for("ErrorsHigh", rule_groups([rule_file(tmp_path)]))
    (group,) = kept["groups"]
    assert {k: v for k, v in group.items() if k != "rules"} == {
        "name": "api",
        "interval": "30s",
        "labels": {"tier": "api"},
    }
    names = [r.get("alert") or r.get("record") for r in group["rules"]]
    assert names == ["job:errors:rate5m", "ErrorsHigh", "Meta"]


def test_another_alerts_evaluation_error_is_not_this_scenarios(tmp_path: Path) -> None:
    """ErrorsByCode errs on every evaluation over these series (two series, one labelset);
    ErrorsHigh's scenario passes on its own rule, and ErrorsByCode's own fails."""
    rules = rule_file(tmp_path)
    series = [
        {"series": 'errors_total{job="api",code="500"}', "values": "0+120x20"},
        {"series": 'errors_total{job="api",code="503"}', "values": "0+120x20"},
    ]
    firing = {"at": "10m", "firing": [{"labels": {"job": "api", "tier": "api"}}]}
    high = scenario_from_mapping(
        {
            "id": "errors-high-fires",
            "alert": "ErrorsHigh",
            "intent": "4/s of errors pages",
            "interval": "1m",
            "series": series,
            "expect": [firing],
        },
        tmp_path / "s.yaml",
    )
    result = run_exact(high, [rules], tmp_path / "high")
    assert result.ok, result.tool_output
    by_code = scenario_from_mapping(
        {
            "id": "errors-by-code-quiet",
            "alert": "ErrorsByCode",
            "intent": "x",
            "interval": "1m",
            "series": series,
            "expect": [{"at": "10m", "firing": []}],
        },
        tmp_path / "s.yaml",
    )
    own = run_exact(by_code, [rules], tmp_path / "by-code")
    assert not own.ok and "ErrorsByCode" in own.tool_output, own.tool_output
    assert "same labelset after applying alert labels" in own.tool_output, own.tool_output
