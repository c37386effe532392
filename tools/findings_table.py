"""The findings table in docs/findings.md and a run's reports/findings.md must name the same
findings.

Both are tables whose first cell holds finding ids in backticks (a row of docs/findings.md
may group several ids that share one explanation); in docs/findings.md only the table under
the heading "## Findings of the shipped config" counts. `python -m tools.findings_table
docs/findings.md reports/findings.md` (those are also the defaults) exits 1 naming every id
that one side has and the other lacks; run it after a whole-gate run (scripts/test does),
since a partial run shows fewer findings.

Both group their rows by category under a heading named after it (`## defect` in the report,
`### defect` under the docs' section); an id filed under another category on one side than on
the other, or under none, is named too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ID_IN_CELL = re.compile(r"`([a-z0-9][a-z0-9._:/\[\]-]*)`")
SECTION = "## Findings of the shipped config"
CATEGORIES = ("defect", "risk", "hardening")
DEFAULT_TABLE = "docs/findings.md"
DEFAULT_REPORT = "reports/findings.md"


def _section(markdown: str, section: str | None) -> str:
    if section is None:
        return markdown
    if section not in markdown:
        return ""
    return re.split(r"\n## ", markdown.split(section, 1)[1], maxsplit=1)[0]


def table_categories(markdown: str, section: str | None = None) -> dict[str, str | None]:
    """Each backticked id in the first cell of a table row (of `section`, if named), with the
    category its nearest heading names (None: under no category heading)."""
    found: dict[str, str | None] = {}
    category: str | None = None
    for line in _section(markdown, section).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            category = title if title in CATEGORIES else None
        if not line.startswith("|") or line.startswith("|---"):
            continue
        for finding_id in ID_IN_CELL.findall(line.split("|")[1]):
            found[finding_id] = category
    return found


def table_ids(markdown: str, section: str | None = None) -> set[str]:
    """The backticked ids in the first cell of every table row (of `section`, if named)."""
    return set(table_categories(markdown, section))


def disagreements(table: str, report: str, table_name: str = DEFAULT_TABLE) -> list[str]:
    """What keeps the documented table and the run's findings from agreeing, one line each."""
    table_cats, report_cats = table_categories(table, SECTION), table_categories(report)
    in_table, in_report = set(table_cats), set(report_cats)
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
        f"finding {i} is a {report_cats[i] or 'finding without category'} in the run's report "
        f"but filed under {table_cats[i] or 'no category'} in {table_name}"
        for i in sorted(in_table & in_report)
        if table_cats[i] != report_cats[i] and not i.startswith("unnamed:")
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
