"""Alertmanager as a local process, clustering off (its 9094 collides with Kafka's ports).

It runs the config under test, adapted by AlertmanagerConfigAdapter to notify the capture
sink; this module only starts the server with the dict it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgate.stack.endpoint import AlertmanagerEndpoint
from obsgate.stack.loopback import require_loopback
from obsgate.stack.process import free_port
from obsgate.stack.spec import Backend, Command, Readiness, ServerSpec, http_ok
from obsgate.tools.versions_line import server_binary


def alertmanager_binary() -> str:
    """Alertmanager of the chosen --server-versions line (obsgate/tools/versions_line.py)."""
    return server_binary("alertmanager")


def write_config(workdir: Path, config: dict[str, Any], source: str) -> Path:
    """The adapted config, checked for non-loopback hosts, written where both backends read it."""
    require_loopback(config, "Alertmanager", source)
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_path


def server_args(config_path: Path, workdir: Path, port: int) -> list[str]:
    """The flags both backends give Alertmanager: 127.0.0.1 only, clustering off."""
    return [
        f"--config.file={config_path}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url=http://127.0.0.1:{port}",  # links in notifications stay local
        "--cluster.listen-address=",
    ]


def spec(workdir: Path, config_path: Path, port: int, templates: tuple[Path, ...]) -> ServerSpec:
    """Alertmanager on `port` of 127.0.0.1; the config's template dirs are mounted read-only
    at their own paths in a container. Ready when /-/ready answers."""
    args = server_args(config_path, workdir, port)
    ready = f"http://127.0.0.1:{port}/-/ready"
    return ServerSpec(
        service="alertmanager",
        workdir=workdir,
        port=port,
        process=lambda: Command(argv=[alertmanager_binary(), *args]),
        container=Command(argv=args),
        ready=Readiness(what=f"200 from {ready}", probe=http_ok(ready), log_line="Listening on"),
        read_only=templates,
    )


@dataclass(frozen=True, kw_only=True)
class AdaptedConfig:
    """The config Alertmanager runs, already adapted: `changes` says how, and `source` names
    the user's file it came from for the loopback check."""

    config: dict[str, Any]
    source: str
    changes: tuple[str, ...] = ()


def start(
    backend: Backend, workdir: Path, adapted: AdaptedConfig, *, port: int | None = None
) -> AlertmanagerEndpoint:
    """Run Alertmanager with the adapted config on `port`, a free 127.0.0.1 port if None."""
    config = adapted.config
    config_path = write_config(workdir, config, adapted.source)
    templates = {Path(glob).parent for glob in config.get("templates") or []}
    mounts = tuple(sorted(t for t in templates if t.is_dir()))
    started = backend.start(spec(workdir, config_path, port or free_port(), mounts))
    return AlertmanagerEndpoint.from_started(
        "alertmanager",
        started,
        config=str(config_path),
        changes=adapted.changes,
    )
