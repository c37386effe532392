"""A gate stopped from outside leaves nothing behind: no server, no run dir (which holds the
adapted configs and their secrets), and says what happened.

The child gate runs the alerts suite with its own TMPDIR, so its run dir is the one
`obs-gate-*` folder there; the servers it started are read from the registry's endpoint
files before the signal is sent.
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


def start_gate(tmp_path: Path) -> subprocess.Popen[str]:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    cmd = [sys.executable, "-m", "pytest", "suites/alerts", "-q", "-p", "no:cacheprovider",
           "--reports-dir", str(tmp_path / "reports")]  # fmt: skip
    return subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=clean_env(TMPDIR=str(tmpdir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def servers_of(tmp_path: Path, timeout: float = 60) -> tuple[Path, dict[str, int]]:
    """The child's run dir and the pid of each server once Prometheus and Alertmanager run."""

    def started() -> tuple[Path, dict[str, int]] | None:
        for run_dir in (tmp_path / "tmp").glob("obs-gate-*"):
            states = {p.name.split(".")[0]: p for p in run_dir.glob("*.endpoint.json")}
            if {"prometheus", "alertmanager"} <= states.keys():
                pids = {name: json.loads(p.read_text()).get("pid") for name, p in states.items()}
                return run_dir, {name: pid for name, pid in pids.items() if pid}
        return None

    return eventually(
        started,
        timeout=timeout,
        what="the child gate to start Prometheus and Alertmanager",
        interval=0.2,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    left = pids
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if alive(pid)]
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_terminated_gate_stops_its_servers_and_removes_its_run_dir(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """SIGTERM (a CI job cancelled) and SIGINT (Ctrl-C) end the run as an interrupt: exit 2,
    one line saying so, no traceback, nothing left within 2 s of the exit."""
    gate = start_gate(tmp_path)
    try:
        run_dir, servers = servers_of(tmp_path)
        gate.send_signal(sig)
        output, _ = gate.communicate(timeout=60)
    finally:
        if gate.poll() is None:
            gate.kill()
    assert gate.returncode == 2, output[-3000:]
    assert "KeyboardInterrupt" in output and "Traceback" not in output, output[-3000:]
    assert gone_within(list(servers.values()), 2) == [], f"left running: {servers}"
    assert not run_dir.exists(), f"{run_dir} left behind: {list(run_dir.iterdir())}"


def test_a_killed_gate_leaves_no_server_and_no_run_dir(tmp_path: Path) -> None:
    """SIGKILL runs no cleanup in pytest: the guards stop the servers and remove the dir."""
    gate = start_gate(tmp_path)
    try:
        run_dir, servers = servers_of(tmp_path)
        gate.kill()
        gate.communicate(timeout=30)
    finally:
        if gate.poll() is None:
            gate.kill()
    assert gone_within(list(servers.values()), 15) == [], f"left running: {servers}"
    deadline = time.monotonic() + 5
    while run_dir.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not run_dir.exists(), f"{run_dir} left behind after SIGKILL"


def test_ctrl_c_during_collection_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """A conftest that takes its time to import holds the run in collection when Ctrl-C
    comes: pytest's interrupt, exit 2, no traceback, and no server started."""
    slow = tmp_path / "suite" / "slow"
    slow.mkdir(parents=True)
    (slow / "conftest.py").write_text("import time\n\ntime.sleep(30)\n")
    (slow / "test_x.py").write_text("def test_x():\n    pass\n")
    started = tmp_path / "collecting"
    (tmp_path / "suite" / "conftest.py").write_text(
        f"def pytest_collectstart(collector):\n    open({str(started)!r}, 'w').close()\n"
    )
    cmd = [sys.executable, "-m", "pytest", str(tmp_path / "suite"), "-q", "-p",
           "no:cacheprovider", "--reports-dir", str(tmp_path / "reports")]  # fmt: skip
    gate = subprocess.Popen(
        cmd, cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert started.exists(), "collection never started"
        time.sleep(0.5)  # inside the slow conftest's import
        gate.send_signal(signal.SIGINT)
        output, _ = gate.communicate(timeout=30)
    finally:
        if gate.poll() is None:
            gate.kill()
    assert gate.returncode == 2, output[-3000:]
    assert "KeyboardInterrupt" in output and "Traceback" not in output, output[-3000:]
