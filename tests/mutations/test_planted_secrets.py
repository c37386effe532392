"""Secrets in a team's config never reach the terminal, the reports or the logs.

A copy of the seed config carries real-looking secrets where a team keeps them: a Slack
webhook URL (its path is the secret), PagerDuty keys and an SMTP password written in the
file instead of ${VARS}. The routing suite runs on it, live notifications included; then
everything the run printed and wrote is searched for each secret.
"""

from __future__ import annotations

from pathlib import Path

from tests.gate_subprocess import clean_env, copy_config, edit, run_gate

SECRETS = {
    "'${SLACK_WEBHOOK_URL}'": "https://hooks.slack.com/services/T0PLANTED/B0PLANTED/sl4ckS3cr3tPath",
    "'${SENDGRID_API_KEY}'": "SG.planted-sendgrid-s3cr3t-0123456789",
    "'${PAGERDUTY_SERVICE_KEY_CRITICAL}'": "pd-planted-critical-s3cr3t-0123",
    "'${PAGERDUTY_SERVICE_KEY_PLATFORM}'": "pd-planted-platform-s3cr3t-4567",
}
# The part of each secret that must never appear (the host of a URL is not secret).
NEVER = ["sl4ckS3cr3tPath", "T0PLANTED", "planted-sendgrid-s3cr3t", "planted-critical-s3cr3t",
         "planted-platform-s3cr3t"]  # fmt: skip


def test_planted_secrets_appear_nowhere_the_run_printed_or_wrote(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    am = config / "alertmanager" / "alertmanager.yaml"
    for var, secret in SECRETS.items():
        edit(am, var, f"'{secret}'")
    reports, tmpdir = tmp_path / "reports", tmp_path / "tmp"
    tmpdir.mkdir()
    run = run_gate(
        "--obs-config", str(config), "--reports-dir", str(reports), "-k", "routing",
        suite="suites", env=clean_env(TMPDIR=str(tmpdir)), timeout=300,
    )  # fmt: skip
    assert " passed" in run.output, run.describe()  # the suite ran: its notifications too
    assert (reports / "junit.xml").exists() and (reports / "logs").is_dir(), run.describe()
    written = [p for p in (*reports.rglob("*"), *tmpdir.rglob("*")) if p.is_file()]
    for secret in NEVER:
        assert secret not in run.output, f"{secret} printed:\n{run.describe()}"
        leaks = [str(p) for p in written if secret in p.read_text(errors="replace")]
        assert leaks == [], f"{secret} written to {leaks}"
    assert not list(tmpdir.glob("obs-gate-*")), "the run dir (adapted configs) was left"
