"""`tools.outcomes_compare` judges only the packages it is told to: a suite one run left
out is not a difference, a test of a kept package that ran in one run only is."""

from __future__ import annotations

from pathlib import Path

from tools.outcomes_compare import main


def junit(path: Path, *cases: tuple[str, str], failed: str = "") -> Path:
    """A JUnit XML of `cases` (classname, name), the one named `failed` failing."""
    body = "".join(
        f'<testcase classname="{c}" name="{n}">{"<failure/>" if n == failed else ""}</testcase>'
        for c, n in cases
    )
    path.write_text(f'<testsuites><testsuite name="pytest">{body}</testsuite></testsuites>')
    return path


def test_a_package_left_out_of_both_lists_is_not_compared(tmp_path: Path) -> None:
    whole = junit(tmp_path / "a.xml", ("suites.alerts.test_a", "t"),
                  ("suites.tracing.test_b", "t"))  # fmt: skip
    part = junit(tmp_path / "b.xml", ("suites.alerts.test_a", "t"))
    assert main([str(whole), str(part), "--under", "suites/alerts", "--under", "loadtests"]) == 0
    assert main([str(whole), str(part), "--under", "suites"]) == 1


def test_a_kept_test_with_another_outcome_differs(tmp_path: Path) -> None:
    first = junit(tmp_path / "a.xml", ("suites.alerts.test_a", "t"))
    second = junit(tmp_path / "b.xml", ("suites.alerts.test_a", "t"), failed="t")
    assert main([str(first), str(second), "--under", "suites/alerts"]) == 1
