"""The containers backend: testcontainers-python runs each server from an image.

Every container uses host networking and is told to listen on 127.0.0.1 at a free port, so
the test process and the containers reach each other on 127.0.0.1 only (the scrape
targets and the capture sink the test process serves included); nothing connects to a
Docker bridge address. The run dir is bind-mounted at its own absolute path, so a config
written for the process backend names the same paths inside the container: one
adaptation serves both backends. Removal is a guard process's (container_guard.py): it
follows the log into the run dir and removes the container when the run's owner stops
the stack or dies.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

# testcontainers reads these once, at import: Ryuk's image cannot be pulled here, and
# without the override it answers the bridge gateway as the container host.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")

import docker
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import (
    CompositeWaitStrategy,
    HttpWaitStrategy,
    LogMessageWaitStrategy,
)
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from obsgate.errors import ServiceError
from obsgate.stack.crashes import unless_a_server_died
from obsgate.stack.guard import alive
from obsgate.stack.process import log_tail, owner_pid, stop_process_group
from obsgate.stack.spec import ServerSpec, Started
from obsgate.tools.versions_line import ALERTMANAGER_VERSION, PROMETHEUS_VERSION, chosen_line

OWNER_LABEL = "mindweave-gate.owner-pid"
# Prometheus and Alertmanager follow --server-versions (obsgate/tools/versions_line.py): per
# line, the official image at that line's versions, and the variable scripts/build-images
# exports for its offline image. OBS_PROMETHEUS_IMAGE and OBS_ALERTMANAGER_IMAGE, when set,
# win on either line, as PROMETHEUS_BIN does for the process backend.
LINE_IMAGES: dict[str, dict[str, tuple[str, str]]] = {
    "current": {
        "prometheus": ("OBS_PROMETHEUS_CURRENT_IMAGE", f"prom/prometheus:v{PROMETHEUS_VERSION}"),
        "alertmanager": (
            "OBS_ALERTMANAGER_CURRENT_IMAGE",
            f"prom/alertmanager:v{ALERTMANAGER_VERSION}",
        ),
    },
    "debian": {
        "prometheus": ("OBS_PROMETHEUS_DEBIAN_IMAGE", "prom/prometheus:v2.42.0"),
        "alertmanager": ("OBS_ALERTMANAGER_DEBIAN_IMAGE", "prom/alertmanager:v0.25.0"),
    },
}
# The other servers: (env var, default image), the official images at the versions the
# process backend runs, so both backends give one result.
OTHER_IMAGES = {
    "redis": ("OBS_REDIS_IMAGE", "redis:7.0"),
    "kafka": ("OBS_KAFKA_IMAGE", "apache/kafka:4.4.0"),
    "elasticsearch": (
        "OBS_ELASTICSEARCH_IMAGE",
        "docker.elastic.co/elasticsearch/elasticsearch:7.10.2",
    ),
    "jaeger": ("OBS_JAEGER_IMAGE", "jaegertracing/jaeger:2.13.0"),
    # the services under test built with `build: node` (obsgate/services/declaration.py)
    "node": ("OBS_NODE_IMAGE", "node:20-bookworm-slim"),
}


class _Images(Mapping[str, tuple[str, str]]):
    """service -> (the variable that overrides its image, its default image), for the six
    servers; Prometheus' and Alertmanager's default is the chosen line's official image,
    read when asked, so the plugin's export of --server-versions is seen."""

    services = ("prometheus", "alertmanager", *OTHER_IMAGES)

    def __getitem__(self, service: str) -> tuple[str, str]:
        if service in OTHER_IMAGES:
            return OTHER_IMAGES[service]
        return f"OBS_{service.upper()}_IMAGE", LINE_IMAGES[chosen_line()][service][1]

    def __iter__(self) -> Iterator[str]:
        return iter(self.services)

    def __len__(self) -> int:
        return len(self.services)


IMAGES = _Images()
READY_TIMEOUT = 60.0
POLL_INTERVAL = 0.1


def build_images_env(service: str) -> str:
    """The variable scripts/build-images exports for `service`'s offline image (on the chosen
    line for Prometheus and Alertmanager); "" for an image a config names itself."""
    if service not in IMAGES.services:
        return ""
    if service in OTHER_IMAGES:
        return OTHER_IMAGES[service][0]
    return LINE_IMAGES[chosen_line()][service][0]


def image_for(service: str) -> str:
    """The override, else (Prometheus, Alertmanager) the chosen line's offline image as
    scripts/build-images exported it, else the default image. A name that is not one of
    IMAGES is an image reference a config gave for a service of its own: as it is."""
    if service not in IMAGES.services:
        return service
    env, default = IMAGES[service]
    line_env = build_images_env(service)
    return os.environ.get(env) or os.environ.get(line_env) or default


