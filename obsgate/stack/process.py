"""The process backend: a server run from a local binary, bound to 127.0.0.1.

One class serves every service: it owns a work dir and a log file, waits for readiness
through the service's own API (bounded, naming what it waited for), and stops its whole
process group, on success, failure and Ctrl-C alike.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from obsgate.errors import ServiceError
from obsgate.stack.guard import alive
from obsgate.tools import cache_root
from obsgate.wait import eventually

# Servers' ports come from below the kernel's ephemeral range: a port there was free a moment
# ago and stays so until the server binds it, as no client socket is ever given one (a port
# the kernel picked from its range could go to any outgoing connection in between).
SERVER_PORTS_FROM = 20000
EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DRAW = random.SystemRandom()
_HANDED_OUT: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _claim(port: int) -> bool:
    """Claim `port` for this process among the gate's processes on the machine (child gates
    run side by side and each picks its servers' ports before they bind): a file named
    after the port holds the claimer's pid, and a claim whose process is gone is taken over.
    In the shared cache, not $TMPDIR, which a run may set for itself. Without a writable
    cache the port goes unclaimed (the server's bind is still the real check)."""
    claims = cache_root() / "port-claims"
    try:
        claims.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return True
    path = claims / str(port)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            try:
                owner = int(path.read_text() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner and owner != os.getpid() and alive(owner):
                return False
            path.unlink(missing_ok=True)  # the claimer is gone (or it was this process)
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))
        return True
    return False


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the server's bind is the real check),
    at random below the ephemeral range, never one this process handed out before (a
    server's several ports are picked before it binds any) nor one another live gate process
    claimed; the kernel's own pick if that range leaves none. The draw is the OS's, so a
    seeded `random` (Hypothesis seeds it for each example) cannot repeat it."""
    low = _ephemeral_low()
    if low - SERVER_PORTS_FROM >= 1000:
        for _ in range(64):
            port = _DRAW.randrange(SERVER_PORTS_FROM, low)
            if port not in _HANDED_OUT and _bindable(port) and _claim(port):
                _HANDED_OUT.add(port)
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def binary_version(binary: str) -> str:
    """The first line a server prints for --version, for the report header."""
    out = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unknown version"


def log_tail(path: Path | None, lines: int = 30) -> str:
    """The last lines of a service log, indented, for failure messages."""
    if path is None or not path.exists():
        return "    (no log)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    | {line}" for line in text) or "    (log is empty)"


def owner_pid() -> int:
    """The pytest process whose death must end the servers: the xdist controller if any."""
    return int(os.environ.get("OBS_GATE_OWNER_PID", os.getpid()))


class ManagedProcess:
    """A server process under a guard, with a log file and a bounded readiness wait."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        workdir: Path,
        env: dict[str, str] | None = None,
        stdout_path: Path | None = None,
    ):
        """`stdout_path`: a service that logs to stdout has its stdout there (the file the
        log shipper tails) and only its stderr in the log file."""
        self.name = name
        self.stdout_path = stdout_path
        self.argv = argv
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, cwd: Path | None = None) -> ManagedProcess:
        """Start under the guard, in `cwd` (default: the work dir)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        report = self.workdir / f"{self.name}.exit.json"  # a crash says so there (crashes.py)
        guard = [sys.executable, str(Path(__file__).with_name("guard.py")), str(owner_pid()),
                 "--report", str(report), "--"]  # fmt: skip
        out_path = self.stdout_path or self.log_path
        with self.log_path.open("ab") as log, out_path.open("ab") as out:
            self.proc = subprocess.Popen(
                guard + self.argv,
                stdout=out if self.stdout_path else log,
                stderr=log if self.stdout_path else subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd or self.workdir,
                env={**os.environ, **(self.env or {})},
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def wait_ready(self, probe: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        """Poll `probe` until it is true; a death or the timeout is a ServiceError with the log."""

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with status {self.proc.returncode} before {what}; "
                    f"command: {' '.join(self.argv)}\n{log_tail(self.log_path)}"
                )
            return probe()

        def stopped() -> str:
            self.stop()  # a server that never got ready is not left running
            return log_tail(self.log_path)

        eventually(
            ready, timeout=timeout, what=f"{self.name} to be ready ({what})", on_timeout=stopped
        )

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        """Ready when `url` answers 2xx: the service's own health or readiness endpoint."""
        self.wait_ready(
            lambda: requests.get(url, timeout=1).ok, f"{self.name} to answer {url}", timeout
        )

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc.pid)
            self.proc.wait()


def stop_process_group(pid: int, grace: float = 10.0) -> None:
    """SIGTERM a server's process group, then SIGKILL what is left after `grace` seconds."""
    stop_process_groups([pid], grace)


def _group_alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # reap our own child: no zombie
        os.waitpid(pid, os.WNOHANG)
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_process_groups(pids: list[int], grace: float = 10.0) -> None:
    """SIGTERM every group at once, wait for them together, SIGKILL what is left after
    `grace` seconds: servers stop side by side, not one after the other."""
    running = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
            running.append(pid)
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        running = [pid for pid in running if _group_alive(pid)]
        if running:
            time.sleep(0.05)
    for pid in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
