"""Redis as a local process: no persistence, bound to 127.0.0.1, ready when it answers PING."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import free_port
from obsgate.stack.spec import Backend, Command, Readiness, ServerSpec
from obsgate.tools import find_binary
from obsgate.tools.identity import proven


def redis_binary() -> str:
    found = find_binary(["redis-server"], "REDIS_SERVER_BIN", "redis-server")
    env = "REDIS_SERVER_BIN" if os.environ.get("REDIS_SERVER_BIN") else ""
    return proven("redis-server", found, env)


def ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def server_args(workdir: Path, port: int) -> list[str]:
    """The flags both backends give Redis: 127.0.0.1 only, nothing persisted."""
    return [
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--protected-mode",
        "yes",
    ]


def spec(workdir: Path) -> ServerSpec:
    """Redis on a free 127.0.0.1 port; ready when it answers PING (in a container, after
    it logs that it accepts connections)."""
    port = free_port()
    args = server_args(workdir, port)
    return ServerSpec(
        service="redis",
        workdir=workdir,
        port=port,
        scheme="redis",
        process=lambda: Command(argv=[redis_binary(), *args]),
        container=Command(argv=["redis-server", *args]),
        ready=Readiness(
            what=f"Redis to answer PING on 127.0.0.1:{port}",
            probe=lambda: ping(port),
            log_line="Ready to accept connections",
        ),
    )


def start(backend: Backend, workdir: Path) -> Endpoint:
    started = backend.start(spec(workdir))
    return Endpoint.from_started(
        "redis",
        started,
        scheme="redis",
    )
