"""Two runs of the gate must agree test by test: e.g. the process and containers backends.

    python -m tools.outcomes_compare A.xml B.xml [--under suites [--under loadtests ...]]

Reads both JUnit XMLs (tools.flake_check.outcomes), keeps the tests whose module is
under one of the `--under` package paths (default: all), and names every test whose outcome
differs, or that ran in one and not the other. Exit 1 if any does, 2 if a file is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.flake_check import outcomes, varying


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.outcomes_compare", description=__doc__)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument(
        "--under", action="append", default=[], help="only tests of this package, e.g. suites"
    )
    args = parser.parse_args(argv)
    for path in (args.first, args.second):
        if not path.exists():
            print(f"outcomes compare: {path} does not exist (did that run write its JUnit XML?)")
            return 2
    prefixes = tuple(f"{u.strip('/').replace('/', '.')}." for u in args.under)
    runs = [
        {t: o for t, o in outcomes(p).items() if not prefixes or t.startswith(prefixes)}
        for p in (args.first, args.second)
    ]
    differ = varying(runs)
    for test_id, seen in differ.items():
        print(
            f"outcomes compare: DIFFER {test_id}: "
            f"{seen[0]} in {args.first}, {seen[1]} in {args.second}"
        )
    total = len(set().union(*runs))
    print(
        f"outcomes compare: {len(differ)} of {total} tests differ "
        f"between {args.first} and {args.second}"
    )
    return 1 if differ or not total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
