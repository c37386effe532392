"""Session fixtures, one per service: each yields an Endpoint, whatever backend made it.

The process backend starts a service on first use, once per run (also under xdist); the
owner of the run stops them all at the end. `--stack external` takes URLs instead, for a
staging deployment; tests that must write into a server are deselected there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.options import config_dir, reports_dir, time_scale
from obsgate.reports.environment import gate_facts
from obsgate.sinks.service import SinkClient
from obsgate.stack import prometheus as prom
from obsgate.stack import redis as rd
from obsgate.stack.alerting_stack import (
    AlertingStackSettings,
    start_alertmanager,
    start_prometheus,
    start_sink,
)
from obsgate.stack.backends import backend_named, resolve_backend
from obsgate.stack.endpoint import (
    AlertmanagerEndpoint,
    AppEndpoint,
    Endpoint,
    JaegerEndpoint,
    KafkaEndpoint,
    PrometheusEndpoint,
)
from obsgate.stack.process import free_port
from obsgate.stack.registry import run_registry
from obsgate.stack.spec import Backend

E = TypeVar("E", bound=Endpoint)


def external(pytestconfig: pytest.Config, service: str, kind: type[E] = Endpoint) -> E:  # type: ignore[assignment]
    """An endpoint from `--<service>-url` (staging): nothing is started."""
    url = pytestconfig.getoption(f"{service}_url")
    if not url:
        raise GateError(f"--stack external needs --{service}-url (or OBS_{service.upper()}_URL)")
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        raise GateError(f"--{service}-url {url!r} must be scheme://host:port")
    return kind(
        service=service,
        host=parts.hostname,
        port=parts.port,
        backend="external",
        scheme=parts.scheme,
    )


def alerting_settings(config: pytest.Config) -> AlertingStackSettings:
    return AlertingStackSettings(config=ObsConfig(config_dir(config)), factor=time_scale(config))


def lane_stack(
    config: pytest.Config, factor: float, alerts: frozenset[str]
) -> tuple[PrometheusEndpoint, AlertmanagerEndpoint]:
    """Prometheus and Alertmanager of a time-scale lane (obsgate/scenarios/lanes.py): the
    rules of the `alerts` its scenarios replay and the config's timings, divided by
    `factor`, notifying the run's one sink."""
    settings = replace(
        alerting_settings(config),
        factor=factor,
        write_config=partial(prom.write_live_config, alerts=alerts),
        prefix=f"lane{factor:g}-",
        shared_sink=True,
    )
    registry, backend = run_registry(), run_backend(config)
    alertmanager = start_alertmanager(registry, backend, settings)
    return start_prometheus(registry, backend, settings, alertmanager), alertmanager


def run_backend(config: pytest.Config) -> Backend:
    return backend_named(config.getoption("stack"))


@pytest.fixture(scope="session")
def gate_workdir() -> Path:
    """A private work dir of this process inside the run dir (0700): adapted configs hold
    substituted secrets, so they live only where the run's owner removes them at the end,
    on SIGTERM too, and the run guard after a SIGKILL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = Path(os.environ["OBS_GATE_RUN_DIR"]) / f"work-{worker}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def obs_config(pytestconfig: pytest.Config) -> ObsConfig:
    return ObsConfig(config_dir(pytestconfig))


@pytest.fixture(scope="session")
def stack_backend(pytestconfig: pytest.Config) -> str:
    return resolve_backend(pytestconfig.getoption("stack"))


@pytest.fixture(scope="session", name="time_scale")
def time_scale_fixture(pytestconfig: pytest.Config) -> float:
    return time_scale(pytestconfig)


@pytest.fixture(scope="session")
def capture_sink(pytestconfig: pytest.Config, stack_backend: str) -> SinkClient:
    """The one sink that stands in for Slack, PagerDuty and webhooks, shared by the run."""
    if stack_backend == "external":
        raise GateError(
            "the capture sink belongs to a local stack; against --stack external "
            "the tests that need it are deselected (marker `writes`)"
        )
    return SinkClient(start_sink(run_registry(), alerting_settings(pytestconfig)))


@pytest.fixture(scope="session")
def alertmanager(pytestconfig: pytest.Config, stack_backend: str) -> AlertmanagerEndpoint:
    """Alertmanager running the config's own alertmanager.yaml, adapted to notify the sink."""
    if stack_backend == "external":
        return external(pytestconfig, "alertmanager", AlertmanagerEndpoint)
    port = pytestconfig.stash.get(_ALERTMANAGER_PORT, None)
    settings = alerting_settings(pytestconfig)
    return start_alertmanager(run_registry(), run_backend(pytestconfig), settings, port)


@pytest.fixture(scope="session")
def prometheus(
    pytestconfig: pytest.Config, stack_backend: str, alertmanager: AlertmanagerEndpoint
) -> PrometheusEndpoint:
    """Prometheus with the config's rules time-scaled and a file_sd job for test targets."""
    if stack_backend == "external":
        return external(pytestconfig, "prometheus", PrometheusEndpoint)
    settings = alerting_settings(pytestconfig)
    return start_prometheus(run_registry(), run_backend(pytestconfig), settings, alertmanager)


def _quietly(start: Callable[..., object], *args: object) -> None:
    """Run `start` in a warm-up thread: a failure is the registry's to report, once, to the
    tests that need the server, not a thread traceback."""
    with contextlib.suppress(Exception):
        start(*args)


