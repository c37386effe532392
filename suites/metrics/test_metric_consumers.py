"""Universal checks, from any config alone: every app metric that the alert rules, SLOs
and dashboards query is one the app's instrumentation defines, and every `le` they select
on an app histogram is one of its buckets (a moved bucket silently empties a query)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

import pytest

from obsgate.config import ObsConfig, load_yaml_documents
from obsgate.findings import FINDINGS_FILE, judge, universal_finding
from obsgate.promql import Selector, selectors
from obsgate.refapp.intent import not_app_metrics
from obsgate.refapp.settings import load_settings

pytestmark = [pytest.mark.metrics]
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
SLO_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")


def _walk(node: Any, key_test: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and key_test(key):
                yield value
            else:
                yield from _walk(value, key_test)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key_test)


def consumer_queries(config: ObsConfig) -> list[tuple[str, str]]:
    """(where, PromQL) of every rule, SLO query and dashboard panel of the config."""
    out = [(f"rule {r.name} ({r.file.name}:{r.line})", r.expr) for r in config.alert_rules()]
    for path in config.slo_files():
        for doc in load_yaml_documents(path):  # Sloth's keys: errorQuery or error_query
            for query in _walk(doc, lambda k: str(k).endswith(("Query", "_query"))):
                out.append((f"SLO query in {path.name}", SLO_WINDOW.sub("5m", query)))
    for dashboard in config.dashboards():
        for expr in _walk(dashboard.doc, lambda k: k == "expr"):
            out.append((f"dashboard {dashboard.name}", expr))
    return out


def app_selectors(config: ObsConfig) -> list[tuple[str, Selector]]:
    skip = not_app_metrics(config)
    return [
        (where, sel)
        for where, expr in consumer_queries(config)
        for sel in selectors(expr, where)
        if sel.metric and not any(fnmatch.fnmatchcase(sel.metric, p) for p in skip)
    ]


def defined_name(metric: str, defined: set[str]) -> str | None:
    if metric in defined:
        return metric
    for suffix in HISTOGRAM_SUFFIXES:
        if metric.endswith(suffix) and metric.removesuffix(suffix) in defined:
            return metric.removesuffix(suffix)
    return None


def test_every_app_metric_the_config_queries_is_defined(obs_config: ObsConfig) -> None:
    defined = set(load_settings(obs_config.root).metrics)
    undefined: dict[str, set[str]] = {}
    for where, sel in app_selectors(obs_config):
        if defined_name(str(sel.metric), defined) is None:
            base = re.sub(r"_(bucket|count|sum)$", "", str(sel.metric))
            undefined.setdefault(base, set()).add(where)
    judge(
        holds=not undefined,
        finding=universal_finding(obs_config, "consumer-metrics-defined"),
        observed=undefined,
        failure="queried but defined nowhere in metrics/instrumentation.yaml "
        f"(an exporter's metric belongs in not_app_metrics; a known one in {FINDINGS_FILE}): "
        + "; ".join(f"{m} by {sorted(w)}" for m, w in sorted(undefined.items())),
    )


def test_every_le_the_config_selects_is_a_bucket(obs_config: ObsConfig) -> None:
    metrics = load_settings(obs_config.root).metrics
    wrong = []
    for where, sel in app_selectors(obs_config):
        name = defined_name(str(sel.metric), set(metrics))
        le = sel.equals().get("le")
        if name is None or le is None or metrics[name].buckets is None:
            continue
        if float(le) not in metrics[name].buckets:
            wrong.append(f'{where}: {sel.metric}{{le="{le}"}}, buckets {metrics[name].buckets}')
    assert not wrong, (
        "queries select an `le` that is no bucket (they match nothing):\n" + "\n".join(wrong)
    )
