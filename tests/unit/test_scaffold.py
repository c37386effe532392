"""`obs-gate scaffold`: stubs that promtool passes as written, for the rules without scenarios,
that catch a threshold nudged one step; TODO stubs elsewhere; nothing overwritten."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from obsgate.scenarios.exact import run_exact
from obsgate.scenarios.model import load_scenarios
from obsgate.selftest.scaffold import example_of, plan_series
from tests.gate_subprocess import REPO_ROOT, clean_env, run_gate

RULES = """\
groups:
  - name: example
    rules:
      - alert: ApiErrorRatio
        expr: |
          sum by (service) (rate(http_requests_total{job="api",code=~"5.."}[5m]))
            / sum by (service) (rate(http_requests_total{job="api"}[5m])) > 0.05
        for: 10m
        labels: {severity: critical}
        annotations: {summary: 'errors at {{ $value | humanizePercentage }}'}
      - alert: QueueStuck
        expr: max by (queue) (queue_consumers{env="prod"}) == 0
        for: 1m
        labels: {severity: warning}
      - alert: DiskAndInodes
        expr: disk_free_ratio < 0.1 and inode_free_ratio < 0.1
        labels: {severity: warning}
"""


@pytest.mark.parametrize(
    ("regex", "example"),
    [("5..", "500"), ("md.+", "md0"), ("warning|critical", "warning"), ("[a-c]x", "ax")],
)
def test_a_regex_matcher_gets_a_value_it_matches(regex: str, example: str) -> None:
    assert example_of(regex) == example
    assert re.fullmatch(regex, example)


def test_a_ratio_gets_a_narrow_and_a_broad_series_of_one_metric() -> None:
    """The 5xx series and one the broad selector counts but the narrow one does not, both
    with the label the division matches on."""
    plans = plan_series(
        'sum by (service) (rate(x_total{code=~"5.."}[5m])) / sum by (service) (rate(x_total[5m]))',
        "test",
    )
    assert isinstance(plans, list)
    assert [p.selector() for p in plans] == [
        'x_total{code="500",service="service-1"}',
        'x_total{code="200",service="service-1"}',
    ]
    assert all(p.counter for p in plans)


def test_a_join_gives_every_series_the_labels_it_matches_on() -> None:
    plans = plan_series(
        "(a{job='k'} > 3) * on (namespace, pod) group_left (node)"
        " max by (namespace, pod, node) (b)",
        "test",
    )
    assert isinstance(plans, list)
    assert {p.labels["namespace"] for p in plans} == {"namespace-1"}
    assert {p.labels["pod"] for p in plans} == {"pod-1"}


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    root = tmp_path / "team-config"
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "example.yml").write_text(RULES)
    (root / "obs-gate.yaml").write_text(
        "rules: rules/*.yml\nslos: []\npolicy:\n  required_alert_labels: [severity]\n"
    )
    return root


def scaffold_command(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "obsgate.cli", "scaffold", str(root)],
        cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_scaffolded_scenarios_pass_the_exact_layer_and_catch_a_nudged_threshold(
    config_dir: Path, tmp_path: Path
) -> None:
    done = scaffold_command(config_dir)
    assert done.returncode == 0, done.stderr
    written = config_dir / "scenarios" / "alerts" / "scaffolded.yaml"
    assert f"{written}: 9 scenarios checked by promtool, 1 TODO stubs" in done.stdout, done.stdout
    scenarios = {s.id: s for s in load_scenarios(written.parent)}
    assert sorted(scenarios) == [
        "api-error-ratio-at-threshold-quiet",
        "api-error-ratio-beside-other-code",  # one per label a matcher names
        "api-error-ratio-beside-other-job",
        "api-error-ratio-fires",
        "api-error-ratio-short-burst-quiet",
        "queue-stuck-at-threshold-quiet",
        "queue-stuck-beside-other-env",
        "queue-stuck-fires",
        "queue-stuck-short-burst-quiet",  # `for: 1m` outlasts a 30 s burst (no range window)
    ], done.stdout
    fires = scenarios["api-error-ratio-fires"]
    [alert] = next(cp.firing for cp in fires.expect if cp.firing)
    assert alert.labels == {"service": "service-1", "severity": "critical"}
    assert re.fullmatch(r"errors at 5\.\d+%", alert.annotations["summary"]), alert.annotations
    assert "# TODO DiskAndInodes (example.yml:" in written.read_text()

    # The gate's own exact layer runs them as a user's scenarios: all pass; and every matcher
    # of the scaffolded rules is exercised (the coverage check a scaffolded config meets).
    run = run_gate(f"--obs-config={config_dir}", "-k", "exact or matcher_of_a_rule",
                   junit=tmp_path / "junit.xml")  # fmt: skip
    assert run.returncode == 0, run.describe()
    assert "10 passed" in run.output, run.describe()

    # The numerator's code matcher dropped: the 5xx-free pair now counts its other codes.
    dropped = tmp_path / "dropped.yml"
    dropped.write_text(RULES.replace('{job="api",code=~"5.."}', '{job="api"}', 1))
    pair = scenarios["api-error-ratio-beside-other-code"]
    result = run_exact(pair, [dropped], tmp_path / "exact-pair")
    assert not result.ok, result.tool_output

    # "Just past the threshold": the threshold nudged one step (0.05 -> 0.06) stops it firing.
    nudged = tmp_path / "nudged.yml"
    nudged.write_text(RULES.replace("> 0.05", "> 0.06"))
    result = run_exact(fires, [nudged], tmp_path / "exact")
    assert not result.ok, result.tool_output
    assert "alertname: ApiErrorRatio" in result.tool_output


def test_scaffold_overwrites_nothing_and_writes_once(config_dir: Path) -> None:
    folder = config_dir / "scenarios" / "alerts"
    folder.mkdir(parents=True)
    mine = folder / "scaffolded.yaml"
    mine.write_text("scenarios: []\n# the team's own file\n")
    first = scaffold_command(config_dir)
    assert first.returncode == 0, first.stderr
    assert mine.read_text() == "scenarios: []\n# the team's own file\n"
    assert (folder / "scaffolded-2.yaml").is_file(), first.stdout
    again = scaffold_command(config_dir)
    assert again.returncode == 0, again.stderr
    assert "nothing written" in again.stdout, again.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["scaffolded-2.yaml", "scaffolded.yaml"]
    assert yaml.safe_load((folder / "scaffolded-2.yaml").read_text())["scenarios"]


def test_a_config_that_does_not_load_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "x.yml").write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n")
    (root / "obs-gate.yaml").write_text("rules: rules/*.yml\nslos: []\n")
    done = scaffold_command(root)
    assert done.returncode == 4, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("obs-gate scaffold: "), done.stderr
    assert "x.yml" in lines[0] and "Traceback" not in done.stderr, done.stderr
