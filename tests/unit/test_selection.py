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


def test_a_path_option_in_space_form_keeps_the_projects_settings(tmp_path: Path) -> None:
    """`--reports-dir /tmp/x` once made pytest look for its ini file from /tmp/x: the
    project's testpaths and addopts were lost and `-k` picked the gate's own tests too
    (under xdist as well). Same command as a user types it: no path, the space form."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-k", "test_promtool_check_rules_is_clean",
         "--reports-dir", str(tmp_path), "-n", "2", "-p", "no:cacheprovider", "-rA"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env={k: v for k, v in os.environ.items() if not k.startswith(("OBS_", "PYTEST_"))},
    )  # fmt: skip
    ran = [line for line in out.stdout.splitlines() if line.startswith("PASSED ")]
    assert ran == [
        "PASSED suites/alerts/test_rules_universal.py::test_promtool_check_rules_is_clean"
    ], out.stdout[-3000:] + out.stderr[-2000:]
    assert (tmp_path / "junit.xml").is_file()
