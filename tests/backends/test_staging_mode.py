"""Staging mode: the gate against a stack started outside pytest (--stack external).

The stand-in (obsgate/stack/standalone.py) runs the shipped config as a deployment would.
Read-only tests run against it and pass; tests that write are deselected by name; and a
reviewed config that differs from what the servers run (one threshold, one route) fails,
naming the rule or the route: the pre-release question "does staging run what we reviewed?".
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsgate.wait import eventually
from tests.gate_subprocess import REPO_ROOT, RULES, clean_env, copy_config, edit, run_gate

READY_WAIT = 60.0


@pytest.fixture(scope="module")
def standin_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The stand-in running the shipped config; yields the OBS_* env a user would export."""
    work = tmp_path_factory.mktemp("standin")
    env_file, log = work / "stack.env", work / "standin.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "obsgate.stack.standalone", f"--env-file={env_file}"],
            cwd=REPO_ROOT, env=clean_env(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def written() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"the staging stand-in did not start; its log:\n{log.read_text()}")
            return env_file.exists()

        eventually(
            written,
            timeout=READY_WAIT,
            what=f"the staging stand-in to write {env_file.name}",
            on_timeout=lambda: f"its log:\n{log.read_text()}",
        )
        pairs = (line.split("=", 1) for line in env_file.read_text().splitlines() if line)
        yield {k: v for k, v in pairs if k != "OBS_CONFIG_DIR"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_read_only_suites_pass_and_writers_are_named(
    standin_env: dict[str, str], tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    run = run_gate(junit=junit, env=clean_env(**standin_env), suite="suites/routing")
    assert run.returncode == 0, run.describe()
    ran = {case.get("name", "") for case in ET.parse(junit).getroot().iter("testcase")}
    against_staging = [n for n in ran if n.startswith("test_running_alertmanager_routes")]
    assert against_staging, f"no test read the running Alertmanager: {sorted(ran)}"
    assert (
        "deselected on --stack external: suites/routing/test_routing_semantics.py::"
        "test_continue_lets_an_alert_reach_every_matching_route: "
        "pushes test alerts into Alertmanager"
    ) in run.output, run.describe()


def test_a_threshold_staging_does_not_run_fails_naming_the_rule(
    standin_env: dict[str, str], tmp_path: Path
) -> None:
    reviewed = copy_config(tmp_path / "config")
    edit(reviewed / RULES, "[5m])) > 0.05", "[5m])) > 0.02")
    junit = tmp_path / "junit.xml"
    run = run_gate(
        f"--obs-config={reviewed}",
        junit=junit,
        env=clean_env(**standin_env),
        suite="suites/alerts/test_rules_deployed.py",
    )
    assert run.failed == {"test_every_alert_rule_is_loaded_as_the_config_says"}, run.describe()
    assert "HighErrorRate" in run.output and "the server has" in run.output, run.describe()


def test_a_route_staging_does_not_run_fails_naming_the_label_set(
    standin_env: dict[str, str], tmp_path: Path
) -> None:
    """Reviewed: customer-success warnings move to the default receiver, config and intent
    together. Offline that holds; staging still runs the old route, and the gate says so."""
    reviewed = copy_config(tmp_path / "config")
    edit(
        reviewed / "alertmanager" / "alertmanager.yaml",
        "        team: customer-success\n      receiver: 'slack-customer-success'",
        "        team: customer-success\n      receiver: 'default-receiver'",
    )
    edit(
        reviewed / "scenarios" / "routing" / "routes.yaml",
        'pages nobody."\n    receivers: [slack-customer-success]',
        'pages nobody."\n    receivers: [default-receiver]',
    )
    junit = tmp_path / "junit.xml"
    run = run_gate(
        f"--obs-config={reviewed}",
        "-k",
        "warning-customer-success",
        junit=junit,
        env=clean_env(**standin_env),
        suite="suites/routing/test_routes_amtool.py",
    )
    assert run.failed == {
        "test_running_alertmanager_routes_label_set_as_intended"
        "[warning-customer-success:BudgetThresholdApproaching]"
    }, run.describe()
    assert "slack-customer-success" in run.output, run.describe()
