"""The corpus (fixtures/config/corpus/): configs in the shapes public projects keep, each with
defects planted on purpose. The gate, run as a user runs it (`pytest --obs-config DIR`, from
another directory, the installed suites), must fit each out of the box: no traceback and no
error, each not-applicable suite named once, and failures that are exactly the planted
defects, each showing its evidence: no false alarm."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from obsgate.applicability import NOT_APPLICABLE_ID, REPORT
from tests.gate_subprocess import REPO_ROOT, clean_env, run_gate

CORPUS = REPO_ROOT / "fixtures" / "config" / "corpus"
CONFIGS = sorted(p.parent.name for p in CORPUS.glob("*/planted.yaml"))
# The config-only checks: the live modules would start Prometheus and Alertmanager.
LIVE = ("test_rules_deployed", "test_routing_semantics", "test_dashboards_live")


def run_corpus(name: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "pytest", "--obs-config", str(CORPUS / name)]
    cmd += ["-p", "no:locust", "-p", "no:cacheprovider", "-p", "no:html", "-q"]
    cmd += ["--reports-dir", str(reports), "-k", " and ".join(f"not {m}" for m in LIVE)]
    proc = subprocess.run(
        cmd,
        cwd=tmp_path,  # a team's repository: the gate's own checkout is not where it runs
        env=clean_env(CI="true"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return proc, reports


def outcomes(junit: Path) -> tuple[dict[str, str], list[str]]:
    """Failed or errored test names with their message and text, and not-applicable items."""
    failed: dict[str, str] = {}
    not_applicable: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                failed[name] = f"{node.get('message', '')}\n{node.text or ''}"
        if name.startswith(NOT_APPLICABLE_ID) and case.find("skipped") is not None:
            not_applicable.append(case.get("classname", ""))
    return failed, not_applicable


@pytest.mark.parametrize("name", CONFIGS)
def test_corpus_config_fails_exactly_its_planted_defects(name: str, tmp_path: Path) -> None:
    planted = yaml.safe_load((CORPUS / name / "planted.yaml").read_text())
    proc, reports = run_corpus(name, tmp_path)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-6000:]
    assert "INTERNALERROR" not in output and "UsageError" not in output, output[-6000:]
    assert "mindweave" not in output.lower(), f"a MindWeave file was looked for:\n{output[-6000:]}"
    failed, not_applicable = outcomes(reports / "junit.xml")
    expected = {f["test"]: f["evidence"] for f in planted["failures"]}
    assert set(failed) == set(expected), (
        f"false alarms: {sorted(set(failed) - set(expected))}; "
        f"planted but not found: {sorted(set(expected) - set(failed))}\n{output[-6000:]}"
    )
    for test, evidence in expected.items():
        assert evidence in failed[test], f"{test} does not show {evidence!r}:\n{failed[test]}"
    assert proc.returncode == 1, output[-3000:]  # failures, under CI=true: not a usage error
    # Each suite the config cannot serve at all says so once, in the run and in the report.
    suites = [c.rsplit(".", 1)[-1] for c in not_applicable]
    assert sorted(set(suites)) == sorted(planted["not_applicable"]), not_applicable
    table = (reports / REPORT).read_text()
    for suite in planted["not_applicable"]:
        assert f"| {suite} |" in table, table
    summary = output[output.index("= not applicable =") :]
    lines = [line for line in summary.splitlines() if ": not applicable: " in line]
    assert len(lines) == len(set(lines)), lines


def test_rules_load_on_the_gate_s_prometheus_without_a_prometheus_file(tmp_path: Path) -> None:
    """A rules repository keeps no prometheus.yaml: the gate's Prometheus loads its rules
    with Prometheus' defaults, instead of refusing the test for a file it reads only
    `global` from."""

    run = run_gate(
        f"--obs-config={CORPUS / 'kube-prometheus'}", "-k", "rules_deployed",
        junit=tmp_path / "junit.xml",
    )  # fmt: skip
    assert run.returncode == 0, run.describe()
    assert "1 passed" in run.output, run.describe()
