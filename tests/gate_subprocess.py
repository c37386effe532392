"""Run the gate as a user would, in a child pytest, for the tests that test the gate itself.

A child must not inherit the parent's per-run state (OBS_GATE_RUN_DIR, OBS_GATE_OWNER_PID)
or it would share, and at exit stop, the parent's servers; nor the parent's xdist identity.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_CONFIG = REPO_ROOT / "fixtures" / "config" / "mindweave"
RULES = Path("prometheus") / "rules" / "mindweave-alerts.yaml"
# Per-run and per-worker state of the parent run; OBS_* options would change what runs.
_INHERITED_STATE = ("OBS_", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")
_SECTIONS = ("= ERRORS =", "= FAILURES =")
FIGURES_ENV = "OBS_GATE_FIGURES"
# How many child gates run at once on this machine, across xdist workers and checkouts: a
# child is CPU-bound (servers, promtool, the live layer), so more than the cores only
# stretches each one's start-up and timings. Queued children wait; their timeout starts
# when they run.
CHILD_SLOTS_ENV = "GATE_CHILD_SLOTS"
CHILD_SLOTS_DIR = Path(tempfile.gettempdir()) / f"obs-gate-child-slots-{os.getuid()}"


@dataclass(frozen=True)
class GateRun:
    """Exit code, both streams together, and the ids of the tests that failed or errored."""

    returncode: int
    output: str
    failed: frozenset[str]

    def describe(self) -> str:
        """The exit, the failed ids, the head of the first error or failure section (where
        the cause is; a service's log tail can fill the end) and the end of the output."""
        text = self.output
        starts = [i for m in _SECTIONS if (i := text.find(m)) >= 0]
        head = text[min(starts) : min(starts) + 5000] if starts else ""
        tail = text[-3000:] if not head or len(text) - min(starts) > 5000 else ""
        gap = "\n[...]\n" if head and tail else ""
        crash = text.find("log ends:")  # a server that died: its log tail, where it was announced
        died = text[text.rfind("\n", 0, crash) + 1 :][:3000] + "\n[...]\n" if crash >= 0 else ""
        return f"exit {self.returncode}; failed {sorted(self.failed)}\n{died}{head}{gap}{tail}"


@dataclass(frozen=True)
class Breakage:
    """One line of a copied config changed (`old` -> `new`), the tests that must fail and
    what the output must show; `file` is relative to the config dir, None for the file the
    test module breaks by default."""

    id: str
    old: str
    new: str
    must_fail: tuple[str, ...]
    must_say: str
    file: Path | None = None


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without the parent's gate state, plus `extra`. A child is read for its
    verdicts: it draws no figures (a third of its CPU) unless `extra` says
    OBS_GATE_FIGURES="on"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_STATE)}
    return {**env, FIGURES_ENV: "off", **extra}


def copy_config(dest: Path) -> Path:
    """A private copy of the seed config that a test may break."""
    shutil.copytree(SEED_CONFIG, dest)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old`; a no-op edit would make a red test meaningless."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected exactly one {old!r}"
    changed = text.replace(old, new)
    assert changed != text
    path.write_text(changed, encoding="utf-8")


def failed_tests(junit: Path) -> frozenset[str]:
    """Names (`test_x[param]`) of the testcases with a <failure> or <error> in a JUnit file."""
    if not junit.exists():
        return frozenset()
    root = ET.parse(junit).getroot()
    return frozenset(
        case.get("name", "")
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    )


def child_slots() -> int:
    raw = os.environ.get(CHILD_SLOTS_ENV, "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return (os.cpu_count() or 1) + 1


@contextmanager
def child_slot() -> Iterator[None]:
    """Hold one of `child_slots()` machine-wide slots (file locks, freed if the holder dies)."""
    CHILD_SLOTS_DIR.mkdir(parents=True, exist_ok=True)
    while True:
        for index in range(child_slots()):
            lock = FileLock(str(CHILD_SLOTS_DIR / f"{index}.lock"))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                yield
            finally:
                lock.release()
            return
        time.sleep(0.2)


def run_gate(
    *args: str,
    junit: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 240,
    suite: str = "suites/alerts",
) -> GateRun:
    """`python -m pytest suites/alerts ARGS` from the repo root, with no reports kept (unless
    ARGS name a --reports-dir), once a child slot is free."""
    cmd = [sys.executable, "-m", "pytest", suite, "-p", "no:cacheprovider", "-p", "no:html", "-q"]
    cmd += [*args, "-o", "addopts="]
    if junit is not None:
        cmd += ["--junitxml", str(junit)]
    env = dict(env if env is not None else clean_env())
    env.setdefault(FIGURES_ENV, "off")  # verdicts only: no figures (a third of the CPU)
    with tempfile.TemporaryDirectory(prefix="gate-child-reports-") as reports, child_slot():
        if not any(a.startswith("--reports-dir") for a in args):
            cmd += ["--reports-dir", reports]
        proc = subprocess.run(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    failed = failed_tests(junit) if junit is not None else frozenset()
    return GateRun(proc.returncode, proc.stdout + proc.stderr, failed)
