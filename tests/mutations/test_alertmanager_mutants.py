"""Break one line of the Alertmanager config in a copy: the routing or the inhibition suite
goes red, naming the alert and the receivers or rule, even where a finding already marks it.

Routing runs offline only (amtool): the live layer replays the same cases.
"""

from __future__ import annotations

from pathlib import Path

from tests.gate_subprocess import copy_config, edit, run_gate

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


def test_changing_an_inhibit_target_matcher_stops_the_run_naming_rule_and_alerts(
    tmp_path: Path,
) -> None:
    """The intent's hand-made pair no longer satisfies the rule: one line, exit non-zero."""
    config = copy_config(tmp_path / "config")
    edit(config / AM, "      alertname: 'High.*'", "      alertname: 'Higher.*'")
    run = run_gate(f"--obs-config={config}", suite="suites/inhibition")
    assert run.returncode not in (0, 5), run.describe()
    assert "Traceback" not in run.output, run.describe()
    assert "HighLatency" in run.output and "inhibit_rules[1]" in run.output, run.describe()


def test_changing_an_inhibit_rules_equal_labels_fails_the_suite(tmp_path: Path) -> None:
    """`equal: [cluster]` makes ServiceDown mute High* alerts (no rule's alert carries
    cluster): the dead-rule finding no longer shows as documented, so the run goes red."""
    config = copy_config(tmp_path / "config")
    edit(config / AM, "    equal: ['namespace']", "    equal: ['cluster']")
    run = run_gate(
        f"--obs-config={config}", junit=tmp_path / "junit.xml", suite="suites/inhibition"
    )
    assert run.returncode == 1, run.describe()
    assert any("service-down-mutes-high-star-in-namespace" in n for n in run.failed), run.describe()


def test_changing_a_receivers_channel_fails_naming_it(tmp_path: Path) -> None:
    """The route still reaches the receiver, so only its intent can see the message now goes
    to another team's channel."""
    config = copy_config(tmp_path / "config")
    edit(config / AM, "      - channel: '#security-alerts'", "      - channel: '#alerts-general'")
    run = run_gate(
        f"--obs-config={config}", "-k", "intended_fields", junit=tmp_path / "junit.xml",
        suite="suites/routing",
    )  # fmt: skip
    assert run.returncode == 1, run.describe()
    assert run.failed == {"test_every_receiver_sends_the_intended_fields"}, run.describe()
    said = "slack-security: slack: channel is '#alerts-general', the intent says '#security-alerts'"
    assert said in run.output, run.describe()
