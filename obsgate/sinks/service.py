"""The capture sink as a server of the stack: its own process, started once per run.

Alertmanager is shared by every pytest-xdist worker, so the sink it notifies must be too:
it runs as `python -m obsgate.sinks.service --port P`, and tests read what it recorded
through `SinkClient` over HTTP (`/_sink/notifications`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from obsgate.sinks.capture import CONTROL, CaptureSink, Notification, Wanted
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import free_port
from obsgate.stack.spec import Command, Readiness, ServerSpec, http_ok


class SinkClient:
    """What a test sees of the sink: the notifications, a bounded wait, failure on demand."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self.url = endpoint.url
        self._session = requests.Session()

    def notifications(
        self, kind: str | None = None, receiver: str | None = None
    ) -> list[Notification]:
        data = self._session.get(f"{self.url}/{CONTROL}/notifications", timeout=5).json()
        notes = [
            Notification(**{**d, "buttons": tuple(tuple(b) for b in d["buttons"])}) for d in data
        ]
        return [
            n
            for n in notes
            if (kind is None or n.kind == kind) and (receiver is None or n.receiver == receiver)
        ]

    def fail_next(self, receiver: str, status: int = 500, count: int = 1) -> None:
        self._post("fail_next", {"receiver": receiver, "status": status, "count": count})

    def clear(self) -> None:
        self._post("clear", {})

    def _post(self, action: str, body: dict[str, Any]) -> None:
        self._session.post(
            f"{self.url}/{CONTROL}/{action}", json=body, timeout=5
        ).raise_for_status()

    def wait_for(
        self,
        predicate: Callable[[Notification], bool],
        *,
        timeout: float,
        what: str,
        count: int = 1,
    ) -> list[Notification]:
        """Poll until `count` notifications match; else fail listing all that arrived."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.notifications()
            matched = [n for n in received if predicate(n)]
            if len(matched) >= count or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if len(matched) >= count:
            return matched
        wanted = Wanted(what=what, count=count, timeout=timeout)
        raise wanted.failure(self.url, len(matched), received)


def spec(workdir: Path) -> ServerSpec:
    """The sink is the gate's own server: a local process on either backend (Alertmanager
    reaches it on 127.0.0.1 from a container too, through the host network)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/{CONTROL}/notifications"
    argv = [sys.executable, "-m", "obsgate.sinks.service", "--port", str(port)]
    return ServerSpec(
        service="sink",
        workdir=workdir,
        port=port,
        process=lambda: Command(argv=argv, version_argv=["echo", "capture sink (obsgate)"]),
        ready=Readiness(what=f"200 from {url}", probe=http_ok(url)),
    )


def start(workdir: Path) -> Endpoint:
    started = ProcessBackend().start(spec(workdir))
    return Endpoint.from_started("sink", started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    # Wait for SIGTERM or SIGINT with sigwait, not a handler that sets an Event: a stop sends
    # SIGTERM twice (to the process group, then forwarded by the guard), and a second handler
    # run inside the first one's Event.set() deadlocks on the Event's lock.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # before any thread starts
    sink = CaptureSink(port).start()
    print(f"capture sink listening on {sink.url}", flush=True)
    signal.sigwait(stop_signals)
    sink.stop()


if __name__ == "__main__":
    main()
