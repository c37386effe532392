"""The labels a query selects on that the scrape never attaches: a rule, SLI or panel that
filters or groups the app's series by such a label matches nothing in production.

What the scrape attaches comes from the relabelling simulation (obsgate/relabel): the config's
own scrape jobs, run with Prometheus' relabel code on the targets discovery gives the
deployment (`scenarios/scrape/targets.yaml`), joined to the app's series (its metrics'
labelNames). A query's label is attached when some series of its metric, as stored, carries
it with a value its matchers accept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from obsgate.config import AlertRule, ObsConfig
from obsgate.promql import grouping_labels, selectors
from obsgate.relabel.simulate import Simulation, simulate

_SUFFIX = re.compile(r"_(bucket|count|sum)$")


def rule_id(rule: AlertRule) -> str:
    return f"{rule.name} ({rule.file.name}:{rule.line})"


def _matches(op: str, pattern: str, value: str) -> bool:
    """A PromQL label matcher on one value (regexes anchored, as Prometheus anchors them)."""
    if op in ("=", "!="):
        return (value == pattern) == (op == "=")
    return (re.fullmatch(pattern, value) is not None) == (op == "=~")


@dataclass(frozen=True)
class AppMetrics:
    """The app's metrics (instrumentation settings): which labels are its own."""

    metrics: dict[str, Any]

    def own_labels(self, metric: str) -> set[str] | None:
        """The labels the app itself puts on `metric`; None for a metric the app does not
        define (an exporter's, which brings its own labels), except `up`, the scrape's."""
        if metric == "up":
            return set()
        spec = self.metrics.get(_SUFFIX.sub("", metric))
        if spec is None:
            return None
        own = set(spec.get("labelNames") or [])
        if spec.get("type") == "histogram" and metric.endswith("_bucket"):
            own.add("le")
        return own


def unattached_in_query(
    sim: Simulation, app: AppMetrics, owner: str, expr: str, where: str
) -> dict[str, str]:
    """Every `owner: metric label` that `expr` selects on (a matcher the empty value fails) or
    groups by, on an app metric or `up`, that no series of that metric as scraped carries
    with a value its matchers accept; each with why, for the failure."""
    offenders: dict[str, str] = {}
    grouped = grouping_labels(expr, where)
    for sel in selectors(expr, where):
        metric = sel.metric or ""
        own = app.own_labels(metric)
        if own is None:
            continue
        series = sim.series(metric)
        required = {n for n, op, v in sel.matchers if not _matches(op, v, "")} | grouped
        for label in sorted(required - {"__name__"}):
            key = f"{owner}: {metric} {label}"
            values = {s[label] for s in series if label in s}
            if not values:
                offenders[key] = (
                    f"{where}: selects {metric} by {label!r}, but no scrape job attaches it: "
                    f"{_stored(sim, metric)}"
                )
                continue
            if label in own:
                continue  # the app's own label: its values are the traffic's
            matchers = [(op, v) for n, op, v in sel.matchers if n == label]
            if matchers and not any(all(_matches(op, v, x) for op, v in matchers) for x in values):
                wanted = ",".join(f"{label}{op}{v!r}" for op, v in matchers)
                offenders[key] = (
                    f"{where}: selects {metric}{{{wanted}}}, but the scrape attaches "
                    f"{label} only as {sorted(values)}: {_stored(sim, metric)}"
                )
    return offenders


def _stored(sim: Simulation, metric: str) -> str:
    """How the simulation stores `metric`: the target labels of each job that keeps it."""
    seen = sorted(
        {(s.job, tuple(sorted(s.target_labels))) for s in sim.kept() if _serves(s, metric)}
    )
    if not seen:
        return f"no scrape job keeps a target that serves {metric}"
    return "; ".join(f"job {job} gives {list(labels)}" for job, labels in seen)


def _serves(scrape: Any, metric: str) -> bool:
    return metric == "up" or any(x and x.get("__name__") == metric for x in scrape.series)


def unattached_labels(config: ObsConfig) -> tuple[dict[str, set[str]], dict[str, str]]:
    """The labels each scrape job attaches (in the simulation), and every `alert: metric
    label` a rule filters or groups an app metric (or `up`) by that the scrape never attaches
    to it (with why, for the failure)."""
    sim = simulate(config)
    app = AppMetrics(config.app_settings("metrics")["metrics"])
    offenders: dict[str, str] = {}
    for rule in config.alert_rules():
        offenders.update(unattached_in_query(sim, app, rule.name, rule.expr, rule_id(rule)))
    return sim.attached_by_job(), offenders


def unattached_in_slis(config: ObsConfig) -> dict[str, str]:
    """Every `SLO id: metric label` an SLI query (its `{{.window}}` read as 5m) selects an app
    metric (or `up`) by that the scrape never attaches to it (with why)."""
    from obsgate.slo.spec import WINDOW_VAR, config_slos  # the SLO package reads the config

    sim = simulate(config)
    app = AppMetrics(config.app_settings("metrics")["metrics"])
    offenders: dict[str, str] = {}
    for slo in config_slos(config):
        queries = (
            (("errorRatioQuery", slo.error_ratio_query),)
            if slo.error_ratio_query
            else (("errorQuery", slo.error_query), ("totalQuery", slo.total_query))
        )
        for which, text in queries:
            expr = WINDOW_VAR.sub("5m", text)
            offenders.update(unattached_in_query(sim, app, slo.id, expr, f"{slo.where}: {which}"))
    return offenders
