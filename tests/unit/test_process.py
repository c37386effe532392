"""Processes (obsgate/stack/process.py, guard.py, redis.py): ManagedProcess, the guard
that ends a server when its owner dies, and the process backend's Redis, run for real:
a fake would only repeat our own assumptions."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obsgate.errors import ServiceError
from obsgate.stack import redis as rd
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.crashes import unless_a_server_died
from obsgate.stack.process import (
    SERVER_PORTS_FROM,
    ManagedProcess,
    _claim,
    free_port,
    stop_process_group,
)
from obsgate.tools import cache_root, find_binary
from obsgate.wait import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]
GUARD = REPO_ROOT / "obsgate" / "stack" / "guard.py"


def gone_within(pid: int, seconds: float) -> bool:
    """True once `pid` no longer exists (an orphan may take a moment to be reaped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _redis_info_pid(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"INFO server\r\n")
        data = b""
        while b"process_id:" not in data or not data.endswith(b"\r\n"):
            data += sock.recv(65536)
    return int(re.search(rb"process_id:(\d+)", data).group(1))  # type: ignore[union-attr]


# Another gate process: claims what it can of 4000 server ports, says which, then waits.
CLAIM_AND_WAIT = """
import json, time
from obsgate.stack.process import SERVER_PORTS_FROM, _claim
ports = range(SERVER_PORTS_FROM, SERVER_PORTS_FROM + 4000)
print(json.dumps([p for p in ports if _claim(p)]), flush=True)
time.sleep(60)
"""


def test_redis_start_process_answers_ping(tmp_path: Path) -> None:
    """The process backend's Redis: on loopback, ready when it says so, stoppable by its pid."""
    endpoint = rd.start(ProcessBackend(), tmp_path)
    try:
        assert endpoint.host == "127.0.0.1"
        assert rd.ping(endpoint.port)
        assert endpoint.log_path and Path(endpoint.log_path).exists()
        assert "Redis" in endpoint.version
        server_pid = _redis_info_pid(endpoint.port)
    finally:
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)
    assert gone_within(endpoint.pid, 3)
    assert gone_within(server_pid, 3)


def test_managed_process_stop_leaves_no_process(tmp_path: Path) -> None:
    """stop() ends the guard and the server under it, not only the process we started."""
    port = free_port()
    binary = find_binary(["redis-server"], "REDIS_SERVER_BIN", "redis-server")
    proc = ManagedProcess(
        "redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""], tmp_path
    ).start()
    try:
        proc.wait_ready(lambda: rd.ping(port), f"Redis PING on {port}", timeout=30)
        server_pid = _redis_info_pid(port)
    finally:
        proc.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)
    assert gone_within(server_pid, 3)


def test_readiness_timeout_names_what_it_waited_for(tmp_path: Path) -> None:
    proc = ManagedProcess("sleeper", ["sleep", "30"], tmp_path).start()
    try:
        with pytest.raises(
            ServiceError, match=r"gave up after 1 s waiting for sleeper to be ready \(the moon\)"
        ):
            proc.wait_ready(lambda: False, "the moon", timeout=1)
        assert gone_within(proc.pid, 3), "a server that never got ready must not be left running"
    finally:
        proc.stop()


def test_process_that_exits_at_once_reports_its_status(tmp_path: Path) -> None:
    proc = ManagedProcess("falsy", ["false"], tmp_path).start()
    try:
        with pytest.raises(ServiceError, match=r"falsy exited with status 1 before the moon"):
            proc.wait_ready(lambda: False, "the moon", timeout=10)
    finally:
        proc.stop()


def _children(pid: int, timeout: float = 5) -> list[int]:
    """The child pids of `pid`, once it has one (the file is missing while it starts)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return eventually(
        lambda: [int(p) for p in children.read_text().split()],
        timeout=timeout,
        what=f"a child of pid {pid}",
        interval=0.05,
    )


def test_guard_ends_the_server_when_its_owner_dies() -> None:
    """A gate killed with SIGKILL must not leave a server bound to a port."""
    owner = subprocess.Popen(["sleep", "60"])
    guard = subprocess.Popen([sys.executable, str(GUARD), str(owner.pid), "--", "sleep", "60"])
    try:
        (server,) = _children(guard.pid)
        owner.kill()
        owner.wait()  # reaped: a zombie owner would still look alive to os.kill(pid, 0)
        assert gone_within(server, 3)
        guard.wait(timeout=3)
    finally:
        for p in (owner, guard):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_guard_usage_error() -> None:
    """Run wrongly, the guard says how to run it instead of starting something unguarded."""
    out = subprocess.run(
        [sys.executable, str(GUARD), "sleep", "1"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 2
    assert "usage: guard.py OWNER_PID [--report FILE] -- ARGV" in out.stderr


def test_free_port_is_below_the_ephemeral_range() -> None:
    """Below the range, no outgoing connection can take the port before the server binds."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(50)]
    assert all(SERVER_PORTS_FROM <= p < low for p in ports), ports
    assert len(set(ports)) == len(ports), ports  # never twice in one process


def test_free_port_is_not_repeated_by_a_seeded_random() -> None:
    """Hypothesis seeds the global `random` for each example: a server started inside one
    must not get the port an earlier one did (Jaeger got one port for two listeners)."""
    random.seed(1)
    first = free_port()
    random.seed(1)
    assert free_port() != first


def test_a_port_another_live_gate_process_claimed_is_not_handed_out() -> None:
    """Child gates run side by side, each picking its servers' ports before they bind: a
    port another live process claimed is never this one's; a dead claimer's is taken over."""
    child = subprocess.Popen([sys.executable, "-c", CLAIM_AND_WAIT], stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    claims = cache_root() / "port-claims"
    theirs: set[int] = set()
    try:
        assert child.stdout is not None
        theirs = set(json.loads(child.stdout.readline()))
        assert len(theirs) > 1000, "the other process claimed too few ports to tell"
        mine = {free_port() for _ in range(300)}  # about 90 of theirs if claims were ignored
        assert not mine & theirs, sorted(mine & theirs)
    finally:
        child.kill()
        child.wait()
    dead = min(theirs)
    assert (claims / str(dead)).read_text() == str(child.pid)
    assert _claim(dead), "a claim whose process is gone must be taken over"
    assert (claims / str(dead)).read_text() == str(os.getpid())
    for port in theirs - {dead}:
        (claims / str(port)).unlink(missing_ok=True)


def test_a_wait_ends_at_once_when_another_server_died(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's readiness on a dead Redis stops with the crash, not after its timeout."""
    monkeypatch.setenv("OBS_GATE_RUN_DIR", str(tmp_path))
    (tmp_path / "redis").mkdir()
    record = {"pid": 4242, "status": -9, "after": 3.5}
    (tmp_path / "redis" / "redis.exit.json").write_text(json.dumps(record))
    probe = unless_a_server_died(lambda: False, "refapp")
    with pytest.raises(ServiceError, match=r"stopped waiting for refapp: redis \(pid 4242\) was "
                       r"killed by SIGKILL 3.5 s into the run"):  # fmt: skip
        eventually(probe, timeout=30, what="refapp")  # not "gave up after 30 s"
