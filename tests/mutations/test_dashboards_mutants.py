"""Rename a metric in a copied config's rules but not in its dashboards and the dashboards
suite goes red, naming the metric; leave the copy alone and it stays green.

Only the universal checks run in the child: they judge the config alone, no servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gate_subprocess import RULES, GateRun, copy_config, edit, run_gate

SUITE = "suites/dashboards/test_dashboards_universal.py"


@dataclass(frozen=True)
class Rename:
    id: str
    old: str
    new: str
    must_fail: str
    must_say: str


CASES = [
    Rename(  # read only by the rules and the CPU panel: the panel now reads what nothing makes
        "cpu-usage",
        "rate(container_cpu_usage_seconds_total{",
        "rate(container_cpu_seconds_total{",
        "test_every_panel_metric_is_produced",
        "container_cpu_usage_seconds_total",
    ),
]


def gate(root: Path, case: Rename | None) -> GateRun:
    config = copy_config(root / "config")
    if case is not None:
        edit(config / RULES, case.old, case.new)
    return run_gate(f"--obs-config={config}", junit=root / "junit.xml", suite=SUITE, timeout=120)


def test_unbroken_copy_passes(tmp_path: Path) -> None:
    run = gate(tmp_path, None)
    assert run.returncode == 0 and not run.failed, run.describe()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_metric_renamed_in_the_rules_only_fails_the_dashboards_suite(
    case: Rename, tmp_path: Path
) -> None:
    run = gate(tmp_path, case)
    assert run.returncode == 1 and case.must_fail in run.failed, run.describe()
    assert case.must_say in run.output, f"the failure should name {case.must_say}\n{run.describe()}"
