"""Latency over time, client and server, for the report's load figure.

Client: Locust's stats history CSV (`<name>_stats_history.csv`, one row a second; the load
gate runs Locust with `--csv-full-history`, so each route has its rows and its percentiles
are Locust's "current" ones, over about the last 10 s, in whole ms).
Server: Prometheus' `histogram_quantile` of the gateway's own histogram for the same route,
over a 10 s rate window, at each scrape of the load window.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from obsgate.load.crosscheck import LATENCY, Route, route_selector
from obsgate.load.stack import LoadStack

QUANTILES = (0.5, 0.95, 0.99)
WINDOW_S = 10  # Locust's CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW: the same span server-side
Series = dict[float, list[tuple[float, float]]]  # quantile -> [(epoch seconds, ms)]


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


def server_history(stack: LoadStack, route: Route, t0: float, t1: float) -> Series:
    """The route's percentiles over time from the gateway's histogram, one point a second."""
    buckets = f"sum by (le) (rate({route_selector(LATENCY + '_bucket', route)}[{WINDOW_S}s]))"
    out: Series = {}
    for q in QUANTILES:
        data = stack.prometheus.api(
            "query_range",
            query=f"histogram_quantile({q}, {buckets})",
            start=f"{t0:.3f}",
            end=f"{t1:.3f}",
            step="1",
        )
        points = [
            (float(t), float(v) * 1000)
            for series in data["result"]
            for t, v in series["values"]
            if not math.isnan(float(v))
        ]
        out[q] = sorted(points)
    return out
