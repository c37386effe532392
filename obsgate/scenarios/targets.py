"""Scenario series served as real scrape targets, on a clock F times faster than the wall.

Each scenario's clock starts at the first scrape of any of its targets, so the time
Prometheus needs to discover a target costs the scenario nothing. At simulated time t a
series shows its value at step floor(t / interval), rising linearly towards the next
value where the series rises, stamped with the time it was computed for; past its last
value it is gone, and stays visible for the (scaled) lookback window, as in promtool.
A series named `up` is a target of its own whose scrape succeeds (1) or fails (0),
and succeeds again once its values end.

The targets are served by a process of their own: each scrape must be answered within one
scrape interval (a quarter of a second at time scale 240, 83 ms at 720), and in the test
process the answer would wait on the interpreter's lock, held by whatever the tests do
meanwhile (drawing figures, parsing promtool's output). The clocks' start times are shared
memory, written by the serving process at a scenario's first scrape and read by the tests.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from queue import Empty
from typing import Any

from obsgate.errors import ServiceError
from obsgate.http_server import QuietHTTPServer
from obsgate.scenarios.model import Scenario, Series
from obsgate.scenarios.remote_write import Samples, remote_write

DATA_JOB = "mindweave-scenarios"
SCRAPE_STEP = 60.0  # simulated seconds between scrapes (obsgate/stack/prometheus.py)
LEAD = 0.8  # scrapes: how far ahead of its computation a served sample is stamped
SERVER_START_SECONDS = 30.0  # how long the serving process may take to start listening
_SPAWN = multiprocessing.get_context("spawn")  # the test process has threads: no fork


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


class ScenarioClock:
    """Simulated time of one scenario, `factor` times the wall: zero at its first scrape, or
    `history` simulated seconds before it when the scenario declares history. Its start is
    kept in `shared[index]` (monotonic) and `shared[index + 1]` (epoch), NaN until then."""

    def __init__(self, factor: float, history: float, shared: Any, index: int):
        self.factor = factor
        self.history = history
        self._shared = shared
        self._index = index
        self._lock = threading.Lock()

    @property
    def started_mono(self) -> float | None:
        value = self._shared[self._index]
        return None if math.isnan(value) else float(value)

    @property
    def started_wall(self) -> float | None:
        """Epoch seconds at simulated time zero (written before the monotonic start)."""
        if self.started_mono is None:
            return None
        return float(self._shared[self._index + 1])

    def now(self) -> float:
        return self.at(time.monotonic())

    def at(self, mono: float) -> float:
        """Simulated seconds at monotonic time `mono`; the first call starts the clock."""
        with self._lock:
            started = self.started_mono
            if started is None:
                back = self.history / self.factor
                started = mono - back
                self._shared[self._index + 1] = time.time() - back
                self._shared[self._index] = started
            return (mono - started) * self.factor

    def value(self, series: Series, interval: float, sim: float) -> float | None:
        step = int(sim // interval)
        if step >= len(series.values):
            return None
        value = series.values[step]
        following = series.values[step + 1] if step + 1 < len(series.values) else None
        if value is not None and following is not None and following >= value:
            # Rising segments are interpolated, as a real counter rises between samples: a
            # step function sampled by a scrape of the same period aliases, and rate() then
            # sees one step more or less per window. A fall (a reset) stays a step.
            value += (following - value) * (sim / interval - step)
        if value is not None and series.wall_clock:
            assert self.started_wall is not None
            value += self.started_wall
        return value


class ScenarioTargets:
    """One HTTP server on 127.0.0.1, in a process of its own, serving every scenario of a
    live run; writes file_sd. Without `start()` it serves nothing, and `exposition` answers
    in this process (the unit tests)."""

    def __init__(
        self,
        scenarios: list[Scenario],
        factor: float,
        label: str,
        tag: str,
        remote_write_url: str | None = None,
    ):
        self.scenarios = {s.id: s for s in scenarios}
        self.factor = factor
        self.label = label
        self.tag = tag  # makes the isolation label unique to this run and worker
        self.remote_write_url = remote_write_url  # the Prometheus that takes the history
        # Each clock's start, shared with the serving process (NaN: not scraped yet).
        self._share(
            _SPAWN.Array("d", [math.nan] * (2 * len(scenarios)), lock=False), _SPAWN.Queue()
        )
        self._history_errors: dict[str, str] = {}
        self._process: Any = None
        self._port: int | None = None
        self._port_reader: Any = None

    def _share(self, shared: Any, errors: Any) -> None:
        """Clocks on `shared` memory, history errors onto the `errors` queue (scenario id,
        why): the same in the test process and in the serving process."""
        self._shared, self._errors = shared, errors
        self._history_locks = {sid: threading.Lock() for sid in self.scenarios}
        self.clocks = {
            s.id: ScenarioClock(self.factor, s.history_seconds, shared, 2 * n)
            for n, s in enumerate(self.scenarios.values())
        }

    @property
    def history_errors(self) -> dict[str, str]:
        """Scenario id -> why its history could not be written, as the server reported."""
        while True:
            try:
                sid, error = self._errors.get_nowait()
            except Empty:
                return self._history_errors
            self._history_errors[sid] = error

    def isolation_value(self, scenario_id: str) -> str:
        return f"{self.tag}{scenario_id}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        """The serving process's port, once it listens (bounded; its exit code if it died)."""
        if self._port is None:
            if self._port_reader is None:
                raise ServiceError("the scenario targets were not started")
            if not self._port_reader.poll(SERVER_START_SECONDS):
                code = self._process.exitcode
                self.stop()
                raise ServiceError(
                    f"the live layer's scrape targets did not listen within "
                    f"{SERVER_START_SECONDS:g} s (their process "
                    + ("is still starting" if code is None else f"exited with {code}")
                    + "); the test process's stderr above says why"
                )
            self._port = int(self._port_reader.recv())
        return self._port

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the serving process (it listens shortly after; `port` waits for it)."""
        if self._process is not None:
            return
        reader, writer = _SPAWN.Pipe(duplex=False)
        args = (list(self.scenarios.values()), self.factor, self.label, self.tag)
        self._process = _SPAWN.Process(
            target=_serve,
            args=((*args, self.remote_write_url), self._shared, self._errors, writer, os.getpid()),
            name="obs-gate scenario targets",
            daemon=True,
        )
        self._process.start()
        writer.close()
        self._port_reader = reader

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)

    @staticmethod
    def target_count(scenario: Scenario) -> int:
        """How many targets `file_sd` gives the scenario: its data, and each `up` series."""
        return 1 + sum(1 for series in scenario.series if series.name == "up")

    def file_sd(self, scenario: Scenario) -> list[dict[str, Any]]:
        """The targets of one scenario: its data, and one target per `up` series."""
        iso = {self.label: self.isolation_value(scenario.id)}
        groups = [
            {
                "targets": [self.address],
                "labels": {**iso, "job": DATA_JOB, "__metrics_path__": f"/s/{scenario.id}/metrics"},
            }
        ]
        for i, series in enumerate(scenario.series):
            if series.name == "up":
                labels = {
                    "job": DATA_JOB,
                    **series.labels,
                    **iso,
                    "__metrics_path__": f"/s/{scenario.id}/up/{i}",
                }
                groups.append({"targets": [self.address], "labels": labels})
        return groups

    def write_file_sd(self, sd_dir: Path, scenarios: list[Scenario] | None = None) -> list[Path]:
        """The targets of `scenarios` (default: all) in one file, written at once: Prometheus
        applies new targets on a tick, and one write makes one tick start them together.
        Rewriting it with another set starts the new ones and stops those left out."""
        path = sd_dir / f"{self.tag}{self.port}.json"  # one per server
        tmp = path.with_suffix(".tmp")
        chosen = self.scenarios.values() if scenarios is None else scenarios
        groups = [group for sc in chosen for group in self.file_sd(sc)]
        tmp.write_text(json.dumps(groups))
        tmp.rename(path)  # Prometheus must never read a half-written file
        return [path]

    def series_labels(self, scenario: Scenario, series: Series) -> dict[str, str]:
        """The labels Prometheus stores a served series under: the target's (job, instance,
        isolation), overridden by the series' own (the job honours them)."""
        target = {
            "job": DATA_JOB,
            "instance": self.address,
            self.label: self.isolation_value(scenario.id),
        }
        return {**target, **series.labels, "__name__": series.name}

    def history(self, scenario: Scenario, step: float) -> list[tuple[dict[str, str], Samples]]:
        """The scenario's declared history as samples every `step` simulated seconds (one per
        scrape, as scraping would have taken them), stamped on the scenario's clock."""
        clock = self.clocks[scenario.id]
        assert clock.started_wall is not None
        out = []
        for series in scenario.series:
            samples = []
            for k in range(math.ceil(scenario.history_seconds / step)):
                value = clock.value(series, scenario.interval_seconds, k * step)
                if value is not None:
                    wall = clock.started_wall + k * step / self.factor
                    samples.append((int(wall * 1000), value))
            out.append((self.series_labels(scenario, series), samples))
        return out

    def _start(self, scenario: Scenario, mono: float) -> float:
        """Simulated time at `mono`. The first scrape starts the clock and, before it is
        answered (so that the history is older than anything scraped), writes the history;
        a scrape that comes meanwhile (the first one timed out) waits for it, since a sample
        stored before the history would make Prometheus refuse it as out of order."""
        clock = self.clocks[scenario.id]
        if not scenario.history_seconds or self.remote_write_url is None:
            return clock.at(mono)
        with self._history_locks[scenario.id]:
            first = clock.started_mono is None
            sim = clock.at(mono)
            if first:
                try:
                    remote_write(self.remote_write_url, self.history(scenario, SCRAPE_STEP))
                except Exception as exc:  # the verdict reports it: the history is missing
                    self._errors.put((scenario.id, str(exc)))
        return sim

    def exposition(self, scenario: Scenario) -> str:
        # Each sample carries the time its value is for: the tick of Prometheus' scrape
        # schedule that this scrape belongs to. Prometheus scrapes a target every interval
        # on a fixed ticker, and the first answer started the scenario's clock, so the tick
        # is the number of whole intervals since then, rounded: an answer a few milliseconds
        # late (a busy machine) still stamps its sample on the schedule, and rate() sees
        # samples exactly one interval apart, not intervals that wander with the load.
        # Explicit timestamps also mean a series that ends lingers for the lookback window
        # instead of going stale at once, as a series that ends does in promtool.
        # The time is LEAD scrapes ahead of the tick, the value the one for that time: a
        # rule evaluated between this moment and Prometheus storing the sample (milliseconds,
        # but a tenth of a second on a loaded machine) must not see the window without it.
        # That cuts the window's extrapolation to its end by half (Prometheus' rate()), 10 to
        # 20 % with five scrapes a window, enough to drop HighCPUUsage's 0.95 under its 0.85
        # and reset its pending state, as seen one run in three to four under load.
        mono = time.monotonic()
        self._start(scenario, mono)
        clock = self.clocks[scenario.id]
        started_mono, started_wall = clock.started_mono, clock.started_wall
        assert started_mono is not None and started_wall is not None
        # Prometheus' interval as it runs it: whole milliseconds (obsgate/promql.py).
        interval = max(1, round(SCRAPE_STEP / self.factor * 1000)) / 1000
        ticks = round((mono - started_mono - clock.history / self.factor) / interval)
        real = clock.history / self.factor + ticks * interval + LEAD * interval
        # In simulated seconds from the clock's zero, not on the monotonic clock:
        # (mono + lead) - mono rounds differently with the clock's magnitude (the uptime).
        sim = real * self.factor
        wall_ms = round((started_wall + real) * 1000)
        lines = []
        for series in scenario.series:
            if series.name == "up":
                continue
            value = clock.value(series, scenario.interval_seconds, sim)
            if value is None:
                continue
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in series.labels.items())
            lines.append(f"{series.name}{{{labels}}} {_number(value)} {wall_ms}")
        return "\n".join(lines) + "\n"

    def up(self, scenario: Scenario, index: int) -> bool:
        clock = self.clocks[scenario.id]
        value = clock.value(scenario.series[index], scenario.interval_seconds, clock.now())
        # Past its last value the target answers again: its `up == 0` ends, as the series
        # does in promtool, without rewriting file_sd under Prometheus' feet.
        return value is None or value >= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        targets = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive: Prometheus reuses one connection per target, four scrapes a second.
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                scenario = targets.scenarios.get(parts[1]) if len(parts) >= 3 else None
                if scenario is None:
                    self.send_error(404)
                    return
                if parts[2] == "metrics":
                    body, status = targets.exposition(scenario).encode(), 200
                elif parts[2] == "up" and len(parts) == 4 and parts[3].isdigit():
                    status = 200 if targets.up(scenario, int(parts[3])) else 503
                    body = b"\n" if status == 200 else b"target down by scenario\n"
                else:
                    self.send_error(404)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _serve(
    args: tuple[list[Scenario], float, str, str, str | None],
    shared: Any,
    errors: Any,
    port_writer: Any,
    parent: int,
) -> None:
    """The serving process: listen, say the port, serve until stopped or orphaned."""
    targets = ScenarioTargets(*args)
    targets._share(shared, errors)
    server = QuietHTTPServer(("127.0.0.1", 0), targets._handler())
    targets._port = server.server_address[1]  # the history's series carry the instance
    port_writer.send(targets._port)
    port_writer.close()

    def orphaned() -> None:  # the test process was killed: do not outlive it
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    server.serve_forever(poll_interval=0.05)
