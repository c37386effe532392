"""SLO thresholds for the load gate, read from the config's SLO specs, never typed in.

An SLO whose queries select a histogram bucket (`le="..."`) is a latency SLO: its intent
is that `objective` % of events take at most that bound (the gateway's "p99 < 500ms").
Any other SLO is an error-ratio SLO: at most 100 - `objective` % of events may fail.
The intent is read from the selectors, not from which query holds which: the shipped
latency SLOs put the `le` bucket in their errorQuery (finding
slo-gateway-latency-error-query-counts-good), and the gate still measures what they mean.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError
from obsgate.promql import Selector, selectors
from obsgate.slo.spec import SLO, config_slos


@dataclass(frozen=True)
class Threshold:
    """One SLO as a load threshold."""

    slo_id: str
    service: str
    objective: float  # percent
    where: str
    bound_s: float | None = None  # latency SLOs: the bucket bound; None: error ratio

    @property
    def is_latency(self) -> bool:
        return self.bound_s is not None

    @property
    def quantile(self) -> float:
        """Latency: the quantile that must stay within the bound (99.0 % -> 0.99)."""
        return self.objective / 100

    @property
    def max_error_ratio(self) -> float:
        return 1 - self.objective / 100

    def describe(self) -> str:
        if self.bound_s is not None:
            return f"{self.slo_id}: p{self.objective:g} <= {self.bound_s * 1000:g} ms"
        return f"{self.slo_id}: error ratio <= {self.max_error_ratio:.4%}"


def selector_text(selector: Selector) -> str:
    body = ", ".join(f"{n}{op}{json.dumps(v)}" for n, op, v in selector.matchers)
    return f"{selector.metric or ''}{{{body}}}" if body else str(selector.metric)


def bucket_bound(selector: Selector) -> str | None:
    return next((v for n, op, v in selector.matchers if n == "le" and op == "="), None)


def latency_selectors(slo: SLO) -> tuple[str, str] | None:
    """(within-bound bucket selector, total selector) of a latency SLO, else None."""
    found = [
        *selectors(slo.query("error", "5m"), f"{slo.where}: errorQuery"),
        *selectors(slo.query("total", "5m"), f"{slo.where}: totalQuery"),
    ]
    bucket = [selector_text(s) for s in found if bucket_bound(s) is not None]
    total = [selector_text(s) for s in found if bucket_bound(s) is None]
    if not bucket:
        return None
    if len(bucket) != 1 or len(total) != 1:
        raise ConfigError(
            f"{slo.where}: a latency SLO needs one `le` bucket selector and one total "
            f"selector in its queries; found {bucket} and {total}"
        )
    return bucket[0], total[0]


def threshold_of(slo: SLO) -> Threshold:
    bound = None
    pair = latency_selectors(slo)
    if pair is not None:
        le = next(bucket_bound(s) for s in selectors(pair[0]) if bucket_bound(s) is not None)
        try:
            bound = float(le or "")
        except ValueError:
            raise ConfigError(f"{slo.where}: le={le!r} is not a number") from None
    return Threshold(slo.id, slo.service, slo.objective, slo.where, bound)


def slo_thresholds(config: ObsConfig, service: str | None = None) -> list[Threshold]:
    """Every SLO of the config as a threshold (only `service`'s, when given)."""
    out = [threshold_of(s) for s in config_slos(config)]
    return [t for t in out if service is None or t.service == service]
