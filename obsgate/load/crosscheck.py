"""Client and server must tell the same story: Locust's percentiles against Prometheus'
`histogram_quantile` of the gateway's own histogram, and Locust's request count against the
increase of `http_requests_total`, per route, over exactly the load window.

The window is two scrapes, t0 before the first request and t1 after the last, and the
server side is the difference of the cumulative buckets at those two instants (`@ t1` minus
`@ t0`): no rate extrapolation, so counts are exact.

The stated tolerance of a percentile. The histogram only knows which bucket (lo, hi] the
server's quantile is in, and each request's client time is its server time plus the
network and both event loops (the "network share"). So the client's quantile must lie in
[lo, hi + network share], widened by Locust's rounding (two significant digits, at most
5 %). The network share is measured in the same run: the client's same quantile on
GET /health/live, a route with next to no server time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from obsgate.load.client_report import quantile_key
from obsgate.load.stack import GATEWAY, INTENDED, VIEW, LoadStack, PrometheusQueries

LATENCY = "http_request_duration_seconds"
REQUESTS = "http_requests_total"
LOCUST_ROUNDING = 0.05
NETWORK_ROUTE = ("GET", "/health/live")


Route = tuple[str, str]  # (method, path), as Locust names a route


def route_selector(name: str, route: Route) -> str:
    method, path = route
    return f'{name}{{job="{GATEWAY}", {VIEW}="{INTENDED}", method="{method}", path="{path}"}}'


def window_delta(selector: str, t0: float, t1: float, by: str = "") -> str:
    """PromQL for the increase of a counter selector between two instants, exactly."""
    grouping = f" by ({by})" if by else ""
    return (
        f"sum{grouping} ({selector} @ {t1:.3f})"
        f" - (sum{grouping} ({selector} @ {t0:.3f}) or sum{grouping} ({selector} @ {t1:.3f}) * 0)"
    )


@dataclass(frozen=True)
class PercentileCheck:
    route: str
    quantile: float
    client_ms: float
    server_ms: float
    bucket_ms: tuple[float, float]
    network_ms: float

    @property
    def bounds_ms(self) -> tuple[float, float]:
        lo, hi = self.bucket_ms
        return lo * (1 - LOCUST_ROUNDING), hi * (1 + LOCUST_ROUNDING) + self.network_ms + 1

    @property
    def ok(self) -> bool:
        lo, hi = self.bounds_ms
        return lo <= self.client_ms <= hi

    def describe(self) -> str:
        lo, hi = self.bounds_ms
        return (
            f"{self.route} p{self.quantile * 100:g}: client {self.client_ms:g} ms, server "
            f"{self.server_ms:.1f} ms (bucket {self.bucket_ms[0]:g}..{self.bucket_ms[1]:g} ms), "
            f"network share {self.network_ms:g} ms -> allowed {lo:.1f}..{hi:.1f} ms "
            f"{'ok' if self.ok else 'DISAGREE'}"
        )


@dataclass(frozen=True)
class CountCheck:
    route: str
    client: int
    server: int

    @property
    def ok(self) -> bool:
        return self.client == self.server

    def describe(self) -> str:
        verdict = "ok" if self.ok else "DIFFER"
        return (
            f"{self.route}: Locust sent {self.client}, "
            f"http_requests_total rose {self.server} {verdict}"
        )


def bucket_bounds(stack: LoadStack | PrometheusQueries, route: Route) -> list[float]:
    result = stack.query(f"count by (le) ({route_selector(LATENCY + '_bucket', route)})")
    return sorted(float(r["metric"]["le"]) for r in result)


def bucket_of(value_s: float, bounds: list[float]) -> tuple[float, float]:
    """The (lo, hi] bucket that holds `value_s`, in ms."""
    lo = 0.0
    for hi in bounds:
        if value_s <= hi:
            return lo * 1000, hi * 1000
        lo = hi
    return lo * 1000, math.inf


def server_quantile(
    stack: LoadStack | PrometheusQueries, route: Route, q: float, t0: float, t1: float
):
    buckets = window_delta(route_selector(LATENCY + "_bucket", route), t0, t1, by="le")
    return stack.scalar(f"histogram_quantile({q}, {buckets})")


def percentile_checks(
    stack: LoadStack | PrometheusQueries, report: dict, route: Route, t0: float, t1: float
) -> list[PercentileCheck]:
    """Locust's p50, p95 and p99 of `route` against the server's, over the window t0..t1."""
    method, path = route
    routes = {(r["method"], r["name"]): r for r in report["routes"]}
    client, network = routes.get(route), routes.get(NETWORK_ROUTE)
    if client is None or network is None:
        missing = [k for k, v in ((route, client), (NETWORK_ROUTE, network)) if not v]
        raise AssertionError(f"Locust made no requests on {missing}; routes: {sorted(routes)}")
    bounds = bucket_bounds(stack, route)
    out = []
    for q in (0.5, 0.95, 0.99):
        server_s = server_quantile(stack, route, q, t0, t1)
        if server_s is None or math.isnan(server_s):
            raise AssertionError(f"Prometheus has no {LATENCY} for {method} {path} in the window")
        out.append(
            PercentileCheck(
                f"{method} {path}",
                q,
                float(client[quantile_key(q)]),
                server_s * 1000,
                bucket_of(server_s, bounds),
                float(network[quantile_key(q)]),
            )
        )
    return out


def sent_by_route(report: dict) -> dict[str, int]:
    """ "METHOD name" -> requests, as the Locust master (or only process) counted them."""
    return {f"{r['method']} {r['name']}": r["requests"] for r in report["routes"]}


def count_checks(stack: LoadStack, sent: dict[str, int], t0: float, t1: float) -> list[CountCheck]:
    """Per route, what the client sent against the increase of http_requests_total."""
    out = []
    for route, n in sorted(sent.items()):
        method, name = route.split(" ", 1)
        server = stack.scalar(window_delta(route_selector(REQUESTS, (method, name)), t0, t1))
        out.append(CountCheck(route, n, round(server or 0)))
    return out
