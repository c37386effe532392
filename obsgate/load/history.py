"""Latency over time, client and server, for the report's load figure.

Client: Locust's stats history CSV (`<name>_stats_history.csv`, one row a second; the load
gate runs Locust with `--csv-full-history`, so each route has its rows and its percentiles
are Locust's "current" ones, over about the last 10 s, in whole ms).
Server: Prometheus' `histogram_quantile` of the gateway's own histogram for the same route,
over the last 10 s of the load (its exact bucket increase), one point a second.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsgate.load.crosscheck import LATENCY, Route, route_selector
from obsgate.stack.endpoint import PrometheusEndpoint

QUANTILES = (0.5, 0.95, 0.99)
WINDOW_S = 10  # Locust's CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW: the same span server-side
Series = dict[float, list[tuple[float, float]]]  # quantile -> [(epoch seconds, ms)]


@dataclass(frozen=True)
class MeasuredLoad:
    """One Locust run as the load gate measured it: Locust's client report (as the
    locustfile writes it) and history CSV, and the scrapes before and after it."""

    report: dict[str, Any]
    history_csv: Path
    t0: float
    t1: float


def history_path(stats_csv: str | Path) -> Path:
    """Locust's history CSV beside its stats CSV (`<name>_stats.csv`)."""
    path = Path(stats_csv)
    return path.with_name(path.name.removesuffix("_stats.csv") + "_stats_history.csv")


def _column(q: float) -> str:
    return f"{q * 100:g}%"


def client_history(path: Path, route: Route) -> Series:
    """The route's percentiles over time from Locust's history CSV. Rows before the route's
    first request say N/A, and a second whose window holds no response yet says 0 (Locust
    writes `int(None or 0)`): both are left out."""
    method, name = route
    out: Series = {q: [] for q in QUANTILES}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("Type") != method or row.get("Name") != name:
                continue
            for q in QUANTILES:
                text = row.get(_column(q), "N/A")
                if text not in ("N/A", "", "0", None):
                    out[q].append((float(row["Timestamp"]), float(text)))
    return out


def server_query(route: Route, q: float, since: str) -> str:
    """PromQL of the route's quantile `q` over the buckets' exact increase since `since`
    (` @ <t0>` or ` offset 10s`), as in the cross-check; a bucket series that did not
    exist then counts from 0."""
    buckets = f"sum by (le) ({route_selector(LATENCY + '_bucket', route)}"
    return f"histogram_quantile({q}, {buckets}) - ({buckets}{since}) or {buckets}) * 0))"


def server_history(prometheus: PrometheusEndpoint, route: Route, t0: float, t1: float) -> Series:
    """The route's percentiles over time from the gateway's histogram, one point a second,
    over the last `WINDOW_S` seconds but never before the load began at `t0` (in the first
    window, since `t0`). Not `rate()`: a rate window that reaches back past `t0` counts
    what the gateway served before the load (seen: the fault phase that runs before it
    on the same stack, 3 s a request, read as a p99 of 5 s in the load's first seconds)."""
    spans = [
        (f" @ {t0:.3f}", t0, min(t1, t0 + WINDOW_S)),
        (f" offset {WINDOW_S}s", t0 + WINDOW_S, t1),
    ]
    out: Series = {q: [] for q in QUANTILES}
    for q in QUANTILES:
        for since, start, end in spans:
            if end <= start:
                continue
            data = prometheus.api(
                "query_range",
                query=server_query(route, q, since),
                start=f"{start:.3f}",
                end=f"{end:.3f}",
                step="1",
            )
            out[q] += [
                (float(t), float(v) * 1000)
                for series in data["result"]
                for t, v in series["values"]
                if not math.isnan(float(v))
            ]
        out[q].sort()
    return out
