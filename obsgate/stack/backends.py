"""The two backends that start servers here: local processes and containers.

Both take any `ServerSpec` and return what they `Started`; `backend_named` turns the
`--stack` value into one. (`external` starts nothing: its endpoints come from URLs.)
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from obsgate.errors import GateError, ServiceError
from obsgate.stack.crashes import unless_a_server_died
from obsgate.stack.process import ManagedProcess
from obsgate.stack.spec import Backend, ServerSpec, Started

DOCKER_SOCKET = "/var/run/docker.sock"


def _run_version(argv: list[str]) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return out.stdout if out.stdout.strip() else out.stderr


class ProcessBackend:
    """The server as a local process under a guard (process.py), from the spec's `process`
    command; ready when its probe answers, or a ServiceError with its log tail."""

    name = "process"

    def start(self, spec: ServerSpec) -> Started:
        if spec.process is None:
            raise GateError(f"{spec.service} has no local command: run it with --stack containers")
        command = spec.process()
        proc = ManagedProcess(
            spec.service,
            command.argv,
            spec.workdir,
            env=dict(command.env),
            stdout_path=command.stdout_path,
        )
        proc.start(command.cwd)
        try:
            probe = unless_a_server_died(spec.ready.probe, spec.service)
            proc.wait_ready(probe, spec.ready.what, spec.ready.timeout)
        except ServiceError:
            proc.stop()  # a server that never got ready is not left running
            raise
        if spec.version_from_api is not None:
            version = spec.version_from_api()
        else:
            raw = _run_version(command.version_argv or [command.argv[0], "--version"])
            version = command.parse_version(raw)
        port = spec.port_after_ready() if spec.port_after_ready else spec.port
        return Started(
            backend=self.name, pid=proc.pid, log_path=proc.log_path, version=version, port=port
        )


class ContainersBackend:
    """The server in its image, with testcontainers, on the host network (containers.py),
    from the spec's `container` command."""

    name = "containers"

    def start(self, spec: ServerSpec) -> Started:
        from obsgate.stack import containers

        if spec.container is None:
            raise GateError(f"{spec.service} has no image command: run it with --stack process")
        return containers.start_spec(spec)


@functools.cache
def resolve_backend(requested: str) -> str:
    """`auto` is containers where a Docker daemon answers and the image of every server a run
    may start is present, else process; asked once per process, so the report header and
    the fixtures agree."""
    if requested != "auto":
        return requested
    configured = any(os.environ.get(v) for v in ("DOCKER_HOST", "DOCKER_CONTEXT"))
    if not configured and not Path(DOCKER_SOCKET).exists():
        return "process"  # no daemon to ask: spare the import of docker (0.3 s a run)
    from obsgate.stack import containers  # imports docker and testcontainers: only for auto

    return "containers" if containers.unavailable_reason(containers.IMAGES) is None else "process"


def backend_named(name: str) -> Backend:
    """The backend that starts servers for `--stack name` (auto resolved first)."""
    resolved = resolve_backend(name)
    if resolved == "process":
        return ProcessBackend()
    if resolved == "containers":
        return ContainersBackend()
    raise ServiceError(f"--stack {name}: servers are not started here, they are given by URL")
