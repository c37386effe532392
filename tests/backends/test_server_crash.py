"""A server that dies mid-run is reported once, as the cause of every test that needs it.

The child gate runs a suite that uses the server (routing: Prometheus, Alertmanager, the
sink; tracing: Redis, Kafka, Jaeger, Elasticsearch); once the server runs, its process is
killed with SIGKILL behind the gate's back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obsgate.wait import eventually
from tests.gate_subprocess import REPO_ROOT, clean_env


def server_pid(guard: int) -> int:
    """The server under its guard (the guard's only child)."""
    children = Path(f"/proc/{guard}/task/{guard}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def wait_for_endpoint(tmpdir: Path, service: str, timeout: float = 120) -> int:
    def started() -> int | None:
        for state in tmpdir.glob(f"obs-gate-*/{service}.endpoint.json"):
            return int(json.loads(state.read_text())["pid"])
        return None

    return eventually(
        started, timeout=timeout, what=f"the child gate to start {service}", interval=0.2
    )


# (suite, server): every server the process backend runs, killed under a suite that uses it.
VICTIMS = [
    ("suites/routing", "alertmanager"),
    ("suites/routing", "prometheus"),
    ("suites/routing", "sink"),
    ("suites/tracing", "redis"),
    ("suites/tracing", "kafka"),
    ("suites/tracing", "jaeger"),
    ("suites/tracing", "elasticsearch"),
]


@pytest.mark.parametrize(("suite", "service"), VICTIMS, ids=[v[1] for v in VICTIMS])
def test_a_killed_server_is_the_one_cause_reported(
    tmp_path: Path, suite: str, service: str
) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    cmd = [sys.executable, "-m", "pytest", suite, "-q", "-p", "no:cacheprovider",
           "--reports-dir", str(tmp_path / "reports")]  # fmt: skip
    env = clean_env(TMPDIR=str(tmpdir))
    gate = subprocess.Popen(
        cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        victim = server_pid(wait_for_endpoint(tmpdir, service))
        time.sleep(1)  # the first tests are running
        os.kill(victim, signal.SIGKILL)
        output, _ = gate.communicate(timeout=240)
    finally:
        if gate.poll() is None:
            gate.kill()
    cause = f"{service} (pid {victim}) was killed by SIGKILL"
    assert gate.returncode == 1, output[-3000:]
    announced = [ln for ln in output.splitlines() if ln.startswith(cause) and "log ends:" in ln]
    assert len(announced) == 1, output[-5000:]  # once, with its log tail
    bad = [line for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    assert bad, output[-3000:]
    details = output.split("= ERRORS =")[-1] if "= ERRORS =" in output else output
    assert details.count(cause) >= len(bad), output[-5000:]
    # The gate's own lines, not the servers' log tails it quotes (a service that dies with
    # Kafka logs its own traceback, and that tail is evidence).
    own = "\n".join(ln for ln in output.splitlines() if not ln.lstrip().startswith("|"))
    for noise in ("Traceback", "urllib3", "ConnectionRefusedError", "assert None is not None"):
        assert noise not in own, f"{noise!r} in the output:\n{output[-5000:]}"
