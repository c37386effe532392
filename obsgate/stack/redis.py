"""Redis as a local process: no persistence, bound to 127.0.0.1, ready when it answers PING."""

from __future__ import annotations

import socket
from pathlib import Path

from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import ManagedProcess, binary_version, free_port
from obsgate.tools import find_binary


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


def start_process(workdir: Path) -> Endpoint:
    binary = find_binary(["redis-server"], "REDIS_SERVER_BIN", "redis-server")
    port = free_port()
    proc = ManagedProcess("redis", [binary, *server_args(workdir, port)], workdir).start()
    proc.wait_ready(lambda: ping(port), f"Redis to answer PING on 127.0.0.1:{port}")
    return Endpoint(
        "redis",
        "127.0.0.1",
        port,
        "process",
        scheme="redis",
        version=binary_version(binary),
        log_path=str(proc.log_path),
        pid=proc.pid,
    )


def start_container(workdir: Path) -> Endpoint:
    """Redis from its image on the host network, the same flags as the process backend;
    ready when it logs so and answers PING (redis-cli in the container)."""
    from testcontainers.core.wait_strategies import ExecWaitStrategy

    from obsgate.stack import containers as ct

    port = free_port()
    container = ct.GateContainer("redis", workdir, ["redis-server", *server_args(workdir, port)])
    ping_cli = ExecWaitStrategy(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "ping"])
    ready = ct.ServerReady(
        "Ready to accept connections", ping_cli, f"PONG from redis-cli -p {port} ping"
    )
    return container.start_guarded(port, ready, scheme="redis")
