"""The gateway's capacity within its SLOs, measured two ways in one run.

Locust steps up the API clients on the Claude messages route alone (`ApiClient --tags
messages`) until a step misses an SLO; the highest passing step is the sustained rate.
Then wrk (Debian's) drives the same endpoint with as many connections as that step had
users, with no think time: a closed-loop ceiling at that concurrency, for comparison.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from obsgate.errors import ServiceError, ToolMissing

MESSAGE = {
    "model": "claude-3-5-sonnet",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "summarise the incident"}],
}
WRK_SCRIPT = f"""\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{json.dumps(MESSAGE)}'
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass(frozen=True)
class WrkResult:
    connections: int
    duration_s: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str | None
    output: str


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * UNITS[match[2]]


def parse_wrk(output: str, connections: int, duration_s: int) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (rps and p50 and p99):
        raise ServiceError(f"wrk printed no rate or latency distribution:\n{output[-1500:]}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:(.*)", output)
    return WrkResult(
        connections,
        duration_s,
        float(rps[1]),
        _ms(p50[1]),
        _ms(p99[1]),
        int(non_2xx[1]) if non_2xx else 0,
        errors[1].strip() if errors else None,
        output,
    )


def run_wrk(url: str, connections: int, duration_s: int, workdir: Path) -> WrkResult:
    binary = shutil.which("wrk")
    if binary is None:
        raise ToolMissing("wrk not found: install Debian's wrk (scripts/install-backends does)")
    script = workdir / "post-message.lua"
    script.write_text(WRK_SCRIPT)
    cmd = [
        binary,
        "-t1",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=duration_s + 30, check=False
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"wrk did not end within {duration_s + 30} s: {' '.join(cmd)}") from None
    if done.returncode != 0:
        raise ServiceError(f"wrk exited {done.returncode}: {' '.join(cmd)}\n{done.stderr[-1500:]}")
    return parse_wrk(done.stdout, connections, duration_s)
