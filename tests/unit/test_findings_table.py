"""The findings report and the table in docs/findings.md agree by id, and a disagreement is
caught."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from obsgate.findings import finding_reason, parse_finding_reason
from tools.findings_table import SECTION, disagreements, table_ids

REPO = Path(__file__).resolve().parents[2]

TABLE = textwrap.dedent(
    """\
    # Findings

    | `not-a-finding` | a table before the section |

    ## Findings of the shipped config

    ### defect

    | id | finding |
    |---|---|
    | `bad-template`, and live: `warning-platform` | an undefined template |

    ### hardening

    | id | finding |
    |---|---|
    | `dead-route` (routing) | a route nothing reaches |

    ## Another section

    | `not-a-finding` | a table of another section |
    """
)


def report(*ids: str, hardening: tuple[str, ...] = ("dead-route",)) -> str:
    out = "# Findings\n"
    for category in ("defect", "hardening"):
        rows = [
            f"| `{i}` | seed:1 | routing | text | `suites/x.py::t` |"
            for i in ids
            if (i in hardening) == (category == "hardening")
        ]
        head = "| id | rests on | suite | finding | tests |\n|---|---|---|---|---|"
        out += f"\n## {category}\n\n{head}\n" + "\n".join(rows) + "\n" if rows else ""
    return out


def test_reason_round_trips_id_and_text() -> None:
    reason = finding_reason("critical-platform", "pages twice,\n  never reaches Slack")
    assert parse_finding_reason(reason) == ("critical-platform", "pages twice, never reaches Slack")
    assert parse_finding_reason("finding: no id here") is None


def test_table_ids_come_from_the_findings_section_only() -> None:
    assert table_ids(TABLE, SECTION) == {"dead-route", "bad-template", "warning-platform"}


def test_the_shipped_table_is_under_the_section_the_check_reads() -> None:
    assert len(table_ids((REPO / "docs" / "findings.md").read_text(), SECTION)) >= 1


def test_agreeing_tables_have_no_disagreement() -> None:
    assert disagreements(TABLE, report("dead-route", "bad-template", "warning-platform")) == []


def test_a_finding_missing_from_the_table_is_named() -> None:
    problems = disagreements(TABLE, report("dead-route", "bad-template", "warning-platform", "x"))
    assert problems == [
        "finding x shown by the run is not in the findings table of docs/findings.md"
    ]


def test_a_finding_filed_under_another_category_is_named() -> None:
    problems = disagreements(
        TABLE, report("dead-route", "bad-template", "warning-platform", hardening=())
    )
    assert problems == [
        "finding dead-route is a defect in the run's report but filed under hardening in "
        "docs/findings.md"
    ]


def test_a_fixed_finding_still_in_the_table_is_named() -> None:
    problems = disagreements(TABLE, report("dead-route", "bad-template"))
    assert len(problems) == 1
    assert problems[0].startswith(
        "finding warning-platform is in the findings table of docs/findings.md"
    )


def test_the_gate_writes_findings_by_id(tmp_path: Path) -> None:
    """A real pytest run with the gate's plugin: a strict xfail with a finding reason lands in
    findings.md under its id, and the check command fails until the table names it."""
    (tmp_path / "test_one.py").write_text(
        textwrap.dedent(
            """\
            import pytest
            from obsgate.findings import finding_reason

            @pytest.mark.xfail(strict=True, reason=finding_reason("sample-finding", "a b"))
            def test_shows_a_finding():
                assert False
            """
        )
    )
    reports = tmp_path / "reports"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "-o", "addopts=", f"--reports-dir={reports}", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    findings = (reports / "findings.md").read_text()
    assert table_ids(findings) == {"sample-finding"}
    assert "test_one.py::test_shows_a_finding" in findings
    table = tmp_path / "findings-table.md"
    table.write_text(TABLE)
    check = subprocess.run(
        [sys.executable, "-m", "tools.findings_table", table, reports / "findings.md"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert check.returncode == 1
    assert f"finding sample-finding shown by the run is not in the findings table of {table}" in (
        check.stdout
    )
