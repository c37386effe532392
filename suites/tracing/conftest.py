"""The tracing suite's fixtures: the intent, a Jaeger reader whose failures show the app's
logs, the log shipper over the app's files, and a traced request sender."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.logship import LogShipper, shipper_settings
from obsgate.params import parametrize_from_config
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import log_tail
from obsgate.tracing.intent import TraceIntent, span_specs, trace_intent
from obsgate.tracing.jaeger_query import JaegerQuery
from obsgate.tracing.traced_requests import Caller

SHIP_INTERVAL = 0.5  # the seed's Flush is 5 s; the gate need not wait for it


@pytest.fixture(scope="session")
def tracing_intent(obs_config: ObsConfig) -> TraceIntent:
    return trace_intent(obs_config)


@pytest.fixture(scope="session")
def app_logs(refapp: Endpoint) -> dict[str, str]:
    """The reference app's JSON-lines log files by service (none against --app-url)."""
    return dict(refapp.log_files)


@pytest.fixture(scope="session")
def jaeger_query(jaeger: Endpoint, refapp: Endpoint, app_logs: dict[str, str]) -> JaegerQuery:
    def context() -> str:
        tails = [f"api-gateway process log:\n{refapp.log_tail(10)}"]
        for service, path in app_logs.items():
            tails.append(f"{service} app log:\n{log_tail(Path(path), 8)}")
        return "\n".join(tails)

    return JaegerQuery(jaeger, context)


@pytest.fixture(scope="session")
def shipped_logs(
    obs_config: ObsConfig, elasticsearch: Endpoint, app_logs: dict[str, str]
) -> Iterator[LogShipper]:
    """The seed's Fluent Bit config applied to the app's log files, shipping in the
    background into the run's Elasticsearch (each xdist worker ships its own copy: a
    test looks for a stored copy of each of its lines, so a duplicate changes nothing)."""
    shipper = LogShipper(shipper_settings(obs_config), elasticsearch.url, list(app_logs.values()))
    shipper.start_at_end()  # this suite's requests come later; earlier lines are not its own
    with shipper.running(SHIP_INTERVAL):
        yield shipper


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """health_route and span_spec come from the config dir under test."""
    parametrize_from_config(
        metafunc, "health_route", lambda c: trace_intent(c).health_routes, id_of=str
    )
    parametrize_from_config(metafunc, "span_spec", span_specs, id_of=lambda s: s.name)


@pytest.fixture(scope="session")
def caller(refapp: Endpoint, tracing_intent: TraceIntent) -> Caller:
    return Caller(refapp, tracing_intent.caller_propagation)
