"""`--figures failed`: a large config's run draws the figures a reader has to look at (the
tests that did not pass), not hundreds of figures of passing tests."""

from __future__ import annotations

import re
from pathlib import Path

from tests.gate_subprocess import RULES, clean_env, copy_config, edit, failed_tests, run_gate


def test_only_the_tests_that_did_not_pass_get_figures(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    edit(config / RULES, "> 0.05", "> 0.07")  # HighErrorRate's firing scenarios stay quiet
    reports, junit = tmp_path / "reports", tmp_path / "junit.xml"
    run = run_gate(
        "--obs-config", str(config), "--reports-dir", str(reports), "--figures", "failed",
        "-k", "exact and high-error-rate", junit=junit, env=clean_env(OBS_GATE_FIGURES="on"),
    )  # fmt: skip
    assert run.returncode == 1, run.describe()
    assert re.search(r"\b[1-9]\d* passed", run.output), run.describe()  # quiet ones still pass
    failed = failed_tests(junit)
    assert "test_alert_scenario_exact[high-error-rate-fires]" in failed, run.describe()
    drawn = {p.name for p in (reports / "exact").glob("*.svg")}
    assert drawn == {re.sub(r"[\[\]]+", "-", name).strip("-") + ".svg" for name in failed}