def docker_client() -> docker.DockerClient | None:
    """A client of a daemon that answers a ping within a few seconds, else None."""
    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except Exception:  # no socket, permission, a daemon that does not answer: all "no"
        return None
    return client


def missing_images(client: docker.DockerClient, services: Iterable[str]) -> list[str]:
    """The images of `services` not present locally (nothing is pulled here: no registry)."""
    missing = []
    for service in services:
        try:
            client.images.get(image_for(service))
        except docker.errors.ImageNotFound:
            missing.append(image_for(service))
    return missing


def unavailable_reason(services: Iterable[str]) -> str | None:
    """Why `--stack containers` cannot run `services` here, in one line; None if it can."""
    services = list(services)
    client = docker_client()
    if client is None:
        return (
            "--stack containers: no Docker daemon answers (DOCKER_HOST or "
            "/var/run/docker.sock); start one with scripts/start-dockerd"
        )
    try:
        missing = missing_images(client, services)
    finally:
        client.close()
    if missing:
        own = [image_for(s) for s in services if not build_images_env(s)]
        if own:
            return (
                f"--stack containers: not present locally (and no registry is used): "
                f"{', '.join(own)}, named by the config's services: build or load it first"
            )
        envs = ", ".join(build_images_env(s) for s in services)
        overrides = [IMAGES[s][0] for s in services if s not in OTHER_IMAGES]
        override = f" ({', '.join(overrides)} override it on either line)" if overrides else ""
        return (
            f"--stack containers: not present locally (and no registry is used): "
            f'{", ".join(missing)}; build them with `eval "$(scripts/build-images)"`, which '
            f"sets {envs}{override}"
        )
    return None


def sweep_orphans() -> list[str]:
    """Remove gate containers whose owner pytest is dead (a guard that was SIGKILLed too)."""
    client = docker_client()
    if client is None:
        return []
    removed = []
    try:
        for found in client.api.containers(all=True, filters={"label": OWNER_LABEL}):
            pid = int(found["Labels"].get(OWNER_LABEL, "0"))
            if pid > 0 and not alive(pid):
                with contextlib.suppress(docker.errors.NotFound):
                    client.api.remove_container(found["Id"], force=True)
                removed.append(found["Names"][0].lstrip("/"))
    finally:
        client.close()
    return removed


class LoopbackHttpWaitStrategy(HttpWaitStrategy):
    """testcontainers' HTTP wait at a fixed 127.0.0.1 URL: with host networking a container
    has no mapped ports, so the stock strategy's port lookup cannot work."""

    def __init__(self, port: int, path: str) -> None:
        super().__init__(port, path)
        self._url = f"http://127.0.0.1:{port}{self._path}"

    def _build_url(self, container: WaitStrategyTarget) -> str:
        return self._url


class ProbeWaitStrategy(WaitStrategy):
    """testcontainers' polling (timeout, interval, transient errors) around a check in the
    service's own protocol from 127.0.0.1, for an API that is not HTTP (Kafka's)."""

    def __init__(self, probe: Callable[[], bool], what: str) -> None:
        super().__init__()
        self.probe = probe
        self.what = what
        self.with_transient_exceptions(OSError)  # refused, reset: not listening yet

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        if not self._poll(self.probe):
            raise TimeoutError(f"no {self.what} within {self._startup_timeout:.0f} s")


class ServerReady(CompositeWaitStrategy):
    """The server's own "ready" log line if it has one (which also notices an early exit),
    then its API; `what` names both for the error when the wait gives up."""

    def __init__(
        self,
        log_line: str | None,
        api_check: WaitStrategy,
        api_what: str,
        timeout: float = READY_TIMEOUT,
    ) -> None:
        strategies = [LogMessageWaitStrategy(log_line)] if log_line else []
        super().__init__(*strategies, api_check)
        self.with_startup_timeout(timeout).with_poll_interval(POLL_INTERVAL)
        self.timeout = timeout
        self.what = f"{log_line!r} in its log, then {api_what}" if log_line else api_what


def server_version(container: DockerContainer) -> str:
    """The first line of `<server> --version` run in the container, for the report header;
    the server is the image's entrypoint (prom/*, jaeger) or the command's first word (redis).
    stdout first, as for a local binary: Jaeger logs to stderr before it prints its version."""
    config = container.get_wrapped_container().attrs["Config"]
    argv = (config.get("Entrypoint") or config.get("Cmd")[:1]) + ["--version"]
    stdout, stderr = container.get_wrapped_container().exec_run(argv, demux=True).output
    text = (stdout or stderr or b"").decode(errors="replace").strip()
    return text.splitlines()[0] if text else "unknown version"


