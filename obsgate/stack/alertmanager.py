"""Alertmanager as a local process, clustering off (its 9094 collides with Kafka's ports).

It runs the config under test, adapted by AlertmanagerConfigAdapter to notify the capture
sink; this module only starts the server with the dict it is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from obsgate.stack.endpoint import Endpoint
from obsgate.stack.loopback import require_loopback
from obsgate.stack.process import ManagedProcess, binary_version, free_port
from obsgate.tools import find_binary


def alertmanager_binary() -> str:
    return find_binary(
        ["alertmanager", "prometheus-alertmanager"], "ALERTMANAGER_BIN", "prometheus-alertmanager"
    )


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


def start_process(
    workdir: Path, config: dict[str, Any], source: str, port: int | None = None
) -> Endpoint:
    """Run Alertmanager with `config` on `port` (a free 127.0.0.1 port if None); ready when
    /-/ready answers."""
    config_path = write_config(workdir, config, source)
    binary = alertmanager_binary()
    port = port or free_port()
    proc = ManagedProcess(
        "alertmanager", [binary, *server_args(config_path, workdir, port)], workdir
    ).start()
    proc.wait_http(f"http://127.0.0.1:{port}/-/ready")
    return Endpoint(
        "alertmanager",
        "127.0.0.1",
        port,
        "process",
        version=binary_version(binary),
        log_path=str(proc.log_path),
        pid=proc.pid,
        extras={"config": str(config_path)},
    )


def start_container(
    workdir: Path, config: dict[str, Any], source: str, port: int | None = None
) -> Endpoint:
    """Alertmanager from its image on the host network, the same flags as the process backend,
    the config's template dirs mounted read-only at their own paths; ready at /-/ready."""
    from obsgate.stack import containers as ct

    config_path = write_config(workdir, config, source)
    port = port or free_port()
    templates = {Path(glob).parent for glob in config.get("templates") or []}
    container = ct.GateContainer(
        "alertmanager",
        workdir,
        server_args(config_path, workdir, port),
        read_only=sorted(t for t in templates if t.is_dir()),
    )
    ready = ct.ServerReady(
        "Listening on",
        ct.LoopbackHttpWaitStrategy(port, "/-/ready"),
        f"200 from http://127.0.0.1:{port}/-/ready",
    )
    extras = {"config": str(config_path)}
    return container.start_guarded(port, ready, extras=extras)
