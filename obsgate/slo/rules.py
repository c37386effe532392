"""Prometheus recording and alerting rules for an SLO, as Sloth generates them.

Written from the workbook's math (obsgate.slo.budget) in Sloth's shape and naming, so the
real Sloth can be held against it rule by rule: SLI error ratios per window
(`slo:sli_error:ratio_rate5m`...), the period ratio averaged from the 5m one, metadata
(objective, budget, burn rates, budget remaining) and one page and one ticket alert, each
the OR of two window pairs.
"""

from __future__ import annotations

from typing import Any

from obsgate.slo.budget import (
    WORKBOOK_WINDOWS,
    BurnWindow,
    error_budget,
    period_seconds,
    prom_duration,
)
from obsgate.slo.spec import SLO, AlertMeta

SLI_METRIC = "slo:sli_error:ratio_rate"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
WINDOW_LABEL = "sloth_window"
SEVERITY_LABEL = "sloth_severity"


def sli_metric(window_s: float) -> str:
    return f"{SLI_METRIC}{prom_duration(window_s)}"


def id_labels(slo: SLO) -> dict[str, str]:
    return {"sloth_id": slo.id, "sloth_service": slo.service, "sloth_slo": slo.name}


def label_filter(labels: dict[str, str]) -> str:
    """`{a="x", b="y"}`, sorted, as Prometheus' LabelSet.String() (Sloth's filter) writes it."""
    inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value))


def windows_of(slo: SLO) -> list[float]:
    """Every alert window, shortest first, each once."""
    return sorted({w for bw in WORKBOOK_WINDOWS for w in (bw.short_s, bw.long_s)})


def sli_rules(slo: SLO) -> list[dict[str, Any]]:
    """One error-ratio rule per alert window, and the period one from the shortest window."""
    rules = []
    for window in windows_of(slo):
        dur = prom_duration(window)
        expr = f"{slo.ratio_query(dur)}\n"
        rules.append(_record(sli_metric(window), expr, slo, {WINDOW_LABEL: dur}))
    # Averaging the 5m ratio over the period (not a 30d rate) is Sloth's optimisation; a busy
    # hour weighs no more than a quiet one, so under uneven traffic it is biased: informative.
    period, shortest = period_seconds(slo.period_days), windows_of(slo)[0]
    source = sli_metric(shortest) + label_filter(id_labels(slo))
    dur = prom_duration(period)
    expr = (
        f"sum_over_time({source}[{dur}])\n/ ignoring ({WINDOW_LABEL})\n"
        f"count_over_time({source}[{dur}])\n"
    )
    rules.append(_record(sli_metric(period), expr, slo, {WINDOW_LABEL: dur}))
    return rules


def meta_rules(slo: SLO) -> list[dict[str, Any]]:
    """Objective, budget, period and the burn rates and budget remaining derived from them."""
    ratio = slo.objective / 100
    flt = label_filter(id_labels(slo))
    on = "on(sloth_id, sloth_slo, sloth_service) group_left"

    def burn(window_s: float) -> str:
        return f"{sli_metric(window_s)}{flt}\n/ {on}\n{ERROR_BUDGET}{flt}\n"

    period = period_seconds(slo.period_days)
    return [
        _record(OBJECTIVE, f"vector({_number(ratio)})", slo),
        _record(ERROR_BUDGET, f"vector(1-{_number(ratio)})", slo),
        _record(PERIOD_DAYS, f"vector({slo.period_days})", slo),
        _record(CURRENT_BURN, burn(windows_of(slo)[0]), slo),
        _record(PERIOD_BURN, burn(period), slo),
        _record(BUDGET_REMAINING, f"1 - {PERIOD_BURN}{flt}", slo),
    ]


def alert_expr(slo: SLO, quick: BurnWindow, slow: BurnWindow) -> str:
    """Both windows of a pair above factor x budget; either pair fires the alert."""
    flt, period = label_filter(id_labels(slo)), period_seconds(slo.period_days)
    budget = error_budget(slo.objective)

    def over(window_s: float, pair: BurnWindow) -> str:
        threshold = f"({_number(pair.factor(period))} * {_number(budget)})"
        return f"max({sli_metric(window_s)}{flt} > {threshold}) without ({WINDOW_LABEL})"

    pairs = [
        f"(\n    {over(w.short_s, w)}\n    and\n    {over(w.long_s, w)}\n)" for w in (quick, slow)
    ]
    return "\nor\n".join(pairs) + "\n"


def alert_rules(slo: SLO) -> list[dict[str, Any]]:
    """The page and ticket alerts that the spec does not disable."""
    out = []
    for severity, meta in (("page", slo.page), ("ticket", slo.ticket)):
        if meta.disabled:
            continue
        quick, slow = (w for w in WORKBOOK_WINDOWS if w.severity == severity)
        out.append(_alert(meta, severity, alert_expr(slo, quick, slow)))
    return out


def _alert(meta: AlertMeta, severity: str, expr: str) -> dict[str, Any]:
    title = f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error "
    notes = {
        "title": title + "budget burn rate is too fast.",
        "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn "
        "rate is over expected.",
    }
    return {
        "alert": meta.name,
        "expr": expr,
        "labels": {SEVERITY_LABEL: severity, **meta.labels},
        "annotations": {**notes, **meta.annotations},
    }


def _record(name: str, expr: str, slo: SLO, extra: dict[str, str] | None = None) -> dict:
    return {
        "record": name,
        "expr": expr,
        "labels": {**id_labels(slo), **(extra or {}), **slo.labels},
    }


def rule_groups(slos: list[SLO]) -> dict[str, Any]:
    """A Prometheus rule file: three groups per SLO, named as Sloth names them."""
    groups = []
    for slo in slos:
        groups.append({"name": f"sloth-slo-sli-recordings-{slo.id}", "rules": sli_rules(slo)})
        groups.append({"name": f"sloth-slo-meta-recordings-{slo.id}", "rules": meta_rules(slo)})
        alerts = alert_rules(slo)
        if alerts:
            groups.append({"name": f"sloth-slo-alerts-{slo.id}", "rules": alerts})
    return {"groups": groups}
