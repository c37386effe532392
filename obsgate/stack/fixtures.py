"""Session fixtures, one per service: each yields an Endpoint, whatever backend made it.

The process backend starts a service on first use, once per run (also under xdist); the
owner of the run stops them all at the end. `--stack external` takes URLs instead, for a
staging deployment; tests that must write into a server are deselected there.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.options import config_dir, reports_dir
from obsgate.sinks import service as sink_service
from obsgate.sinks.service import SinkClient
from obsgate.stack import alertmanager as am
from obsgate.stack import prometheus as prom
from obsgate.stack import redis as rd
from obsgate.stack.alertmanager_config import AlertmanagerConfigAdapter
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import free_port
from obsgate.stack.registry import StackRegistry
from obsgate.stack.versions import binary_versions

try:  # pytest-html's Environment table comes from pytest-metadata
    from pytest_metadata.plugin import metadata_key
except ImportError:  # pragma: no cover - pytest-html is a dependency
    metadata_key = None


DOCKER_SOCKET = "/var/run/docker.sock"


@functools.cache
def resolve_backend(requested: str) -> str:
    """`auto` is containers where a Docker daemon answers and the image of every server a run
    may start is present (all six: the header is written before collection says which a run
    needs, and a half-containerised run would fail at the first missing one), else process;
    asked once per process, so the report header and the fixtures agree."""
    if requested != "auto":
        return requested
    configured = any(os.environ.get(v) for v in ("DOCKER_HOST", "DOCKER_CONTEXT"))
    if not configured and not Path(DOCKER_SOCKET).exists():
        return "process"  # no daemon to ask: spare the import of docker (0.3 s a run)
    from obsgate.stack import containers  # imports docker and testcontainers: only for auto

    return "containers" if containers.unavailable_reason(containers.IMAGES) is None else "process"


def run_registry() -> StackRegistry:
    return StackRegistry(Path(os.environ["OBS_GATE_RUN_DIR"]))


def external(pytestconfig: pytest.Config, service: str) -> Endpoint:
    url = pytestconfig.getoption(f"{service}_url")
    if not url:
        raise GateError(f"--stack external needs --{service}-url (or OBS_{service.upper()}_URL)")
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        raise GateError(f"--{service}-url {url!r} must be scheme://host:port")
    return Endpoint(service, parts.hostname, parts.port, "external", scheme=parts.scheme)


@pytest.fixture(scope="session")
def obs_config(pytestconfig: pytest.Config) -> ObsConfig:
    return ObsConfig(config_dir(pytestconfig))


@pytest.fixture(scope="session")
def stack_backend(pytestconfig: pytest.Config) -> str:
    return resolve_backend(pytestconfig.getoption("stack"))


@pytest.fixture(scope="session")
def time_scale(pytestconfig: pytest.Config) -> float:
    return float(pytestconfig.getoption("time_scale"))


@pytest.fixture(scope="session")
def capture_sink(stack_backend: str) -> SinkClient:
    """The one sink that stands in for Slack, PagerDuty and webhooks, shared by the run."""
    if stack_backend == "external":
        raise GateError(
            "the capture sink belongs to a local stack; against --stack external "
            "the tests that need it are deselected (marker `writes`)"
        )
    return SinkClient(run_registry().get_or_start("sink", sink_service.start_process))


def start_alertmanager(config: pytest.Config) -> Endpoint:
    """The run's Alertmanager (running the config's alertmanager.yaml, adapted to notify the
    sink), started once per run by whichever process asks first, on the port that the early
    start promised Prometheus if there was one."""
    obs_config = ObsConfig(config_dir(config))
    time_scale = float(config.getoption("time_scale"))
    backend = resolve_backend(config.getoption("stack"))

    def start(workdir: Path) -> Endpoint:
        sink_endpoint = run_registry().get_or_start("sink", sink_service.start_process)
        adapter = AlertmanagerConfigAdapter(obs_config, sink_endpoint.url, time_scale)
        source = str(obs_config.path("alertmanager/alertmanager.yaml"))
        start_server = am.start_container if backend == "containers" else am.start_process
        port = config.stash.get(_ALERTMANAGER_PORT, None)
        endpoint = start_server(workdir, adapter.adapted(), source, port)
        (workdir / "adaptation.txt").write_text("\n".join(adapter.changes) + "\n")
        return replace(endpoint, extras={**endpoint.extras, "changes": adapter.changes})

    return run_registry().get_or_start("alertmanager", start)


def start_prometheus(config: pytest.Config, alertmanager: Endpoint) -> Endpoint:
    """The run's Prometheus: the config's rules time-scaled, a file_sd job for test targets,
    alerting to `alertmanager` (its address is all it needs: it may still be starting)."""
    obs_config = ObsConfig(config_dir(config))
    time_scale = float(config.getoption("time_scale"))
    backend = resolve_backend(config.getoption("stack"))

    def start(workdir: Path) -> Endpoint:
        config_path = prom.write_live_config(obs_config, time_scale, workdir, alertmanager)
        extras = {
            "file_sd_dir": str(workdir / "file_sd"),
            "time_scale": time_scale,
            "config": str(config_path),
        }
        start_server = prom.start_container if backend == "containers" else prom.start_process
        return start_server(workdir, config_path, time_scale, extras)

    return run_registry().get_or_start("prometheus", start)


@pytest.fixture(scope="session")
def alertmanager(pytestconfig: pytest.Config, stack_backend: str) -> Endpoint:
    """Alertmanager running the config's own alertmanager.yaml, adapted to notify the sink."""
    if stack_backend == "external":
        return external(pytestconfig, "alertmanager")
    return start_alertmanager(pytestconfig)


