"""Locust as a subprocess, bounded: `locust --headless` on loadtests/locustfile.py.

Never imported into pytest's process: `import locust` patches the whole process with gevent,
too late for pytest, and breaks ssl, subprocess and OpenTelemetry's threads there.
Its CSV (with every route's history, for the report's latency figure) and HTML report go
to reports/load/<name>*; the locustfile's client report (JSON) is read back. A run that
does not end within its run time plus a margin is killed, and the error says so with
Locust's output tail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsgate.errors import GateError, ServiceError
from obsgate.options import suite_paths

LOCUSTFILE = suite_paths()[1] / "locustfile.py"
STOP_TIMEOUT_S = 10  # users finish the request in flight: counts match the server's
START_MARGIN_S = 60  # interpreter, forks, spawning


@dataclass(frozen=True)
class LoadProfile:
    """How hard and how long: users, spawn rate, seconds of load, Locust processes."""

    users: int
    spawn_rate: float
    run_time_s: int
    processes: int = 1

    def validate(self) -> None:
        if self.users < 1 or self.spawn_rate <= 0 or self.run_time_s < 1:
            raise GateError(f"load profile {self}: users, spawn rate and run time must be > 0")
        if self.processes < 1:
            raise GateError(f"load profile {self}: --load-processes must be >= 1")


@dataclass
class LocustResult:
    name: str
    exit_code: int
    report: dict[str, Any]
    output: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def verdicts_ok(self) -> bool:
        return all(v["ok"] for v in self.report["verdicts"])

    def route(self, name: str, method: str = "POST") -> dict[str, Any] | None:
        return next(
            (r for r in self.report["routes"] if r["name"] == name and r["method"] == method),
            None,
        )

    def worker_sent(self) -> dict[str, int]:
        """What the worker processes sent, per "METHOD name", summed from their own
        counts (a distributed run); {} for a single-process run."""
        total: dict[str, int] = {}
        prefix = Path(self.files["client_report"]).name.removesuffix(".json")
        for path in Path(self.files["client_report"]).parent.glob(f"{prefix}-worker-*.json"):
            for route, n in json.loads(path.read_text())["sent"].items():
                total[route] = total.get(route, 0) + n
        return total

    def output_tail(self, lines: int = 25) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass(frozen=True, kw_only=True)
class LoadPhase:
    """One Locust run: its `name` (its reports are `out_dir/name*`), the app it loads at
    `host`, how hard, the config dir the locustfile reads the SLOs from, and `extra` Locust
    arguments (e.g. user class names or `--tags`)."""

    name: str
    host: str
    profile: LoadProfile
    config_dir: Path
    out_dir: Path
    extra: tuple[str, ...] = ()

    @property
    def prefix(self) -> Path:
        return self.out_dir / self.name


def locust_command(phase: LoadPhase) -> list[str]:
    prefix, profile = phase.prefix, phase.profile
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", phase.host, "-u", str(profile.users), "-r", str(profile.spawn_rate),
        "-t", f"{profile.run_time_s}s", "--stop-timeout", str(STOP_TIMEOUT_S),
        "--csv", str(prefix), "--csv-full-history", "--html", f"{prefix}.html", "--only-summary",
        "--obs-config", str(phase.config_dir), "--client-report", f"{prefix}-client.json",
    ]  # fmt: skip
    if profile.processes > 1:
        cmd += ["--processes", str(profile.processes)]
    return [*cmd, *phase.extra]


def run_locust(phase: LoadPhase) -> LocustResult:
    """Run one load phase to its end; the result, whatever the verdict (the caller judges)."""
    phase.profile.validate()
    phase.out_dir.mkdir(parents=True, exist_ok=True)
    for stale in phase.out_dir.glob(f"{phase.name}*"):
        stale.unlink()
    proc = start_locust(locust_command(phase))
    return finish_locust(phase, proc)


def start_locust(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cmd, cwd=LOCUSTFILE.parent, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def finish_locust(phase: LoadPhase, proc: subprocess.Popen[str]) -> LocustResult:
    name, profile = phase.name, phase.profile
    limit = profile.run_time_s + STOP_TIMEOUT_S + START_MARGIN_S
    try:
        output, _ = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        tail = "\n".join(output.splitlines()[-25:])
        raise ServiceError(
            f"Locust run {name!r} did not end within {limit} s ({profile}); killed.\n{tail}"
        ) from None
    prefix = phase.prefix
    report_path = Path(f"{prefix}-client.json")
    if not report_path.exists():
        tail = "\n".join(output.splitlines()[-40:])
        raise ServiceError(
            f"Locust run {name!r} exited {proc.returncode} without its client report "
            f"{report_path} (did the locustfile fail to load?):\n{tail}"
        )
    files = {
        "html": f"{prefix}.html",
        "csv": f"{prefix}_stats.csv",
        "history": f"{prefix}_stats_history.csv",
        "client_report": str(report_path),
    }
    report = json.loads(report_path.read_text())
    return LocustResult(name, proc.returncode, report, output, files)