class GateContainer(DockerContainer):
    """A server's container: host network, the test user, the run dir (and any read-only
    config dirs) mounted at the same absolute paths, labelled with the run's owner pid.
    No daemon or no image is a ServiceError naming the script that fixes it."""

    def __init__(self, spec: ServerSpec, command: list[str], cwd: Path | None = None) -> None:
        """`spec`'s image (its own, else the service's), running `command` in `cwd`."""
        service, workdir = spec.service, spec.workdir
        unavailable = unavailable_reason([spec.image or service])
        if unavailable:  # before the client exists: creating it fails obscurely
            raise ServiceError(unavailable)
        sweep_orphans()
        super().__init__(image_for(spec.image or service))
        self.service = service
        self.workdir = workdir
        self.name = f"mindweave-gate-{service}-{owner_pid()}-{uuid.uuid4().hex[:8]}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.with_command(command).with_name(self.name)
        self.with_volume_mapping(str(workdir), str(workdir), "rw")
        for path in spec.read_only:
            self.with_volume_mapping(str(path), str(path), "ro")
        self.with_kwargs(
            network_mode="host",
            user=f"{os.getuid()}:{os.getgid()}",
            labels={OWNER_LABEL: str(owner_pid()), "mindweave-gate.service": service},
            **({"working_dir": str(cwd)} if cwd is not None else {}),
        )

    def remove_now(self, guard: subprocess.Popen[bytes]) -> None:
        """A failed or interrupted start: stop the guard (it removes the container and ends
        its log), then make sure through the API too."""
        stop_process_group(guard.pid)
        guard.wait()
        with contextlib.suppress(docker.errors.APIError):  # gone already, or being removed
            self.get_docker_client().client.api.remove_container(self.name, force=True)

    def start_guarded(
        self,
        ready: ServerReady,
        version: Callable[[GateContainer], str] = server_version,
    ) -> tuple[subprocess.Popen[bytes], Path, str]:
        """Put the guard in place, start, wait until `ready`. The guard comes first, keyed by
        the container's name, so no moment exists where a dead owner leaves a container; the
        guard's pid is the one to stop (SIGTERM to it removes the container)."""
        log_path = self.workdir / f"{self.service}.log"
        guard = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("container_guard.py")),
                str(owner_pid()),
                self.name,
                str(log_path),
                str(self.workdir / f"{self.service}.exit.json"),  # a crash says so (crashes.py)
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C at the terminal reaches pytest, not the guard
        )
        try:
            armed = guard.stdout.readline() if guard.stdout else b""  # EOF if the guard died
            if armed.strip() != b"armed":
                raise ServiceError(f"{self.service}: the container guard did not start")
            self.start()  # testcontainers: create and start; the readiness wait follows
            ready.wait_until_ready(self)
            server = version(self)
        except (TimeoutError, RuntimeError, docker.errors.DockerException) as exc:
            self.remove_now(guard)
            first = str(exc).split(". ")[0]
            raise ServiceError(
                f"{self.service} container ({self.image}) not ready: waited (up to "
                f"{ready.timeout:.0f} s) for {ready.what}: {first}\n{log_tail(log_path)}"
            ) from None
        except BaseException:  # Ctrl-C while starting: the container goes too
            self.remove_now(guard)
            raise
        return guard, log_path, server


def exec_version(
    container: GateContainer, argv: list[str] | None, parse: Callable[[str], str]
) -> str:
    """The version printed by `argv` in the container (default: the server's --version);
    stdout first, as for a local binary: Jaeger logs to stderr before it prints its version."""
    if argv is None:
        return server_version(container)
    stdout, stderr = container.get_wrapped_container().exec_run(argv, demux=True).output
    return parse((stdout or stderr or b"").decode(errors="replace"))


def start_spec(spec: ServerSpec) -> Started:
    """Run `spec.container` in the service's image: the server's own ready log line, then the
    spec's probe from 127.0.0.1."""
    command = spec.container
    assert command is not None, spec.service
    argv = command.argv
    if command.stdout_path is not None:  # the file the log shipper tails, as for a process
        argv = ["sh", "-c", 'exec "$@" >>"$0"', str(command.stdout_path), *argv]
    container = GateContainer(spec, argv, command.cwd)
    for key, value in command.env.items():
        container.with_env(key, value)
    api = ProbeWaitStrategy(unless_a_server_died(spec.ready.probe, spec.service), spec.ready.what)
    ready = ServerReady(spec.ready.log_line, api, spec.ready.what, timeout=spec.ready.timeout)

    def version(started: GateContainer) -> str:
        if spec.version_from_api is not None:
            return spec.version_from_api()
        return exec_version(started, command.version_argv, command.parse_version)

    guard, log_path, server = container.start_guarded(ready, version)
    return Started(
        backend="containers",
        pid=guard.pid,
        log_path=log_path,
        version=f"{server} ({container.image})",
        port=spec.port_after_ready() if spec.port_after_ready else spec.port,
        container_id=container.get_container_id(),
        image=container.image,
    )
