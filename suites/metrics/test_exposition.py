"""Every metric the seed defines is served with its type, labels and buckets, in a format
Prometheus reads: the intent (scenarios/metrics/exposition.yaml) against real scrapes."""

from __future__ import annotations

import math

import pytest

from obsgate.config import ObsConfig
from obsgate.refapp.client import Exposition, scrape
from obsgate.refapp.intent import MetricIntent, content_type, metric_intents
from obsgate.stack.endpoint import Endpoint

pytestmark = [pytest.mark.metrics, pytest.mark.needs("redis")]


def _where(scrapes: list[Exposition]) -> str:
    names = {s.name for e in scrapes for s in e.samples}
    return (
        f"metrics served: {sorted(n for n in names if not n.startswith(('process_', 'python_')))}"
    )


def _series(sample: object) -> tuple[tuple[str, str], ...]:
    """A sample's series without `le`: the buckets of one histogram series share it."""
    return tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))  # type: ignore[attr-defined]


def test_metrics_content_type_is_prometheus_text_format(
    refapp: Endpoint, obs_config: ObsConfig
) -> None:
    exposition = scrape(refapp.metrics_url)
    assert exposition.content_type == content_type(obs_config)


def test_metrics_body_parses_with_prometheus_client(
    exercised_app: list[Exposition], obs_config: ObsConfig
) -> None:
    """Every line is a comment or a sample the parser accepted, none lost (the parser is
    lenient with some junk, so count samples against sample lines), and the seed's own
    metrics hold numbers. Runtime metrics may read NaN: prom-client's event-loop mean and
    stddev are NaN when no delay was sampled since the previous scrape."""
    own = {metric.name for metric in metric_intents(obs_config)}
    for exposition in exercised_app:
        sample_lines = [
            line for line in exposition.text.splitlines() if line and not line.startswith("#")
        ]
        assert len(sample_lines) == len(exposition.samples), exposition.text[-2000:]
        not_numbers = [
            f"{s.name}{s.labels} {s.value}"
            for name in own
            for s in exposition.of(name)
            if not math.isfinite(s.value)
        ]
        assert not not_numbers, f"the seed's metrics served NaN or Inf: {not_numbers}"


def test_metric_is_served_with_its_type_labels_and_buckets(
    metric: MetricIntent, exercised_app: list[Exposition]
) -> None:
    samples = [s for e in exercised_app for s in e.of(metric.name)]
    types = {e.types.get(metric.name) for e in exercised_app} - {None}
    assert samples, f"{metric.name}: no samples after every route was exercised; " + _where(
        exercised_app
    )
    assert types == {metric.type}, f"{metric.name}: served as {types}, intent {metric.type}"
    served = {frozenset(k for k in s.labels if k != "le") for s in samples}
    assert served == {metric.labels}, (
        f"{metric.name}: label sets served {sorted(map(sorted, served))}, "
        f"intent {sorted(metric.labels)}"
    )
    if metric.buckets is not None:
        buckets = [s for s in samples if s.name.endswith("_bucket")]
        for series in {_series(s) for s in buckets}:
            les = sorted(float(s.labels["le"]) for s in buckets if _series(s) == series)
            assert les == [*sorted(metric.buckets), math.inf], (
                f"{metric.name}{dict(series)}: buckets served {les}, "
                f"intent {list(metric.buckets)} and +Inf"
            )
