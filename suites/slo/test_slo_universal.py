"""Checks true of any SLO config, derived from the specs alone: objectives that leave a
budget, SLIs whose error events are a subset of their total, rules that Prometheus loads,
and alerts that carry the labels routing needs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml

from obsgate.applicability import not_applicable
from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.promql import Selector, selectors
from obsgate.scrape_labels import unattached_in_slis
from obsgate.slo import rules
from obsgate.slo.intent import SLOIntent
from obsgate.slo.spec import SLO, WINDOW_VAR
from obsgate.tools import promtool

pytestmark = [pytest.mark.slo, pytest.mark.needs("promtool")]


def test_objective_leaves_a_budget(slo: SLO) -> None:
    """0 < objective < 100: at 100 every burn rate is +Inf (no budget), at 0 nothing counts."""
    assert 0 < slo.objective < 100, f"{slo.where}: objective {slo.objective} not in (0, 100)"


def test_queries_use_the_window(slo: SLO) -> None:
    """Without `{{.window}}` every alert window would read the same fixed range."""
    queries = (
        (("errorRatioQuery", slo.error_ratio_query),)
        if slo.error_ratio_query  # a raw SLI: one ratio query
        else (("errorQuery", slo.error_query), ("totalQuery", slo.total_query))
    )
    for which, text in queries:
        assert WINDOW_VAR.search(text), f"{slo.where}: {which} has no {{{{.window}}}}: {text}"


def _family(name: str | None) -> str:
    """A histogram's _bucket and _count series count the same observations."""
    name = name or ""
    for suffix in ("_bucket", "_count"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _within(error: Selector, total: Selector) -> bool:
    """Every series `error` selects is one `total` selects (same family, stricter labels)."""
    if _family(error.metric) != _family(total.metric):
        return False
    error_matchers = {m for m in error.matchers if m[0] != "le"}
    return {m for m in total.matchers if m[0] != "le"} <= error_matchers


def test_error_events_are_a_subset_of_total(slo: SLO, slo_intent: SLOIntent) -> None:
    """Each error selector picks a subset of a total selector's series, or the intent says
    why a different metric counts a subset (a dropped event was received first)."""
    if slo.error_ratio_query:
        not_applicable(f"{slo.where}: a raw SLI (errorRatioQuery) has no error and total events")
    errors = selectors(slo.query("error", "5m"), f"{slo.where}: errorQuery")
    totals = selectors(slo.query("total", "5m"), f"{slo.where}: totalQuery")
    outside = [e for e in errors if not any(_within(e, t) for t in totals)]
    sli = slo_intent.slis.get(slo.id)
    if outside and sli is not None and sli.error_within_total:
        total_metrics = {t.metric for t in totals}
        declared = {i.name for i in sli.bad} & total_metrics
        assert declared, (
            f"{slo.where}: the intent says error events are within the total, but no bad "
            f"event increments a total metric ({sorted(total_metrics)})"
        )
        return
    assert not outside, (
        f"{slo.where}: the errorQuery selects {[e.metric for e in outside]}, not a subset of "
        f"the totalQuery's {[t.metric for t in totals]} (or declare error_within_total)"
    )


def test_generated_rules_pass_promtool(slo: SLO) -> None:
    """The rules generated for the SLO load in Prometheus: promtool parses every query."""
    with tempfile.TemporaryDirectory(prefix="slo-rules-") as tmp:
        path = Path(tmp) / f"{slo.id}.yaml"
        path.write_text(yaml.safe_dump(rules.rule_groups([slo]), sort_keys=False))
        result = promtool.check_rules(path)
    assert result.ok, f"{slo.where}: generated rules rejected\n{result.describe()}"


@pytest.mark.requires("scenarios/slo")
def test_page_and_ticket_carry_routing_labels(slo: SLO, slo_intent: SLOIntent, judge_slo) -> None:
    """The page alert carries the labels that reach the pager, the ticket those of a
    ticket, both the labels every route needs and those naming the SLO's owner
    (scenarios/slo routing intent)."""
    routing, problems = slo_intent.routing, []
    owned = routing.slo_labels.get(slo.id, {})
    for severity, meta, want in (
        ("page", slo.page, {**owned, **routing.page}),
        ("ticket", slo.ticket, {**owned, **routing.ticket}),
    ):
        if meta.switched_off:
            continue  # `disable: true`: the spec wants no such alert, so nothing to route
        if meta.disabled:
            problems.append(f"has no {severity} alert (alerting.name missing)")
            continue
        labels = {**slo.labels, **meta.labels}
        for key, value in want.items():
            if labels.get(key) != value:
                has = f"{key}={labels[key]}" if key in labels else f"no {key}"
                alert = f"{severity} alert {meta.name}"
                problems.append(f"{alert} without {key}={value} (it has {has})")
        missing = [k for k in routing.required if k not in labels]
        if missing:
            problems.append(f"{severity} alert {meta.name} lacks {missing}")
    judge_slo("routing-labels", problems, f"{slo.where}: its alerts miss what routing needs:")


@pytest.mark.needs("obs-relabel")
@pytest.mark.requires("app_settings", "prometheus", "scenarios/scrape")
def test_sli_queries_select_on_labels_the_scrape_config_attaches(obs_config: ObsConfig) -> None:
    """An SLI that selects an app metric by a label no series of it carries as scraped (the
    config's own jobs, relabelled by Prometheus' code on the discovered targets) reads no
    events in production: its SLO never burns, its alerts never fire."""
    offenders = unattached_in_slis(obs_config)
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "sli-labels-attached-by-scrape"),
        observed=offenders,
        failure="\n".join(sorted(offenders.values())),
    )
