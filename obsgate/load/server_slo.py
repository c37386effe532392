"""The SLOs judged server-side, from what Prometheus scraped over the load window.

Error-ratio SLOs: the SLO's own errorQuery / totalQuery, rendered with the window.
Latency SLOs: the share of events within the bound, from the `le` bucket selector and the
total selector of the SLO's queries (obsgate/load/thresholds.py says why not errorQuery).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from obsgate.load.stack import LoadStack
from obsgate.load.thresholds import Threshold, latency_selectors
from obsgate.slo.spec import SLO


@dataclass(frozen=True)
class ServerVerdict:
    threshold: Threshold
    ok: bool
    measured: str
    query: str

    def describe(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"SLO {mark} {self.threshold.describe()} (server): measured {self.measured}"


def judge_server_side(stack: LoadStack, slo: SLO, threshold: Threshold, t1: float, window_s: int):
    window = f"{window_s}s"
    selectors = latency_selectors(slo)
    if selectors is not None:
        bucket, total = selectors
        good_q, total_q = f"sum(rate({bucket}[{window}]))", f"sum(rate({total}[{window}]))"
    else:
        good_q, total_q = slo.query("error", window), slo.query("total", window)
    query = f"({good_q}) / ({total_q})"
    total = stack.scalar(total_q, at=t1)
    if not total:
        return ServerVerdict(threshold, False, f"no events in the window ({total_q})", query)
    # No error series at all is no error (a healthy run has no 5xx series to select).
    good_or_bad = stack.scalar(good_q, at=t1) or 0.0
    ratio = good_or_bad / total
    if math.isnan(ratio):
        return ServerVerdict(threshold, False, f"no ratio ({query})", query)
    if threshold.bound_s is not None:
        ok = ratio >= threshold.quantile
        measured = f"{ratio:.3%} of events within {threshold.bound_s * 1000:g} ms"
    else:
        ok = ratio <= threshold.max_error_ratio
        measured = f"error ratio {ratio:.4%}"
    return ServerVerdict(threshold, ok, measured, query)
