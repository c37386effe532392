"""What the Locust master measured, as plain JSON, with the SLO verdicts judged on it.

This is the contract between the locustfile (which writes it when it quits) and the gate
(which reads it back): per route and in total, requests, failures split into unavailable
(5xx, no connection) and client errors (4xx), and percentiles in ms as Locust keeps them:
rounded to about two significant digits, which the client/server cross-check allows for.
"""

from __future__ import annotations

from typing import Any

from obsgate.load.thresholds import Threshold

QUANTILES = (0.5, 0.95, 0.99)


def quantile_key(q: float) -> str:
    return f"p{q * 100:g}_ms"


def entry_summary(entry: Any, quantiles: tuple[float, ...]) -> dict[str, Any]:
    out = {
        "method": entry.method,
        "name": entry.name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": round(entry.total_rps, 2),
    }
    for q in quantiles:
        out[quantile_key(q)] = entry.get_response_time_percentile(q) if entry.num_requests else None
    return out


def failure_counts(stats: Any, unavailable: str, client_error: str) -> dict[tuple[str, str], dict]:
    """(method, name) -> {"unavailable": n, "client_errors": n} from Locust's error table."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for err in stats.errors.values():
        counts = out.setdefault((err.method, err.name), {"unavailable": 0, "client_errors": 0})
        text = str(err.error)
        if unavailable in text:
            counts["unavailable"] += err.occurrences
        elif client_error in text:
            counts["client_errors"] += err.occurrences
        else:  # an exception in the user's code: count it as unavailable, never as success
            counts["unavailable"] += err.occurrences
    return out


def judge(threshold: Threshold, total: dict[str, Any], stats_total: Any) -> dict[str, Any]:
    requests = total["requests"]
    verdict: dict[str, Any] = {"slo_id": threshold.slo_id, "threshold": threshold.describe()}
    if not requests:
        return {**verdict, "ok": False, "measured": "no requests were made"}
    if threshold.bound_s is not None:
        measured_ms = stats_total.get_response_time_percentile(threshold.quantile)
        ok = measured_ms <= threshold.bound_s * 1000
        return {**verdict, "ok": ok, "measured": f"p{threshold.objective:g} {measured_ms} ms",
                "value": measured_ms / 1000}  # fmt: skip
    ratio = total["unavailable"] / requests
    ok = ratio <= threshold.max_error_ratio
    measured = f"{ratio:.4%} unavailable ({total['unavailable']} of {requests})"
    return {**verdict, "ok": ok, "measured": measured, "value": ratio}


def client_report(
    stats: Any, thresholds: list[Threshold], workers: int, unavailable: str, client_error: str
) -> dict[str, Any]:
    quantiles = tuple(sorted({*QUANTILES, *(t.quantile for t in thresholds if t.is_latency)}))
    failures = failure_counts(stats, unavailable, client_error)
    routes = []
    for entry in sorted(stats.entries.values(), key=lambda e: (e.name, e.method)):
        route = entry_summary(entry, quantiles)
        none = {"unavailable": 0, "client_errors": 0}
        route.update(failures.get((entry.method, entry.name), none))
        routes.append(route)
    total = entry_summary(stats.total, quantiles)
    total["unavailable"] = sum(r["unavailable"] for r in routes)
    total["client_errors"] = sum(r["client_errors"] for r in routes)
    return {
        "workers": workers,
        "start_time": stats.total.start_time,
        "last_request_timestamp": stats.total.last_request_timestamp,
        "routes": routes,
        "total": total,
        "verdicts": [judge(t, total, stats.total) for t in thresholds],
    }