@pytest.fixture(scope="session")
def prometheus(pytestconfig: pytest.Config, stack_backend: str, alertmanager: Endpoint) -> Endpoint:
    """Prometheus with the config's rules time-scaled and a file_sd job for test targets."""
    if stack_backend == "external":
        return external(pytestconfig, "prometheus")
    return start_prometheus(pytestconfig, alertmanager)


def selected(item: pytest.Item) -> bool:
    """Whether -k and -m will keep `item`, judged by pytest's own matchers before collection
    ends; False where they cannot be imported (the servers then start at first use)."""
    try:
        from _pytest.mark import KeywordMatcher, MarkMatcher
        from _pytest.mark.expression import Expression
    except ImportError:  # pragma: no cover - a pytest that moved them
        return False
    keyword, marks = item.config.option.keyword.strip(), item.config.option.markexpr
    try:
        if keyword and not Expression.compile(keyword).evaluate(KeywordMatcher.from_item(item)):
            return False
        return not marks or Expression.compile(marks).evaluate(
            MarkMatcher.from_markers(item.iter_markers())
        )
    except Exception:  # a malformed expression: pytest reports it after collection
        return False


def _start_early(config: pytest.Config) -> None:
    """Prometheus, the critical one (its first scrape comes 5 s after it starts), beside
    Alertmanager and the sink rather than after them. Under xdist in turn: another worker
    may start Alertmanager, on a port of its own choosing."""
    # A failure is not lost: the fixtures ask the registry again and raise what it recorded.
    with contextlib.suppress(Exception):
        if hasattr(config, "workerinput"):
            start_prometheus(config, start_alertmanager(config))
            return
        port = config.stash.setdefault(_ALERTMANAGER_PORT, free_port())
        beside = threading.Thread(target=start_alertmanager, args=(config,), daemon=True)
        beside.start()
        start_prometheus(config, Endpoint("alertmanager", "127.0.0.1", port, "process"))
        beside.join()


