"""What a server is, whichever backend runs it: a spec, started by one Backend.

A server module (prometheus.py, kafka.py, ...) writes its config into the work dir and
returns a `ServerSpec`: the command for a local process and for its image, the port it
listens on at 127.0.0.1, and how to tell it is ready. A `Backend` (process or containers,
in backends.py) starts any spec the same way and says what it started; no server module
and no fixture ever chooses a backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import requests


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "unknown version"


@dataclass(frozen=True, kw_only=True)
class Command:
    """How one backend runs the server: argv (for containers, the image's command), env, and
    what prints its version where it runs (default: argv[0] --version, or the image's
    entrypoint with --version)."""

    argv: list[str]
    env: Mapping[str, str] = field(default_factory=dict)
    version_argv: list[str] | None = None
    parse_version: Callable[[str], str] = first_line
    stdout_path: Path | None = None  # a server that logs to stdout: its log file
    cwd: Path | None = None  # its working dir (None: the spec's workdir)


@dataclass(frozen=True, kw_only=True)
class Readiness:
    """Ready when `probe` (run from 127.0.0.1, so for either backend) returns true; in a
    container, after the server's own `log_line` too. `what` names both for the error."""

    what: str
    probe: Callable[[], bool]
    log_line: str | None = None
    timeout: float = 60.0


def http_ok(url: str) -> Callable[[], bool]:
    """A probe: `url` answers 2xx (the service's own health or readiness endpoint)."""
    return lambda: requests.get(url, timeout=1).ok


@dataclass(frozen=True, kw_only=True)
class ServerSpec:
    """A server as data: `process` and `container` are the two ways to run the same thing
    over the same files in `workdir` (a container sees it at the same path). `process` is
    built when used: it looks up local binaries and jars, which a containers run lacks."""

    service: str
    workdir: Path
    port: int
    ready: Readiness
    process: Callable[[], Command] | None = None
    container: Command | None = None
    scheme: str = "http"
    read_only: tuple[Path, ...] = ()
    # Its image under --stack containers: a key of containers.IMAGES (default: the service's
    # own), or an image reference a config names for a service of its own.
    image: str = ""
    # Where the version is read from the server's API rather than a command (Elasticsearch).
    version_from_api: Callable[[], str] | None = None
    # The port the server really took, read after it is ready (the ES runner may move on).
    port_after_ready: Callable[[], int] | None = None


@dataclass(frozen=True, kw_only=True)
class Started:
    """What a backend started: the pid to stop (the process, or the container's guard), its
    log, its version, and the port it answers on."""

    backend: str
    pid: int
    log_path: Path
    version: str
    port: int
    container_id: str = ""
    image: str = ""


class Backend(Protocol):
    """Starts a spec and waits until it is ready; a failure is a ServiceError with the log."""

    name: str

    def start(self, spec: ServerSpec) -> Started: ...
