"""The oracle: the real Sloth, built from source, generates rules for each SLO of the config;
the gate's own generator (the workbook's math in Sloth's shape) must agree rule by rule,
and Sloth's alerts must use the workbook's windows, factors and thresholds."""

from __future__ import annotations

import math

import pytest

from obsgate.slo import oracle, rules
from obsgate.slo.budget import WORKBOOK_WINDOWS, error_budget, period_seconds, prom_duration
from obsgate.slo.spec import SLO

pytestmark = [pytest.mark.slo, pytest.mark.needs("sloth")]


def test_sloth_agrees_with_the_generated_rules(slo: SLO, sloth_output, judge_slo) -> None:
    """Same groups, rule names, labels, annotations and expressions as Sloth's output."""
    theirs, refusal = sloth_output[slo.id]
    if refusal:
        judge_slo("sloth-agrees", [f"Sloth refuses it: {refusal.said}"], f"{slo.where}: {refusal}")
        return
    problems = oracle.compare(rules.rule_groups([slo])["groups"], theirs)
    judge_slo("sloth-agrees", problems, f"{slo.where}: the generated rules differ from Sloth's:")


def test_sloth_pages_and_tickets_use_the_workbook_windows(
    slo: SLO, sloth_output, judge_slo
) -> None:
    """Each of Sloth's page and ticket alerts: the two window pairs of the workbook's
    table, each above factor x (1 - objective)."""
    theirs, refusal = sloth_output[slo.id]
    if refusal:
        judge_slo("sloth-windows", [f"Sloth refuses it: {refusal.said}"], f"{slo.where}: {refusal}")
        return
    period, budget = period_seconds(slo.period_days), error_budget(slo.objective)
    problems = []
    for rule in (r for g in theirs for r in g["rules"] if "alert" in r):
        severity = rule["labels"]["sloth_severity"]
        want = {
            (prom_duration(s), w.factor(period))
            for w in WORKBOOK_WINDOWS
            if w.severity == severity
            for s in (w.short_s, w.long_s)
        }
        got = oracle.alert_thresholds(rule["expr"])
        if {(window, round(f, 9)) for window, f, _ in got} != {(w, round(f, 9)) for w, f in want}:
            problems.append(f"{severity}: windows and factors {sorted(got)} != {sorted(want)}")
        for _, _, b in got:
            if not math.isclose(b, budget, rel_tol=1e-9):
                problems.append(f"{severity}: budget {b!r}, want 1 - {slo.objective}/100")
    severities = sorted(
        r["labels"]["sloth_severity"] for g in theirs for r in g["rules"] if "alert" in r
    )
    expected = sorted(s for s, m in (("page", slo.page), ("ticket", slo.ticket)) if not m.disabled)
    if severities != expected:
        problems.append(f"Sloth generated alerts {severities}, the spec asks for {expected}")
    judge_slo("sloth-windows", problems, f"{slo.where}: Sloth's alerts are not the workbook's:")
