"""Break one line of the routing tree in a copy of the config: the routing suite goes red,
naming the alert and the receivers, even where a finding already marks that alert's route.

Offline only (amtool): the live layer replays the same cases and is covered by the alert
breakage tests' live case.
"""

from __future__ import annotations

from pathlib import Path

from gate_subprocess import copy_config, edit, run_gate

AM = Path("alertmanager") / "alertmanager.yaml"
OFFLINE = ("-k", "amtool")


def broken_run(tmp_path: Path, old: str, new: str):  # type: ignore[no-untyped-def]
    config = copy_config(tmp_path / "config")
    edit(config / AM, old, new)
    junit = tmp_path / "junit.xml"
    return run_gate(f"--obs-config={config}", *OFFLINE, junit=junit, suite="suites/routing")


def test_removing_continue_fails_naming_alert_and_receivers(tmp_path: Path) -> None:
    """Without `continue`, critical alerts stop at pagerduty-critical: not the intent, and not
    the double page the finding documents either, so the finding must not hide it."""
    run = broken_run(
        tmp_path,
        "      receiver: 'pagerduty-critical'\n      continue: true\n",
        "      receiver: 'pagerduty-critical'\n",
    )
    assert run.returncode == 1, run.describe()
    assert any("critical-platform:HighErrorRate" in name for name in run.failed), run.describe()
    assert "Alertmanager routes to ['pagerduty-critical']" in run.output, run.describe()


def test_renaming_a_team_receiver_fails_naming_it(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    text = (config / AM).read_text()
    (config / AM).write_text(text.replace("slack-customer-success", "slack-cs"))
    run = run_gate(
        f"--obs-config={config}", *OFFLINE, junit=tmp_path / "junit.xml", suite="suites/routing"
    )
    assert run.returncode == 1, run.describe()
    assert any(
        "warning-customer-success:BudgetThresholdApproaching" in name for name in run.failed
    ), run.describe()
    assert "Alertmanager routes to ['slack-cs']" in run.output, run.describe()


def test_unmodified_config_passes_offline_routing(tmp_path: Path) -> None:
    run = run_gate(*OFFLINE, junit=tmp_path / "junit.xml", suite="suites/routing")
    assert run.returncode == 0, run.describe()
