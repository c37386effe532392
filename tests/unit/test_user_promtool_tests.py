"""Users' own promtool tests run by the gate (`promtool_tests:` in obs-gate.yaml).

The configs below are written here in the shape jsonnet mixins use: a generated
`prometheus_alerts.yaml` with a `tests.yaml` beside it that names it in `rule_files`, the
same rules deployed as a PrometheusRule, and a test naming a file the config does not have.
promtool (the default line) really runs every case.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from obsgate.config import ObsConfig
from obsgate.config.rules import OPERATOR_API
from obsgate.errors import ConfigError
from obsgate.scenarios.promtool_tests import live_scenarios, load_cases, run_cases

REPO = Path(__file__).resolve().parents[2]
MODULE = "suites/alerts/test_user_promtool_tests.py"

GROUPS = """\
- name: node-disk
  rules:
  - alert: NodeDiskAlmostFull
    expr: |
      node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes < 0.10
    for: 15m
    labels:
      severity: warning
    annotations:
      summary: Disk {{ $labels.device }} on {{ $labels.instance }} is almost full.
"""
CASE = """\
  - interval: 1m
    input_series:
      - series: 'node_filesystem_avail_bytes{device="sda1",fstype="ext4",instance="node-1"}'
        values: '50x30'
      - series: 'node_filesystem_size_bytes{device="sda1",fstype="ext4",instance="node-1"}'
        values: '1000x30'
    alert_rule_test:
      - eval_time: 10m
        alertname: NodeDiskAlmostFull
        exp_alerts: []
      - eval_time: 20m
        alertname: NodeDiskAlmostFull
        exp_alerts:
          - exp_labels:
              {severity: SEVERITY, device: sda1, fstype: ext4, instance: node-1}
            exp_annotations: {summary: Disk sda1 on node-1 is almost full.}
