"""Properties of the SLO math and of the generated rules, for any objective and error ratio
(Hypothesis; 200 examples each in CI). Each relates two independent statements of the math,
or the generated PromQL to the math, so a wrong factor, window or threshold shows."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import promql_parser
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from obsgate.slo import oracle, rules
from obsgate.slo.budget import (
    MINUTE,
    WORKBOOK_WINDOWS,
    BurnWindow,
    budget_consumed,
    budget_minutes,
    budget_remaining,
    burn_rate,
    error_budget,
    period_seconds,
    prom_duration,
    window_fires,
)
from obsgate.slo.profiles import property_settings
from obsgate.slo.spec import SLO, AlertMeta
from obsgate.tools import promtool

pytestmark = [pytest.mark.slo]

objectives = st.floats(min_value=90, max_value=99.999)
ratios = st.floats(min_value=0, max_value=1)
windows = st.sampled_from(WORKBOOK_WINDOWS)
PERIOD = period_seconds(30)


@property_settings()
@given(objective=objectives, error_ratio=ratios)
def test_burn_rate_is_error_ratio_over_budget(objective: float, error_ratio: float) -> None:
    exact = Fraction(error_ratio) / (1 - Fraction(objective) / 100)
    assert math.isclose(burn_rate(error_ratio, objective), float(exact), rel_tol=1e-9)


def test_burn_rate_edge_cases_as_sloth() -> None:
    """No traffic is a NaN ratio and a NaN burn; an objective of 100 leaves no budget: +Inf."""
    assert math.isnan(burn_rate(math.nan, 99.9))
    assert burn_rate(0.01, 100) == math.inf


@property_settings()
@given(objective=objectives, short=ratios, long=ratios, window=windows)
def test_alert_fires_iff_both_windows_exceed(
    objective: float, short: float, long: float, window: BurnWindow
) -> None:
    """The generated alert's condition for a window pair, read back from its PromQL, is
    "both windows burn faster than the factor", as the workbook states it."""
    slo = _slo("svc", "slo", objective)
    rule = next(
        r for r in rules.alert_rules(slo) if r["labels"]["sloth_severity"] == window.severity
    )
    thresholds = {w: f * b for w, f, b in oracle.alert_thresholds(rule["expr"])}
    short_w, long_w = prom_duration(window.short_s), prom_duration(window.long_s)
    from_rule = short > thresholds[short_w] and long > thresholds[long_w]
    factor = window.factor(PERIOD)
    by_burn = burn_rate(short, objective) > factor and burn_rate(long, objective) > factor
    budget = error_budget(objective)
    if not any(math.isclose(r, factor * budget, rel_tol=1e-9) for r in (short, long)):
        assert from_rule == by_burn == window_fires(short, long, factor, budget)


@property_settings()
@given(objective=objectives, error_ratio=ratios, minutes=st.integers(1, 30 * 24 * 60))
def test_budget_consumed_is_burn_rate_times_window(
    objective: float, error_ratio: float, minutes: int
) -> None:
    """Bad minutes over the window, as a share of the budget's minutes, is burn x w / P."""
    bad_minutes = error_ratio * minutes
    share = bad_minutes / budget_minutes(objective, 30)
    consumed = budget_consumed(burn_rate(error_ratio, objective), minutes * MINUTE, PERIOD)
    assert math.isclose(consumed, share, rel_tol=1e-9, abs_tol=1e-12)


@property_settings()
@given(objective=objectives, error_ratio=ratios)
def test_budget_remaining_is_what_the_period_did_not_consume(
    objective: float, error_ratio: float
) -> None:
    """Sloth's budget remaining (1 - period burn rate) is 1 - the share of the budget's
    minutes that the period's bad minutes used; negative once overspent."""
    bad_minutes = error_ratio * 30 * 24 * 60
    remaining = 1 - bad_minutes / budget_minutes(objective, 30)
    got = budget_remaining(error_ratio, objective)
    assert math.isclose(got, remaining, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("window", WORKBOOK_WINDOWS, ids=lambda w: f"{w.severity}-{w.speed}")
def test_factor_spends_the_workbooks_share(window: BurnWindow) -> None:
    """Burning at an alert's factor for its long window spends exactly its budget share."""
    consumed = budget_consumed(window.factor(PERIOD), window.long_s, PERIOD)
    assert math.isclose(consumed, window.budget_percent / 100, rel_tol=1e-12)


def _slo(service: str, name: str, objective: float, query: str = "", labels=None) -> SLO:
    query = query or 'sum(rate(requests_total{code=~"5.."}[{{.window}}]))'
    alert = "SLO_" + f"{service}_{name}".replace("-", "_")
    page = AlertMeta(alert, {"severity": "critical"}, {})
    ticket = AlertMeta(alert, {"severity": "warning"}, {})
    total = "sum(rate(requests_total[{{.window}}]))"
    return SLO(service, name, objective, "", query, total, labels or {}, page, ticket, Path(), 1)


ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
# Built to match Sloth's name rule by construction: filtering random text wastes examples.
names = st.builds(
    lambda a, middle, z: a + middle + z,
    st.sampled_from(ALNUM),
    st.text(ALNUM + "-", max_size=8),
    st.sampled_from(ALNUM),
)
metrics = st.builds(
    lambda a, rest: a + rest, st.sampled_from("abcdefghij_"), st.text(ALNUM + "_", max_size=8)
)
label_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


@st.composite
def slo_specs(draw: st.DrawFn) -> SLO:
    """Any SLO: names Sloth accepts, an objective, a selector with awkward label values."""
    value = draw(label_values).replace("\\", "\\\\").replace('"', '\\"')
    metric, label = draw(metrics), draw(metrics)
    grouping = draw(st.sampled_from(["", " by (job)"]))
    query = f'sum{grouping}(rate({metric}{{{label}="{value}"}}[{{{{.window}}}}]))'
    spec_labels = draw(st.dictionaries(metrics.map(lambda k: "l" + k), label_values, max_size=2))
    return _slo(draw(names), draw(names), draw(objectives), query, spec_labels)


def test_generated_rules_are_valid_promql(tmp_path: Path) -> None:
    """Every generated rule parses (promql-parser, per example); promtool then loads all the
    examples' rules at once, as Prometheus would."""
    seen: dict[str, list[dict]] = {}
    calls = []

    @property_settings()
    @given(slo=slo_specs())
    def property(slo: SLO) -> None:
        calls.append(slo.id)
        groups = rules.rule_groups([slo])["groups"]
        windows_seen = set()
        for group in groups:
            for rule in group["rules"]:
                promql_parser.parse(rule["expr"])
                windows_seen.add(rule["labels"].get("sloth_window"))
        want = {prom_duration(s) for w in WORKBOOK_WINDOWS for s in (w.short_s, w.long_s)}
        assert want <= windows_seen
        if slo.id not in seen:  # shrinking replays examples; promtool lints duplicates
            seen[slo.id] = groups

    property()
    assert len(calls) >= property_settings().max_examples, len(calls)
    path = tmp_path / "generated.yaml"
    every = [g for groups in seen.values() for g in groups]
    path.write_text(yaml.dump({"groups": every}, Dumper=yaml.CSafeDumper, sort_keys=False))
    result = promtool.check_rules(path)
    assert result.ok, f"{len(seen)} generated SLOs, promtool rejects:\n{result.describe()}"
    assert "duplicate" not in result.output, result.describe()
