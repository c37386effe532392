"""The self-test report shows the kill rate the last run of the same config reported."""

from __future__ import annotations

import json
from pathlib import Path

from obsgate.selftest.report import previous_run


def write_report(reports: Path, **doc: object) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "self-test.json").write_text(json.dumps(doc))


def test_the_last_report_of_the_same_config_is_the_before_figure(tmp_path: Path) -> None:
    config = tmp_path / "team-config"
    write_report(tmp_path / "r", config=str(config), kill_rate=0.25, mutants=[{}] * 8,
                 finished="2026-12-05 04:00:00", interrupted=False)  # fmt: skip
    before = previous_run(tmp_path / "r", config)
    assert before is not None
    assert before.text() == "25.0 % (8 mutants, 2026-12-05 04:00:00)"


def test_another_config_an_interrupted_run_or_no_report_give_no_before(tmp_path: Path) -> None:
    config = tmp_path / "team-config"
    write_report(tmp_path / "other", config=str(tmp_path / "x"), kill_rate=0.5, mutants=[])
    write_report(tmp_path / "cut", config=str(config), kill_rate=0.5, interrupted=True)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "self-test.json").write_text("{not json")
    for reports in ("other", "cut", "bad", "none"):
        assert previous_run(tmp_path / reports, config) is None, reports