def _warm_up(config: pytest.Config) -> None:
    """Prometheus beside Alertmanager, not after it: Prometheus needs only the address it
    will alert to, and its first target discovery comes on a fixed tick from its start.
    Under xdist a worker joins what another started. A failure is not lost: the fixtures
    ask the registry again and raise what it recorded."""
    backend, settings, registry = run_backend(config), alerting_settings(config), run_registry()
    with contextlib.suppress(Exception):
        if hasattr(config, "workerinput"):
            start_prometheus(
                registry, backend, settings, start_alertmanager(registry, backend, settings)
            )
            return
        port = config.stash[_ALERTMANAGER_PORT]
        beside = threading.Thread(
            target=_quietly,
            args=(start_alertmanager, registry, backend, settings, port),
            daemon=True,
        )
        beside.start()
        address = AlertmanagerEndpoint(
            service="alertmanager", host="127.0.0.1", port=port, backend=backend.name
        )
        start_prometheus(registry, backend, settings, address)
        beside.join()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """The warm-up: once the selection is known, if a selected test needs Prometheus, it and
    Alertmanager start in the background while the first tests (promtool, static checks)
    run. Driven by the tests' `needs` markers; nothing starts for a run that needs neither."""
    config = session.config
    if config.option.collectonly or resolve_backend(config.getoption("stack")) == "external":
        return
    needs = {name for item in session.items for m in item.iter_markers("needs") for name in m.args}
    if "prometheus" in needs:
        # Chosen now, before any fixture can ask: Prometheus is told this address at once.
        config.stash.setdefault(_ALERTMANAGER_PORT, free_port())
        threading.Thread(target=_warm_up, args=(config,), name="warm-up", daemon=True).start()


_ALERTMANAGER_PORT = pytest.StashKey[int]()


def session_server(
    pytestconfig: pytest.Config,
    service: str,
    start: Callable[[Backend, Path], E],
    kind: type[E] = Endpoint,  # type: ignore[assignment]
) -> E:
    """The run's `service`: by URL against --stack external, else started once per run."""
    if resolve_backend(pytestconfig.getoption("stack")) == "external":
        return external(pytestconfig, service, kind)
    backend = run_backend(pytestconfig)
    return run_registry().get_or_start(service, lambda workdir: start(backend, workdir))


@pytest.fixture(scope="session")
def redis(pytestconfig: pytest.Config) -> Endpoint:
    return session_server(pytestconfig, "redis", rd.start)


@pytest.fixture(scope="session")
def kafka(pytestconfig: pytest.Config) -> KafkaEndpoint:
    """One KRaft broker; clients bootstrap from `kafka.bootstrap`."""
    from obsgate.stack import kafka as kf

    return session_server(pytestconfig, "kafka", kf.start, KafkaEndpoint)


@pytest.fixture(scope="session")
def elasticsearch(pytestconfig: pytest.Config) -> Endpoint:
    """One Elasticsearch node; suites use its plain REST API (_bulk, _search) at its URL."""
    from obsgate.stack import elasticsearch as es

    return session_server(pytestconfig, "elasticsearch", es.start)


@pytest.fixture(scope="session")
def jaeger(pytestconfig: pytest.Config) -> JaegerEndpoint:
    """Jaeger v2, memory storage: the query API at its URL, OTLP in at `otlp_http`."""
    from obsgate.stack import jaeger as jg

    return session_server(pytestconfig, "jaeger", jg.start, JaegerEndpoint)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against an external stack, deselect tests that must write into its servers."""
    if resolve_backend(config.getoption("stack")) != "external":
        return
    keep, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("writes") else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        for item in dropped:
            reason = item.get_closest_marker("writes").args[0]
            line = f"deselected on --stack external: {item.nodeid}: {reason}"
            if reporter:
                reporter.write_line(line)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """What judged this run: config dir, backend, versions, time scale, Hypothesis seed (the
    same facts as the HTML report's Environment table and reports/index.html)."""
    return [f"{k}: {v}" for k, v in gate_facts(config).items()]


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if hasattr(config, "workerinput") or "OBS_GATE_RUN_DIR" not in os.environ:
        return
    started = run_registry().named()
    if started:
        terminalreporter.section("servers used")
        for name, ep in started:
            terminalreporter.write_line(f"{name}: {ep.url} ({ep.backend}) {ep.version}")
    for name, ep in started:
        if isinstance(ep, AppEndpoint) and ep.changes:
            terminalreporter.section(f"{name}: the seed's TypeScript as built for the gate")
            for line in ep.changes:
                terminalreporter.write_line(f"- {line}")
        if isinstance(ep, AlertmanagerEndpoint) and ep.changes:
            terminalreporter.section(f"{name} config as adapted for the gate")
            for line in ep.changes:
                terminalreporter.write_line(f"- {line}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's owner stops every server and keeps their logs in reports/logs."""
    if hasattr(config, "workerinput") or "OBS_GATE_RUN_DIR" not in os.environ:
        return
    if os.environ.get("OBS_GATE_OWNER_PID") != str(os.getpid()):
        return  # a nested pytest (the gate's own tests) must not stop its parent's servers
    registry = run_registry()
    registry.stop_all()
    logs = reports_dir(config) / "logs"
    for name, ep in registry.named():
        if ep.log_path and Path(ep.log_path).exists():
            logs.mkdir(parents=True, exist_ok=True)
            shutil.copy(ep.log_path, logs / f"{name}.log")
    shutil.rmtree(registry.run_dir, ignore_errors=True)
