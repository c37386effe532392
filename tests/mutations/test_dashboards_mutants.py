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


OVERVIEW = Path("dashboards") / "mindweave-overview.json"
BUSINESS = Path("dashboards") / "mindweave-business.json"
READINGS_SUITE = "suites/dashboards/test_dashboards_readings.py"


@dataclass(frozen=True)
class PanelBreak:
    id: str
    file: Path
    old: str
    new: str
    must_fail: str
    must_say: str


PANEL_CASES = [
    PanelBreak(  # staging's requests counted in: the readings' world has them
        "request-rate-namespace-dropped",
        OVERVIEW,
        '"expr": "sum(rate(http_requests_total{namespace=\\"mindweave-services\\"}[5m]))",',
        '"expr": "sum(rate(http_requests_total[5m]))",',
        "test_panel_reads_what_its_intent_says[mindweave-overview/Request Rate]",
        "{}: reads 250, intended 150",
    ),
    PanelBreak(
        "p99-without-le",
        OVERVIEW,
        '[5m])) by (le))"\n',
        '[5m])))"\n',
        "test_every_panel_quantile_keeps_the_le_label",
        "mindweave-overview/P99 Latency: histogram_quantile(0.99, sum(",
    ),
    PanelBreak(
        "daily-total-over-an-hour",
        BUSINESS,
        '"expr": "sum(increase(mindweave_api_calls_total[24h]))"',
        '"expr": "sum(increase(mindweave_api_calls_total[1h]))"',
        "test_a_panel_titled_with_a_window_reads_over_that_window",
        "mindweave-business/Total API Calls (24h): reads over ['1h']",
    ),
]


@pytest.mark.parametrize("case", PANEL_CASES, ids=[c.id for c in PANEL_CASES])
def test_a_broken_panel_query_fails_the_dashboards_suite_naming_the_panel(
    case: PanelBreak, tmp_path: Path
) -> None:
    config = copy_config(tmp_path / "config")
    edit(config / case.file, case.old, case.new)
    run = run_gate(f"--obs-config={config}", READINGS_SUITE, junit=tmp_path / "junit.xml",
                   suite=SUITE, timeout=120)  # fmt: skip
    assert run.returncode == 1 and case.must_fail in run.failed, run.describe()
    assert case.must_say in run.output, f"the failure should say {case.must_say}\n{run.describe()}"