def pytest_itemcollected(item: pytest.Item) -> None:
    """The first selected test that needs Prometheus starts it and Alertmanager in the
    background, so that their start, and Prometheus' first target discovery (on a fixed 5 s
    tick from its start), overlap the rest of collection instead of following it."""
    config = item.config
    needs = {name for mark in item.iter_markers("needs") for name in mark.args}
    if "prometheus" not in needs or config.option.collectonly or config.stash.get(_EARLY_START, 0):
        return
    if resolve_backend(config.getoption("stack")) == "external" or not selected(item):
        return
    config.stash[_EARLY_START] = True
    threading.Thread(target=_start_early, args=(config,), name="early-start", daemon=True).start()


_EARLY_START = pytest.StashKey[bool]()
_ALERTMANAGER_PORT = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def redis(pytestconfig: pytest.Config, stack_backend: str) -> Endpoint:
    if stack_backend == "external":
        return external(pytestconfig, "redis")
    start_server = rd.start_container if stack_backend == "containers" else rd.start_process
    return run_registry().get_or_start("redis", start_server)


@pytest.fixture(scope="session")
def kafka(pytestconfig: pytest.Config, stack_backend: str) -> Endpoint:
    """One KRaft broker; bootstrap servers are f"{kafka.host}:{kafka.port}"."""
    from obsgate.stack import kafka as kf

    if stack_backend == "external":
        return external(pytestconfig, "kafka")
    start_server = kf.start_container if stack_backend == "containers" else kf.start_process
    return run_registry().get_or_start("kafka", start_server)


@pytest.fixture(scope="session")
def elasticsearch(pytestconfig: pytest.Config, stack_backend: str) -> Endpoint:
    """One Elasticsearch node; suites use its plain REST API (_bulk, _search) at its URL."""
    from obsgate.stack import elasticsearch as es

    if stack_backend == "external":
        return external(pytestconfig, "elasticsearch")
    start_server = es.start_container if stack_backend == "containers" else es.start_process
    return run_registry().get_or_start("elasticsearch", start_server)


@pytest.fixture(scope="session")
def jaeger(pytestconfig: pytest.Config, stack_backend: str) -> Endpoint:
    """Jaeger v2, memory storage: the query API at its URL, OTLP in at extras otlp_http/grpc."""
    from obsgate.stack import jaeger as jg

    if stack_backend == "external":
        return external(pytestconfig, "jaeger")
    start_server = jg.start_container if stack_backend == "containers" else jg.start_process
    return run_registry().get_or_start("jaeger", start_server)


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
    """What judged this run: config dir, backend, versions, time scale, Hypothesis seed."""
    stack = config.getoption("stack")
    versions = binary_versions()
    seed = config.getoption("hypothesis_seed", default=None)
    header = {
        "obs-config": str(config_dir(config)),
        "stack": f"{resolve_backend(stack)} (requested {stack})",
        "versions": ", ".join(f"{name} {v}" for name, v in versions.items()),
        "time scale (live layer)": "every rule duration divided by "
        f"{config.getoption('time_scale'):g}",
        "hypothesis seed": str(seed) if seed is not None else "random (printed on failure)",
    }
    metadata = config.stash.get(metadata_key, None) if metadata_key else None
    if metadata is not None:  # the HTML report's Environment table
        metadata.update({f"gate {k}": v for k, v in header.items()})
    return [f"{k}: {v}" for k, v in header.items()]


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if hasattr(config, "workerinput") or "OBS_GATE_RUN_DIR" not in os.environ:
        return
    started = run_registry().started()
    if started:
        terminalreporter.section("servers used")
        for ep in started:
            terminalreporter.write_line(f"{ep.service}: {ep.url} ({ep.backend}) {ep.version}")
    for ep in started:
        if ep.extras.get("changes"):
            terminalreporter.section(f"{ep.service} config as adapted for the gate")
            for line in ep.extras["changes"]:
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
    for ep in registry.started():
        if ep.log_path and Path(ep.log_path).exists():
            logs.mkdir(parents=True, exist_ok=True)
            shutil.copy(ep.log_path, logs / f"{ep.service}.log")
    shutil.rmtree(registry.run_dir, ignore_errors=True)
