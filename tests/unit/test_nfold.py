"""The N-fold benchmark config: copies that must judge exactly as their originals."""

from __future__ import annotations

from pathlib import Path

import yaml

from obsgate.config import ObsConfig
from obsgate.scenarios.model import load_scenarios
from tools.nfold import MetricRenamer, compare, make


def test_three_fold_triples_rules_and_scenarios(tmp_path: Path) -> None:
    one = make(1, tmp_path / "one", Path("fixtures/config/mindweave"))
    three = make(3, tmp_path / "three", Path("fixtures/config/mindweave"))
    assert three == (3 * one[0], 3 * one[1])
    config = ObsConfig(tmp_path / "three")
    names = [r.name for r in config.alert_rules()]
    assert len(names) == len(set(names)) == three[0]  # every copy its own name
    scenarios = load_scenarios(tmp_path / "three" / "scenarios" / "alerts")
    assert {s.alert for s in scenarios} <= set(names)


def junit(path: Path, cases: dict[str, str]) -> Path:
    body = "".join(
        f'<testcase classname="suites.alerts.test_alerts_live" name="{name}">'
        + ('<failure message="x"/>' if outcome == "failed" else "")
        + "</testcase>"
        for name, outcome in cases.items()
    )
    path.write_text(f"<testsuites><testsuite>{body}</testsuite></testsuites>")
    return path


def test_compare_names_a_copy_judged_differently(tmp_path: Path) -> None:
    same = junit(tmp_path / "a.xml", {"t[x]": "passed", "t[x-copy2]": "passed"})
    assert compare(same) == []
    differs = junit(tmp_path / "b.xml", {"t[x]": "passed", "t[x-copy2]": "failed"})
    assert compare(differs) == [
        "suites.alerts.test_alerts_live::t[x-copy2]: failed, its original passed"
    ]


def test_copies_pin_their_own_alert_and_evidence(tmp_path: Path) -> None:
    """A copy of a pinned scenario expects its own alert (promtool names it), and a
    universal finding about an alert holds for each copy of it."""
    make(3, tmp_path / "three", Path("fixtures/config/mindweave"))
    scenarios = {s.id: s for s in load_scenarios(tmp_path / "three" / "scenarios" / "alerts")}
    original = scenarios["redis-without-maxmemory-quiet"].finding_got
    copy = scenarios["redis-without-maxmemory-quiet-copy3"].finding_got
    assert original is not None and copy is not None
    assert copy["*"] == frozenset(
        pin.replace('"alertname": "RedisHighMemory"', '"alertname": "RedisHighMemoryCopy3"')
        for pin in original["*"]
    ), copy
    errors = scenarios["policy-violations-two-severities-fires-copy2"].finding_got
    assert errors is not None and all("PolicyViolationsSpikeCopy2: " in e for e in errors["*"])
    evidence = yaml.safe_load((tmp_path / "three" / "findings.yaml").read_text())["universal"]
    items = evidence["rule-labels-attached-by-scrape"]["evidence"]
    assert {"ServiceDown: up namespace", "ServiceDownCopy2: up namespace"} <= set(items)
    assert "ServiceDownCopy3: up namespace" in items


def test_copies_read_their_own_metrics_unless_shared(tmp_path: Path) -> None:
    """Each copy's rules and series name `copy<k>_<metric>`, so one series feeds one alert as
    in a large real config; `up` stays shared; `--shared-series` keeps every name."""
    make(2, tmp_path / "own", Path("fixtures/config/mindweave"))
    rules = {r.name: r.expr for r in ObsConfig(tmp_path / "own").alert_rules()}
    assert "copy2_http_requests_total{" in rules["HighErrorRateCopy2"]
    assert "copy2_" not in rules["HighErrorRate"]
    assert rules["ServiceDownCopy2"] == rules["ServiceDown"]  # `up` is Prometheus' own
    scenarios = {s.id: s for s in load_scenarios(tmp_path / "own" / "scenarios" / "alerts")}
    names = {series.name for series in scenarios["high-error-rate-fires-copy2"].series}
    assert names == {"copy2_http_requests_total"}
    items = yaml.safe_load((tmp_path / "own" / "findings.yaml").read_text())["universal"][
        "rule-labels-attached-by-scrape"
    ]["evidence"]
    assert not any(item.startswith("HighErrorRateCopy2:") for item in items)  # no job exports it
    make(2, tmp_path / "shared", Path("fixtures/config/mindweave"), shared_series=True)
    shared = {r.name: r.expr for r in ObsConfig(tmp_path / "shared").alert_rules()}
    assert shared["HighErrorRateCopy2"] == shared["HighErrorRate"]


def test_a_recorded_series_keeps_its_name() -> None:
    """Recording rules are not copied: a copied alert reads the original's recorded series."""
    recording = {"record": "job:x:rate5m", "expr": "rate(x[5m])"}
    renamer = MetricRenamer([recording, {"alert": "A", "expr": "job:x:rate5m > 1"}])
    assert renamer("job:x:rate5m > 1", 2) == "job:x:rate5m > 1"
    assert renamer("rate(x[5m])", 2) == "rate(copy2_x[5m])"
