"""Which tests a plain selection picks: `pytest -k alerts` is the alerts suite alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_k_alerts_selects_the_alerts_suite_alone(tmp_path: Path) -> None:
    """`pytest -k alerts` is the quick local loop: it must select no other suite's test."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites",
            "-k",
            "alerts",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=-p no:locust",
            "--reports-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env={k: v for k, v in os.environ.items() if not k.startswith(("OBS_", "PYTEST_"))},
    )
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert ids, out.stdout + out.stderr
    others = [i for i in ids if not i.startswith("suites/alerts/")]
    assert not others, f"-k alerts also selects: {others}"
