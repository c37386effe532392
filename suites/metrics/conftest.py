"""The metrics suite's cases (from the config's metrics intent) and one exercised app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from obsgate.config import ObsConfig
from obsgate.params import parametrize_from_config
from obsgate.refapp.client import (
    Exposition,
    exercise_routes,
    scrape,
    wait_for_key_usage,
    wait_for_sample,
)
from obsgate.refapp.fixtures import private_gateway
from obsgate.refapp.intent import metric_intents, path_examples
from obsgate.services.declaration import services_under_test
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.fixtures import run_backend


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(
        metafunc,
        "metric",
        metric_intents,
        id_of=lambda m: m.name,
        marks_of=lambda m: [pytest.mark.needs(m.needs)] if m.needs else [],
    )
    parametrize_from_config(metafunc, "example", path_examples, id_of=lambda e: e.path)


@pytest.fixture(scope="session")
def exercised_app(refapp: Endpoint) -> list[Exposition]:
    """Every route driven once, then the scrapes of the gateway and (with Kafka) the
    usage-tracker once it has consumed the usage event: each seed metric has samples.
    Against --app-url nothing is driven: the routes are the reference app's own."""
    if refapp.backend == "external":  # --app-url: read what the deployment's traffic made
        return [scrape(refapp.metrics_url)]
    kafka = bool(refapp.kafka_topic)
    ids = exercise_routes(refapp, kafka=kafka)
    scrapes = [scrape(refapp.metrics_url)]
    tracker = refapp.usage_tracker_metrics_url
    if kafka and tracker:
        topic = refapp.kafka_topic
        scrapes.append(wait_for_sample(tracker, "kafka_messages_consumed_total", {"topic": topic}))
        wait_for_key_usage(refapp, ids["key"])  # the hop really ended in Redis
    return scrapes


@pytest.fixture(scope="module")
def flooded_gateway(
    request: pytest.FixtureRequest,
    refapp: Endpoint,
    obs_config: ObsConfig,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Endpoint]:
    """A gateway for the cardinality property alone: it makes thousands of label values,
    which would bloat the shared gateway's /metrics for every later scrape of the run.
    Against --app-url, the deployment itself."""
    if refapp.backend == "external":
        yield refapp
        return
    redis = request.getfixturevalue("redis")
    workdir = tmp_path_factory.mktemp("flooded-gateway")
    services = services_under_test(obs_config)
    backend = run_backend(request.config)
    with private_gateway(services, redis, refapp.upstream_url, workdir, backend) as gateway:
        yield gateway
