"""The `refapp` session fixture: the services under test as real processes, once per run.

The api-gateway and usage-tracker are the services under test (obsgate/services/contract.py:
the seed's TypeScript under Node), the upstream stub is `python -m obsgate.refapp.upstream`;
all under ManagedProcess, on free
127.0.0.1 ports, against the run's Redis (and Kafka and Jaeger when the stack provides
them), built from or reading the run's --obs-config.
The fixture yields the gateway's Endpoint; its extras say where everything else is.
With --app-url the gateway under test is that URL instead (staging): nothing is started.

The gateway Endpoint's extras:
  metrics_url                 the gateway's /metrics
  usage_tracker_metrics_url   the usage-tracker's /metrics (None without Kafka)
  upstream_url                the upstream stub (Claude API and MCP tools stand-in)
  upstream_control_url        its /control: PUT /faults (set_upstream_faults), GET /stats
  kafka_topic                 the usage-event topic (None without Kafka)
  log_files                   {"api-gateway": path, "usage-tracker": path}: JSON log lines
  config_dir                  the --obs-config dir the services read
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.services.contract import PORT, ServiceDef, ServicesUnderTest
from obsgate.services.declaration import services_under_test
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import AppEndpoint, Endpoint, JaegerEndpoint, KafkaEndpoint
from obsgate.stack.fixtures import run_backend
from obsgate.stack.process import free_port, stop_process_group
from obsgate.stack.registry import run_registry
from obsgate.stack.spec import Backend, Command, Readiness, ServerSpec, http_ok

USAGE_TOPIC = "usage-events"


def start_upstream(workdir: Path) -> AppEndpoint:
    """The upstream stub (`python -m obsgate.refapp.upstream`), ready when /health answers."""
    sdef = ServiceDef(
        name="upstream",
        argv=(sys.executable, "-m", "obsgate.refapp.upstream", "--port", PORT),
        ready_path="/health",
    )
    return start_under_contract(sdef, workdir, {})


def start_under_contract(
    sdef: ServiceDef,
    workdir: Path,
    wired: dict[str, str],
    changes: tuple[str, ...] = (),
    backend: Backend | None = None,
) -> AppEndpoint:
    """One service under test as its contract says: on a free port, its env wired to the
    run's servers by role, its logs where it writes them; ready when its ready path answers
    2xx. A service that exits first is a ServiceError with its stderr tail. On the
    containers backend a service with an image runs in it (its build and config mounted
    read-only at their own paths), any other as a local process."""
    port = free_port()
    app_log = workdir / f"{sdef.name}.jsonl"
    argv, env = sdef.command(port, wired)
    stdout_path = None
    if sdef.logs == "stdout":
        stdout_path = app_log
    else:
        env[sdef.logs] = str(app_log)
    url = f"http://127.0.0.1:{port}{sdef.ready_path}"
    command = Command(
        argv=argv,
        env=env,
        version_argv=["echo", f"{argv[0]} {argv[-1]}"],
        stdout_path=stdout_path,
        cwd=sdef.cwd,
    )
    in_image = backend is not None and backend.name == "containers" and bool(sdef.image)
    spec = ServerSpec(
        service=sdef.name,
        workdir=workdir,
        port=port,
        process=lambda: command,
        container=command if in_image else None,
        image=sdef.image,
        read_only=sdef.mounts,
        ready=Readiness(what=f"{sdef.name} to answer {url}", probe=http_ok(url), timeout=60),
    )
    started = (backend if in_image and backend is not None else ProcessBackend()).start(spec)
    return AppEndpoint.from_started(
        sdef.name,
        started,
        app_log=str(app_log),
        metrics_url=f"http://127.0.0.1:{port}{sdef.metrics_path}",
        changes=changes,
    )


def wiring(
    redis: Endpoint, kafka: KafkaEndpoint | None, jaeger: JaegerEndpoint | None, otlp: str
) -> dict[str, str]:
    """The run's servers by the contract's roles (otlp: Jaeger's receiver of that protocol)."""
    wired = {"redis": f"redis://{redis.host}:{redis.port}/0", "topic": USAGE_TOPIC}
    if kafka is not None:
        wired["kafka"] = kafka.bootstrap
    if jaeger is not None:
        wired["otlp"] = jaeger.otlp_http if otlp == "http" else f"http://{jaeger.otlp_grpc}"
    return wired


def start_refapp(
    services: ServicesUnderTest,
    redis: Endpoint,
    kafka: KafkaEndpoint | None,
    jaeger: JaegerEndpoint | None,
    backend: Backend | None = None,
) -> AppEndpoint:
    """Start (or join) the run's upstream stub, usage-tracker and gateway."""
    registry = run_registry()
    upstream = registry.get_or_start("refapp-upstream", start_upstream)
    tracker = None
    if kafka is not None:
        sdef = services.usage_tracker
        wired = wiring(redis, kafka, jaeger, sdef.otlp)
        tracker = registry.get_or_start(
            f"{services.kind}-usage-tracker",
            lambda wd: start_under_contract(sdef, wd, wired, backend=backend),
        )
    gw = services.gateway
    gw_wired = {**wiring(redis, kafka, jaeger, gw.otlp), "upstream": upstream.url}
    gateway = registry.get_or_start(
        f"{services.kind}-gateway",
        lambda wd: start_under_contract(gw, wd, gw_wired, services.changes, backend),
    )
    return replace(
        gateway,
        upstream_url=upstream.url,
        upstream_control_url=f"{upstream.url}/control",
        usage_tracker_metrics_url=tracker.metrics_url if tracker else "",
        kafka_topic=USAGE_TOPIC if kafka else "",
        log_files={
            "api-gateway": gateway.app_log,
            **({"usage-tracker": tracker.app_log} if tracker else {}),
        },
    )


@contextmanager
def private_gateway(
    services: ServicesUnderTest,
    redis: Endpoint,
    upstream_url: str,
    workdir: Path,
    backend: Backend | None = None,
) -> Iterator[AppEndpoint]:
    """A gateway of one test's own, for a test that floods it (thousands of path labels)
    so that the shared one stays as other suites expect it; stopped when the test ends."""
    sdef = services.gateway
    wired = {**wiring(redis, None, None, sdef.otlp), "upstream": upstream_url}
    gateway = start_under_contract(sdef, workdir, wired, backend=backend)
    try:
        yield gateway
    finally:
        assert gateway.pid is not None
        stop_process_group(gateway.pid)


def external_app(url: str) -> AppEndpoint:
    parts = urlsplit(url)
    if not parts.hostname:
        raise GateError(f"--app-url {url!r} must be scheme://host[:port]")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    base = f"{parts.scheme}://{parts.hostname}:{port}"
    return AppEndpoint(
        service="api-gateway",
        host=parts.hostname,
        port=port,
        backend="external",
        scheme=parts.scheme,
        metrics_url=f"{base}/metrics",
    )


def run_needs(session: pytest.Session, service: str) -> bool:
    """Does any selected test need `service` (marker `needs`, or `tracing` for jaeger)?
    Every xdist worker collects the same items, so all of them decide alike."""
    for item in session.items:
        if service == "jaeger" and item.get_closest_marker("tracing"):
            return True
        if any(service in m.args for m in item.iter_markers("needs")):
            return True
    return False


@pytest.fixture(scope="session")
def refapp(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config, obs_config: ObsConfig
) -> AppEndpoint:
    """The api-gateway under test: the reference app, or --app-url's deployment.

    Kafka (with the usage-tracker) and Jaeger are started for a run that selects a test
    needing them (marker `needs("kafka")`, `needs("jaeger")`; `tracing` implies Jaeger):
    the gateway serves without them (usage events answer 503 without Kafka, spans are
    not exported without Jaeger), and a run that needs neither does not wait for them.
    """
    url = pytestconfig.getoption("app_url")
    if url:
        return external_app(url)
    redis = request.getfixturevalue("redis")
    kafka, jaeger = (
        request.getfixturevalue(name) if run_needs(request.session, name) else None
        for name in ("kafka", "jaeger")
    )
    backend = run_backend(pytestconfig)
    return start_refapp(services_under_test(obs_config), redis, kafka, jaeger, backend)


def set_upstream_faults(app: AppEndpoint, scope: str = "", **faults: Any) -> dict[str, Any]:
    """Change the upstream stub's latency and error distribution now (fault injection):
    for every request, or with `scope` only for requests sent with the header
    x-mw-fault-scope: <scope> (isolation under pytest-xdist)."""
    control = app.upstream_control_url
    if not control:
        raise GateError("the app under test has no upstream stub to inject faults into")
    params = {"scope": scope} if scope else {}
    resp = requests.put(f"{control}/faults", json=faults, params=params, timeout=5)
    resp.raise_for_status()
    return resp.json()
