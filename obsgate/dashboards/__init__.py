"""Grafana dashboards of a config dir (plain JSON, in a ConfigMap, or a GrafanaDashboard;
config/dashboards.py reads them) as the dashboards suite reads
them: panels with their targets, units, thresholds and grid positions; the metrics that
something in the config produces; the panels that mirror an alert (intent,
`scenarios/dashboards/mirrors.yaml`); and a query pinned to one scrape target's series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser as pp

from obsgate import promql
from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError
from obsgate.refapp.settings import load_settings

MIRRORS = "scenarios/dashboards/mirrors.yaml"
# Series Prometheus writes itself: per scrape target, and for each alerting rule.
SCRAPE_SERIES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)
RULE_SERIES = ("ALERTS", "ALERTS_FOR_STATE")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
# Grafana's interval variables, which stand where PromQL wants a duration.
_INTERVAL_VARIABLE = re.compile(r"\$(?:\{__\w+\}|__(?:rate_interval|interval|range)(?:_ms|_s)?\b)")


def promql_of(expr: str) -> str:
    """A panel query as Prometheus would receive it, for parsing: Grafana's interval
    variables (`[$__rate_interval]`, `${__range}`) become a 5m duration; other variables sit
    in label values (`job="$cluster"`), where they parse as they are."""
    return _INTERVAL_VARIABLE.sub("5m", expr)


@dataclass(frozen=True)
class Panel:
    dashboard: str  # uid
    file: Path
    index: int
    title: str
    type: str
    grid: tuple[int, int, int, int] | None  # x, y, w, h
    exprs: tuple[str, ...]
    unit: str | None
    thresholds: tuple[tuple[str, float | None], ...]  # (color, value) steps

    @property
    def id(self) -> str:
        return f"{self.dashboard}/{self.title}"

    def red_threshold(self) -> float | None:
        reds = [v for color, v in self.thresholds if color == "red" and v is not None]
        return min(reds) if reds else None


def load_dashboards(config: ObsConfig) -> list[tuple[Path, dict[str, Any]]]:
    """(the user's file, the dashboard JSON) for every dashboard of the config."""
    dashboards = config.dashboards()
    if not dashboards:
        raise ConfigError(f"{config.missing('dashboards')}: add Grafana dashboards")
    out = []
    for d in dashboards:
        if not isinstance(d.doc.get("panels"), list):
            where = f"{d.file}:{d.line}" + (f" ({d.obj})" if d.obj else "")
            raise ConfigError(f"{where}: a dashboard is an object with a `panels` list")
        out.append((d.file, d.doc))
    return out


def _panel(path: Path, uid: str, index: int, raw: dict[str, Any]) -> Panel:
    defaults = (raw.get("fieldConfig") or {}).get("defaults") or {}
    steps = (defaults.get("thresholds") or {}).get("steps") or []
    grid = raw.get("gridPos")
    return Panel(
        dashboard=uid,
        file=path,
        index=index,
        title=str(raw.get("title", f"panel {index}")),
        type=str(raw.get("type", "")),
        grid=(grid["x"], grid["y"], grid["w"], grid["h"]) if grid else None,
        exprs=tuple(str(t["expr"]) for t in raw.get("targets") or [] if t.get("expr")),
        unit=defaults.get("unit"),
        thresholds=tuple((str(s.get("color")), s.get("value")) for s in steps),
    )


def panels(config: ObsConfig) -> list[Panel]:
    return [
        _panel(path, str(doc.get("uid", path.stem)), i, raw)
        for path, doc in load_dashboards(config)
        for i, raw in enumerate(doc["panels"])
    ]


def produced_metrics(config: ObsConfig) -> dict[str, str]:
    """Metric name -> what produces it: the app's instrumentation, the rules (the metrics
    they read, their records, ALERTS), and the scrape config (up and scrape_* per job)."""
    out: dict[str, str] = {}
    for name, metric in load_settings(config.root).metrics.items():
        if metric.type == "histogram":  # a classic histogram's series are its suffixed ones
            out.update({f"{name}{s}": "the app's instrumentation" for s in HISTOGRAM_SUFFIXES})
        else:
            out[name] = "the app's instrumentation"
    for rule in config.alert_rules() + config.recording_rules():
        where = f"rule {getattr(rule, 'name', '')}"
        for sel in promql.selectors(rule.expr, where):
            if sel.metric:
                out.setdefault(sel.metric, f"read by the rules ({where})")
    for rule in config.recording_rules():
        out.setdefault(rule.name, "a recording rule")
    if config.alert_rules():
        out.update({name: "Prometheus, for the alert rules" for name in RULE_SERIES})
    if config.prometheus().get("scrape_configs"):
        out.update({name: "Prometheus, per scrape target" for name in SCRAPE_SERIES})
    return out


def overlapping(items: list[Panel]) -> list[tuple[Panel, Panel]]:
    """Pairs of panels of one dashboard whose grid rectangles share any cell."""
    pairs = []
    placed = [p for p in items if p.grid]
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            ax, ay, aw, ah = a.grid  # type: ignore[misc]
            bx, by, bw, bh = b.grid  # type: ignore[misc]
            same = a.dashboard == b.dashboard
            if same and ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                pairs.append((a, b))
    return pairs


@dataclass(frozen=True)
class Mirror:
    dashboard: str
    panel: str
    alert: str
    scale: float
    unit: str


def mirrors(config: ObsConfig) -> list[Mirror]:
    path = config.locate(MIRRORS)
    if not path.exists():
        return []
    out = []
    for i, m in enumerate((load_yaml(path) or {}).get("mirrors") or []):
        try:
            out.append(
                Mirror(
                    str(m["dashboard"]),
                    str(m["panel"]),
                    str(m["alert"]),
                    float(m["scale"]),
                    str(m["unit"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"{path}: mirrors[{i}]: give dashboard, panel, alert, scale and unit"
            ) from None
    return out


def alert_threshold(expr: str, where: str) -> tuple[str, str, float] | None:
    """(compared value, operator, threshold) of `value > number`, else None."""
    node = promql.parse(expr, where)
    if isinstance(node, pp.BinaryExpr) and isinstance(node.rhs, pp.NumberLiteral):
        return str(node.lhs), str(node.op), float(node.rhs.val)
    return None


def pinned(expr: str, label: str, value: str) -> str:
    """`expr` with `label="value"` added to every vector selector, so it reads one scrape
    target's series only (the parser's own rendering, then a check that all are pinned)."""
    text, out, quote = str(promql.parse(expr, "expr")), [], ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[i - 1] != "\\" else quote
        elif char in "\"'`":
            quote = char
        elif char == "{":
            close = text[i + 1 : i + 2] == "}"
            out.append(f'{{{label}="{value}"' + ("" if close else ","))
            continue
        out.append(char)
    result = "".join(out)
    missing = [s for s in promql.selectors(result) if (label, "=", value) not in s.matchers]
    if missing:
        raise ConfigError(f"could not pin {expr!r} to {label}={value!r}: {missing}")
    return result
