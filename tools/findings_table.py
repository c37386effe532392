"""The README's findings table and a run's reports/findings.md must name the same findings.

Both are tables whose first cell holds finding ids in backticks (a README row may group
several ids that share one explanation). `python -m tools.findings_table README.md
reports/findings.md` exits 1 naming every id that one side has and the other lacks; run it
after a whole-gate run (scripts/test does), since a partial run shows fewer findings.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ID_IN_CELL = re.compile(r"`([a-z0-9][a-z0-9._:/\[\]-]*)`")
SECTION = "## Findings"


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


def disagreements(readme: str, report: str) -> list[str]:
    """What keeps the README's table and the run's findings from agreeing, one line each."""
    in_readme, in_report = table_ids(readme, SECTION), table_ids(report)
    problems = [
        f"finding {i} shown by the run is not in the README's findings table"
        for i in sorted(in_report - in_readme)
    ]
    problems += [
        f"finding {i} is in the README's findings table but no test of the run showed it "
        "(fixed? remove the row)"
        for i in sorted(in_readme - in_report)
    ]
    problems += [
        f"{i}: a finding's xfail reason must be 'finding: <id>: <text>'"
        for i in sorted(in_report)
        if i.startswith("unnamed:")
    ]
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tools.findings_table README.md reports/findings.md")
        return 2
    readme, report = (Path(a) for a in argv)
    for path in (readme, report):
        if not path.is_file():
            print(f"findings table check: {path} does not exist (run the whole gate first)")
            return 2
    problems = disagreements(readme.read_text(), report.read_text())
    for line in problems:
        print(f"findings table check: {line}")
    if not problems:
        print(f"findings table check: {readme} and {report} name the same findings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
