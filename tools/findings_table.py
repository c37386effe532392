"""The findings table in docs/findings.md and a run's reports/findings.md must name the same
findings.

Both are tables whose first cell holds finding ids in backticks (a row of docs/findings.md
may group several ids that share one explanation); in docs/findings.md only the table under
the heading "## Findings of the shipped config" counts. `python -m tools.findings_table
docs/findings.md reports/findings.md` (those are also the defaults) exits 1 naming every id
that one side has and the other lacks; run it after a whole-gate run (scripts/test does),
since a partial run shows fewer findings.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ID_IN_CELL = re.compile(r"`([a-z0-9][a-z0-9._:/\[\]-]*)`")
SECTION = "## Findings of the shipped config"
DEFAULT_TABLE = "docs/findings.md"
DEFAULT_REPORT = "reports/findings.md"


def table_ids(markdown: str, section: str | None = None) -> set[str]:
    """The backticked ids in the first cell of every table row (of `section`, if named)."""
    if section is not None:
        if section not in markdown:
            return set()
        markdown = markdown.split(section, 1)[1]
        markdown = re.split(r"\n## ", markdown, maxsplit=1)[0]
    ids: set[str] = set()
    for line in markdown.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        first = line.split("|")[1]
        ids.update(ID_IN_CELL.findall(first))
    return ids


def disagreements(table: str, report: str, table_name: str = DEFAULT_TABLE) -> list[str]:
    """What keeps the documented table and the run's findings from agreeing, one line each."""
    in_table, in_report = table_ids(table, SECTION), table_ids(report)
    problems = [
        f"finding {i} shown by the run is not in the findings table of {table_name}"
        for i in sorted(in_report - in_table)
    ]
    problems += [
        f"finding {i} is in the findings table of {table_name} but no test of the run "
        "showed it (fixed? remove the row)"
        for i in sorted(in_table - in_report)
    ]
    problems += [
        f"{i}: a finding's xfail reason must be 'finding: <id>: <text>'"
        for i in sorted(in_report)
        if i.startswith("unnamed:")
    ]
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        argv = [DEFAULT_TABLE, DEFAULT_REPORT]
    if len(argv) != 2:
        print(f"usage: python -m tools.findings_table [{DEFAULT_TABLE} {DEFAULT_REPORT}]")
        return 2
    table, report = (Path(a) for a in argv)
    for path in (table, report):
        if not path.is_file():
            print(f"findings table check: {path} does not exist (run the whole gate first)")
            return 2
    problems = disagreements(table.read_text(), report.read_text(), str(table))
    for line in problems:
        print(f"findings table check: {line}")
    if not problems:
        print(f"findings table check: {table} and {report} name the same findings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
