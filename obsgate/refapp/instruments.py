"""The seed's prom-client registry (metrics.service.ts), built from metrics/instrumentation.yaml.

The app's code records by the seed's metric and label names, as its code uses the seed's
constants. A metric the config renames or drops is then not recorded under the seed's name
(said once on stderr) and the metrics suite sees it missing; a label the config renames gets
an empty value. That is how a broken line in the config reaches what /metrics serves.
"""

from __future__ import annotations

import sys
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from obsgate.refapp.settings import MetricDef

# prom-client's register.contentType, which the seed's metricsHandler sets
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
_HELP = "MindWeave reference app: {}"
disable_created_metrics()  # prom-client writes no `_created` series


def _counter_name(name: str) -> str:
    """prometheus-client appends `_total` itself; the seed's names already end in it."""
    return name[: -len("_total")] if name.endswith("_total") else name


class Instruments:
    """One registry with the configured metrics (and default process metrics, as
    `collectDefaultMetrics` adds), recorded by the seed's names."""

    def __init__(self, defs: dict[str, MetricDef], service: str):
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.defs = defs
        self.service = service
        self.metrics: dict[str, Any] = {}
        self._warned: set[str] = set()
        for d in defs.values():
            help_text = _HELP.format(d.name)
            if d.type == "counter":
                metric: Any = Counter(
                    _counter_name(d.name), help_text, d.label_names, registry=self.registry
                )
            elif d.type == "gauge":
                metric = Gauge(d.name, help_text, d.label_names, registry=self.registry)
            else:
                metric = Histogram(
                    d.name, help_text, d.label_names, buckets=d.buckets, registry=self.registry
                )
            self.metrics[d.name] = metric

    def add(self, d: MetricDef) -> None:
        """A metric this service defines in code (not in the seed's metrics.service.ts)."""
        self.defs = {**self.defs, d.name: d}
        kinds = {"counter": Counter, "gauge": Gauge}
        if d.type == "histogram":
            self.metrics[d.name] = Histogram(
                d.name,
                _HELP.format(d.name),
                d.label_names,
                buckets=d.buckets,
                registry=self.registry,
            )
        else:
            name = _counter_name(d.name) if d.type == "counter" else d.name
            self.metrics[d.name] = kinds[d.type](
                name, _HELP.format(d.name), d.label_names, registry=self.registry
            )

    def _child(self, name: str, labels: dict[str, str]) -> Any:
        metric = self.metrics.get(name)
        if metric is None:
            if name not in self._warned:
                self._warned.add(name)
                print(
                    f"{self.service}: instrumentation.yaml defines no metric {name}; not recorded",
                    file=sys.stderr,
                    flush=True,
                )
            return None
        names = self.defs[name].label_names
        if not names:
            return metric
        return metric.labels(**{k: str(labels.get(k, "")) for k in names})

    def inc(self, name: str, labels: dict[str, str], amount: float = 1.0) -> None:
        child = self._child(name, labels)
        if hasattr(child, "inc"):  # a type the config changed is not recorded
            child.inc(amount)

    def observe(self, name: str, labels: dict[str, str], value: float) -> None:
        child = self._child(name, labels)
        if hasattr(child, "observe"):  # a type the config changed is not recorded
            child.observe(value)

    def set(self, name: str, labels: dict[str, str], value: float) -> None:
        child = self._child(name, labels)
        if hasattr(child, "set"):  # a type the config changed is not recorded
            child.set(value)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