"""


def promtool_test_file(rule_file: str, *severities: str) -> str:
    """A mixin's tests.yaml: one case per severity expected of the alert (the rule says
    warning, so a case expecting another fails)."""
    cases = "".join(CASE.replace("SEVERITY", s) for s in severities)
    return f"rule_files:\n  - {rule_file}\nevaluation_interval: 1m\ntests:\n{cases}"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def mixin_config(root: Path, *severities: str) -> Path:
    """Rules and their tests as a mixin generates them, the rules plain."""
    write(root / "mixin" / "prometheus_alerts.yaml", "groups:\n" + textwrap.indent(GROUPS, "  "))
    write(root / "mixin" / "tests.yaml", promtool_test_file("prometheus_alerts.yaml", *severities))
    write(
        root / "obs-gate.yaml",
        "rules: mixin/prometheus_alerts.yaml\npromtool_tests: mixin/tests.yaml\n",
    )
    return root


def crd(name: str) -> str:
    head = f"apiVersion: {OPERATOR_API}\nkind: PrometheusRule\nmetadata:\n  name: {name}\n"
    return head + "spec:\n  groups:\n" + textwrap.indent(GROUPS, "  ")


def gate(config: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The gate on this module alone, as a user runs it, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OBS_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", MODULE, "--obs-config", str(config),
         "-p", "no:cacheprovider", "-o", "addopts=-p no:locust",
         "--reports-dir", str(tmp_path / "reports"), *args],
        capture_output=True, text=True, timeout=240, check=False, cwd=REPO, env=env,
    )  # fmt: skip


def line_of(path: Path, text: str, nth: int = 0) -> int:
    """1-based line of the nth line of `path` that starts with `text` (after indentation)."""
    hits = [
        n
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if line.strip().startswith(text)
    ]
    return hits[nth]


# -- the gate's items and verdicts ----------------------------------------------------------


def test_each_case_is_an_item_and_a_failing_one_shows_promtools_diff(tmp_path: Path) -> None:
    config = mixin_config(tmp_path / "cfg", "warning", "critical")
    junit = tmp_path / "junit.xml"
    run = gate(config, tmp_path, "--junitxml", str(junit))
    assert run.returncode == 1, run.stdout + run.stderr
    cases = {c.get("name"): c.find("failure") for c in ET.parse(junit).getroot().iter("testcase")}
    first, second = "mixin/tests.yaml#0-NodeDiskAlmostFull", "mixin/tests.yaml#1-NodeDiskAlmostFull"
    assert sorted(cases) == [f"test_promtool_case[{first}]", f"test_promtool_case[{second}]"]
    assert cases[f"test_promtool_case[{first}]"] is None
    failure = cases[f"test_promtool_case[{second}]"]
    assert failure is not None
    text = failure.get("message", "") + (failure.text or "")
    test_file = config / "mixin" / "tests.yaml"
    assert f"{test_file}:{line_of(test_file, '- interval:', 1)} (tests[1])" in text
    exp, got = text.index("exp:["), text.index("got:[")
    assert 'severity="critical"' in text[exp:got]  # what the case expects
    assert 'severity="warning"' in text[got:]  # what the rule gives
    assert "obs-gate-" not in text.split("Processing test file:")[1].splitlines()[0]


@pytest.mark.parametrize(
    "manifest", ["rules: mixin/prometheus_alerts.yaml\n", None], ids=["no-tests", "mindweave"]
)
def test_a_config_without_promtool_tests_collects_nothing_from_the_module(
    tmp_path: Path, manifest: str | None
) -> None:
    if manifest is None:
        config = REPO / "fixtures" / "config" / "mindweave"
        assert not ObsConfig(config).files("promtool_tests")
    else:
        config = mixin_config(tmp_path / "cfg", "warning")
        (config / "obs-gate.yaml").write_text(manifest)
    run = gate(config, tmp_path, "--collect-only", "-q")
    assert run.returncode == 5, run.stdout + run.stderr  # pytest's "no tests collected"
    assert "::" not in run.stdout and "empty parameter set" not in run.stdout


def test_a_rule_file_the_config_lacks_stops_the_run_in_one_line(tmp_path: Path) -> None:
    config = mixin_config(tmp_path / "cfg", "warning")
    test_file = config / "mixin" / "tests.yaml"
    text = test_file.read_text().replace(
        "  - prometheus_alerts.yaml\n", "  - prometheus_alerts.yaml\n  - kube_alerts.yaml\n"
    )
    test_file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_cases(ObsConfig(config))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{test_file}:{line_of(test_file, '- kube_alerts.yaml')}: ")
    assert "'kube_alerts.yaml'" in message and "mixin/prometheus_alerts.yaml" in message
    run = gate(config, tmp_path, "-q")
    assert run.returncode == 4 and "Traceback" not in run.stdout + run.stderr
    assert message in run.stderr


# -- rule files resolved to the config's own --------------------------------------------------


@pytest.mark.parametrize("tests_at", ["deploy/tests.yaml", "tests/alerts/tests.yaml"])
def test_a_test_naming_a_crds_file_runs_on_the_materialized_rules(
    tmp_path: Path, tests_at: str
) -> None:
    """Beside the CRD, `rules.yaml` is the CRD itself; elsewhere, the config's file of that
    name: either way promtool loads the plain rules the gate materialized from it."""
    config = tmp_path / "cfg"
    rules = write(config / "deploy" / "rules.yaml", crd("node-disk"))
    write(config / tests_at, promtool_test_file("rules.yaml", "warning"))
    write(config / "obs-gate.yaml", f"rules: deploy/rules.yaml\npromtool_tests: {tests_at}\n")
    obs = ObsConfig(config)
    [only] = load_cases(obs)
    materialized = [s.path for s in obs.rule_sources()]
    assert list(only.rule_files) == materialized and rules not in materialized
    assert all(obs.cache_dir in p.parents for p in materialized)
    result = run_cases([only], obs, tmp_path / "work")[only.id]
    assert result.ok, result.output
    written = yaml.safe_load(result.test_file.read_text())
    assert written["rule_files"] == [str(p) for p in materialized]


def test_a_plain_case_is_a_live_scenario_and_an_expression_case_is_not(tmp_path: Path) -> None:
    config = mixin_config(tmp_path / "cfg", "warning")
    test_file = config / "mixin" / "tests.yaml"
    doc = yaml.safe_load(test_file.read_text())
    expr_case = dict(doc["tests"][0])
    expr_case["promql_expr_test"] = [{"expr": "node_filesystem_size_bytes", "eval_time": "1m"}]
    doc["tests"].append(expr_case)
    test_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    obs = ObsConfig(config)
    plain, with_expr = load_cases(obs)
    [scenario], reason = live_scenarios(plain, obs)
    assert reason == ""
    assert scenario.alert == "NodeDiskAlmostFull" and scenario.interval_seconds == 60
    assert [(cp.at_seconds, len(cp.firing)) for cp in scenario.expect] == [(600, 0), (1200, 1)]
    assert scenario.expect[1].firing[0].labels["severity"] == "warning"
    assert [s.name for s in scenario.series] == [
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
    ]
    none, why = live_scenarios(with_expr, obs)
    assert none == [] and "PromQL" in why
