"""Budget math and the error-budget policy: the figures the policy states are the ones the
SLO specs imply, and its thresholds form a usable ladder."""

from __future__ import annotations

import math

import pytest

from obsgate.slo.budget import (
    DAY,
    HOUR,
    MINUTE,
    WORKBOOK_WINDOWS,
    budget_minutes,
    period_seconds,
)
from obsgate.slo.policy import Policy, threshold_percent
from obsgate.slo.spec import SLO

pytestmark = [pytest.mark.slo]


@pytest.mark.parametrize(("objective", "minutes"), [(99.9, 43.2), (99.99, 4.32), (99.0, 432.0)])
def test_budget_minutes_over_30_days(objective: float, minutes: float) -> None:
    """The seed's own figures: 99.9 % over 30 days allows 43.2 minutes, 99.99 % 4.32."""
    assert math.isclose(budget_minutes(objective, 30), minutes, rel_tol=1e-9)


def test_burn_rate_factors_are_the_workbooks() -> None:
    """The factors derived from budget share and window are the workbook's published 14.4,
    6 and 1 (and Sloth's 3 for 1d), each short window 1/12 of its long one."""
    period = period_seconds(30)
    got = {(w.severity, w.long_s, w.short_s): w.factor(period) for w in WORKBOOK_WINDOWS}
    want = {
        ("page", 1 * HOUR, 5 * MINUTE): 14.4,
        ("page", 6 * HOUR, 30 * MINUTE): 6.0,
        ("ticket", 1 * DAY, 2 * HOUR): 3.0,
        ("ticket", 3 * DAY, 6 * HOUR): 1.0,
    }
    assert got.keys() == want.keys()
    for key, factor in want.items():
        assert math.isclose(got[key], factor, rel_tol=1e-12), (key, got[key], factor)
        assert math.isclose(key[1] / key[2], 12)


@pytest.mark.requires("slo_policy")
def test_policy_budget_agrees_with_the_slo(slo: SLO, policy: Policy, judge_slo) -> None:
    """The policy's slo_target and monthly_budget_minutes for the SLO's service are the SLO's
    objective and the minutes it allows over its period."""
    entry = policy.services.get(slo.service)
    problems = []
    if entry is None:
        problems.append(f"the policy has no entry for service {slo.service}")
    else:
        want = budget_minutes(slo.objective, slo.period_days)
        if entry.slo_target is None or not math.isclose(entry.slo_target, slo.objective):
            problems.append(f"slo_target {entry.slo_target}% but the objective is {slo.objective}%")
        if entry.budget_minutes is None or not math.isclose(
            entry.budget_minutes, want, rel_tol=1e-6
        ):
            problems.append(
                f"monthly_budget_minutes {entry.budget_minutes} but {slo.objective}% over "
                f"{slo.period_days} days allows {want:.6g}"
            )
    where = entry.where if entry else str(policy.file)
    judge_slo("policy-budget", problems, f"SLO {slo.id} ({slo.where}) vs {where}:")


@pytest.mark.requires("slo_policy")
def test_every_policy_service_has_slos(policy: Policy, slos: dict[str, SLO]) -> None:
    services = {s.service for s in slos.values()}
    orphans = [p.where for p in policy.services.values() if p.service not in services]
    assert not orphans, f"policy entries for services without an SLO: {orphans}"


def _ladder(keys: list[str], where: str) -> list[str]:
    """Problems with a threshold ladder: unknown keys, or not from most budget left down."""
    percents = [threshold_percent(k) for k in keys]
    problems = [f"{where}: {k!r} names no threshold" for k in keys if threshold_percent(k) is None]
    known = [p for p in percents if p is not None]
    if known != sorted(known, reverse=True) or len(set(known)) != len(known):
        problems.append(f"{where}: thresholds {keys} are not in falling order of budget left")
    return problems


@pytest.mark.requires("slo_policy")
def test_policy_thresholds_are_ordered_and_act(policy: Policy) -> None:
    """Each service's thresholds fall from most budget left to exhausted, end at exhausted,
    and each has actions; every level names one the escalation matrix has."""
    escalation = {threshold_percent(k) for k in policy.escalation}
    problems = _ladder(list(policy.escalation), f"{policy.file}:{policy.escalation_line}")
    for entry in policy.services.values():
        problems += _ladder(list(entry.actions), entry.where)
        if not entry.actions or threshold_percent(list(entry.actions)[-1]) != 0:
            problems.append(f"{entry.where}: no budget_exhausted actions at the end")
        for key, actions in entry.actions.items():
            if not actions:
                problems.append(f"{entry.where}: {key} has no actions")
            if threshold_percent(key) not in escalation:
                problems.append(f"{entry.where}: {key} has no level in the escalation matrix")
    for key, level in policy.escalation.items():
        if not (level or {}).get("notify"):
            problems.append(f"{policy.file}:{policy.escalation_line}: {key} notifies no one")
    assert not problems, "\n".join(problems)
