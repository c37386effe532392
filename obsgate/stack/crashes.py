"""A server that dies mid-run is reported once, as the cause, not as its symptoms.

The guard that runs each local server writes `<workdir>/<name>.exit.json` when the server
ends on its own (not stopped by the gate): its pid, exit status or signal, and when. The
plugin announces each such record once, with the server's log tail, and every test that
needs that server fails with that one line instead of timeouts and connection errors.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from obsgate.errors import ServiceError
from obsgate.stack.process import log_tail

EXIT_SUFFIX = ".exit.json"
# Registry names carry a prefix for the load gate's own servers and the services under test.
PREFIXES = ("load-", "refapp-")
# Fixtures that stand for servers of the registry: the services under test need the run's
# Redis, Kafka and Jaeger (asked for inside the fixture, so not in a test's fixture names).
FIXTURE_SERVERS = {
    "capture_sink": {"sink"},
    "refapp": {"refapp", "redis", "kafka", "jaeger"},
    "load_stack": {"load", "redis", "kafka"},
}


@dataclass(frozen=True)
class Crash:
    name: str  # the registry's name, e.g. "alertmanager" or "load-prometheus"
    pid: int
    status: int  # negative: killed by that signal
    after: float  # seconds into the run
    log: Path
    where: str = ""  # "container NAME"; else the pid says which process

    def describe(self) -> str:
        how = (
            f"was killed by {signal.Signals(-self.status).name}"
            if self.status < 0
            else f"exited with status {self.status}"
        )
        which = self.where or f"pid {self.pid}"
        return f"{self.name} ({which}) {how} {self.after:.1f} s into the run"

    def with_log(self) -> str:
        return f"{self.describe()}; its log ends:\n{log_tail(self.log, 20)}"


def exit_record(workdir: Path, name: str) -> Path:
    return workdir / f"{name}{EXIT_SUFFIX}"


def crashes(run_dir: Path | None = None) -> list[Crash]:
    """Every server of this run that ended on its own, oldest first."""
    root = run_dir or Path(os.environ.get("OBS_GATE_RUN_DIR", "/nonexistent"))
    found = []
    for record in root.glob(f"*/*{EXIT_SUFFIX}"):
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue  # being written; the next look reads it
        name = record.parent.name
        log = record.with_name(record.name.removesuffix(EXIT_SUFFIX) + ".log")
        found.append(
            Crash(name, data["pid"], data["status"], data["after"], log, data.get("where", ""))
        )
    return sorted(found, key=lambda c: c.after)


def unless_a_server_died(probe: Callable[[], bool], service: str) -> Callable[[], bool]:
    """`probe`, ending the wait for `service` at once when a server of the run has died: a
    service waiting on a dead dependency (the gateway's readiness on Redis) would otherwise
    wait out its whole timeout before the test could name the crash."""

    def checked() -> bool:
        dead = crashes()
        if dead:
            raise ServiceError(f"stopped waiting for {service}: {dead[0].describe()}")
        return probe()

    return checked


def address_of(crash: Crash) -> str | None:
    """host:port the crashed server answered on, from the run's registry."""
    state = crash.log.parent.parent / f"{crash.name}.endpoint.json"
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        return None
    return f"{data.get('host')}:{data.get('port')}" if data.get("port") else None


def named_in(text: str) -> Crash | None:
    """A crashed server whose address a failure names (a fixture's teardown that talks to
    it is reported on whichever test ran last)."""
    for crash in crashes():
        address = address_of(crash)
        if address and address in text:
            return crash
    return None


def needed_by(names: set[str], crash: Crash) -> bool:
    """Whether a test that uses servers `names` (fixtures, `needs`) needs the crashed one."""
    servers = set().union(*(FIXTURE_SERVERS.get(n, {n}) for n in names)) if names else set()
    server = crash.name
    for prefix in PREFIXES:
        if server.startswith(prefix):
            return prefix.rstrip("-") in servers
    return server in servers
