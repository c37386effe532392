"""Issue 19's loop on a config that arrives without scenarios: `obs-gate self-test` says how
little the gate guards of a rule, `obs-gate scaffold` writes its scenarios, and the next
self-test kills what survived, its report showing the kill rate before and after."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.gate_subprocess import REPO_ROOT, clean_env

CORPUS = REPO_ROOT / "fixtures" / "config" / "corpus" / "kube-prometheus"
# NodeRAIDDegraded: `... > 0` for 15m; its threshold, comparison and `for` mutants.
SELECTION = ("--match", "NodeRAIDDegraded", "--operators", "threshold,comparison,for")


def obs_gate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "obsgate.cli", *args], cwd=REPO_ROOT, env=clean_env(),
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_scaffold_then_self_test_raises_the_kill_rate(tmp_path: Path) -> None:
    config, reports = tmp_path / "kube-prometheus", tmp_path / "reports"
    shutil.copytree(CORPUS, config)
    before = obs_gate("self-test", str(config), *SELECTION, "--reports-dir", str(reports))
    assert before.returncode == 0, before.stdout + before.stderr
    first = json.loads((reports / "self-test.json").read_text())
    assert len(first["mutants"]) == 4, first["mutants"]
    # Without scenarios the threshold and comparison mutants survive (a static check may
    # still catch a `for` mutant), so the kill rate is short of 100 %.
    assert first["kill_rate"] is not None and first["kill_rate"] < 1, first["mutants"]

    scaffold = obs_gate("scaffold", str(config))
    assert scaffold.returncode == 0, scaffold.stdout + scaffold.stderr
    assert "NodeRAIDDegraded (nodeExporter-prometheusRule.yaml:58): 6 scenarios" in scaffold.stdout

    after = obs_gate("self-test", str(config), *SELECTION, "--reports-dir", str(reports))
    assert after.returncode == 0, after.stdout + after.stderr
    second = json.loads((reports / "self-test.json").read_text())
    report = (reports / "self-test.md").read_text()
    statuses = {m["description"]: (m["status"], m["note"]) for m in second["mutants"]}
    assert {status for status, _ in statuses.values()} == {"killed"}, (
        f"{statuses}\n{after.stdout}\n{report[:3000]}"
    )
    assert f"Before: kill rate {100 * first['kill_rate']:.1f} % (4 mutants, " in report, report[
        :800
    ]
    assert "now **100.0 %**" in report, report[:800]
