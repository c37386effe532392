"""`obs-gate self-test` on the MindWeave config, as a user runs it: six mutants of
HighErrorRate, each classified against the unmutated baseline, and the exit code held to
--min-kill-rate.

Known here: the threshold nudged to 0.06 breaks `high-error-rate-fires` (6 % errors must
page); `>` moved to `>=` is not caught, since no scenario sits exactly at 5 %; `5..` loosened
to `5.*` on status codes is provably equivalent.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.gate_subprocess import REPO_ROOT, SEED_CONFIG, clean_env

RULES = "prometheus/rules/mindweave-alerts.yaml"


@pytest.fixture(scope="module")
def self_test(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict]:
    reports = tmp_path_factory.mktemp("self-test-reports")
    cmd = [sys.executable, "-m", "obsgate.cli", "self-test", str(SEED_CONFIG),
           "--match", "HighErrorRate", "--operators", "threshold,comparison,matcher-widen",
           "--limit", "6", "--min-kill-rate", "99", "--reports-dir", str(reports)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    output = proc.stdout + proc.stderr
    data_file = reports / "self-test.json"
    assert data_file.is_file(), output
    assert (reports / "self-test.md").is_file() and (reports / "self-test.html").is_file()
    return (
        proc.returncode,
        (reports / "self-test.md").read_text(),
        json.loads(data_file.read_text()),
    )


def _status(data: dict, line: int, operator: str, new_has: str) -> str:
    mutants = data["mutants"]
    found = [m["status"] for m in mutants
             if (m["line"], m["operator"]) == (line, operator) and new_has in m["new"]]  # fmt: skip
    assert len(found) == 1, (line, operator, new_has, data["mutants"])
    return found[0]


def test_six_mutants_of_high_error_rate_are_classified(
    self_test: tuple[int, str, dict],
) -> None:
    _, _, data = self_test
    assert len(data["mutants"]) == 6
    assert data["baseline_failed"] == []
    assert _status(data, 12, "threshold", "> 0.06") == "killed"
    assert _status(data, 10, "matcher-widen", 'status_code=~".*"') == "killed"
    assert _status(data, 12, "comparison", ">= 0.05") == "survived"
    assert _status(data, 10, "matcher-widen", 'status_code=~"5.*"') == "equivalent"
    threshold = next(m for m in data["mutants"] if m["operator"] == "threshold")
    assert any("high-error-rate-fires" in t for t in threshold["killed_by"]), threshold


def test_report_lists_each_survivor_with_its_diff(self_test: tuple[int, str, dict]) -> None:
    _, md, data = self_test
    survivors = [m for m in data["mutants"] if m["status"] == "survived"]
    assert survivors
    for m in survivors:
        assert f"`{RULES}:{m['line']}` {m['operator']}" in md
        assert f"  + {m['new'].strip()}" in md
    assert "## Kill rate per operator" in md and "| `threshold` | 1 | 0 | 0 | 100.0 % |" in md


def test_exit_code_follows_min_kill_rate(self_test: tuple[int, str, dict]) -> None:
    returncode, _, data = self_test
    assert data["kill_rate"] < 0.99
    assert returncode == 1
