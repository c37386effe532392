"""Run the gate N times and name every test whose outcome varied: a gate must not flake.

    python -m tools.flake_check [--runs N] [pytest arguments...]

Each run writes its own JUnit XML (reports/flakes/run-K.xml); outcomes are compared per
test id (passed, failed, error, skipped, xfailed). Exit 1 if any test varied, and 2 if a run
could not be read at all.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def outcomes(junit: Path) -> dict[str, str]:
    """Test id -> outcome, from one pytest JUnit XML (xunit2)."""
    result: dict[str, str] = {}
    for case in ET.parse(junit).iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
            elif child.tag == "skipped":
                xfail = child.get("type") == "pytest.xfail"
                outcome = "xfailed" if xfail else "skipped"
        result[test_id] = outcome
    return result


def varying(runs: list[dict[str, str]]) -> dict[str, list[str]]:
    """Tests whose outcome was not the same in every run (absent counts as 'not run')."""
    seen: dict[str, list[str]] = defaultdict(list)
    for test_id in sorted(set().union(*runs)):
        for run in runs:
            seen[test_id].append(run.get(test_id, "not run"))
    return {t: o for t, o in seen.items() if len(set(o)) > 1}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.flake_check", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="how many runs (default 5)")
    parser.add_argument("--out", default="reports/flakes", help="where each run's XML goes")
    args, pytest_args = parser.parse_known_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2 to compare anything")
    out = (REPO / args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, str]] = []
    for k in range(1, args.runs + 1):
        junit = out / f"run-{k}.xml"
        started = time.monotonic()
        cmd = [sys.executable, "-m", "pytest", *pytest_args, f"--junitxml={junit}", "-q"]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        took = time.monotonic() - started
        if not junit.exists():
            print(f"flake check: run {k} wrote no {junit} (exit {proc.returncode}):")
            print("\n".join((proc.stdout + proc.stderr).splitlines()[-20:]))
            return 2
        runs.append(outcomes(junit))
        counts: dict[str, int] = defaultdict(int)
        for outcome in runs[-1].values():
            counts[outcome] += 1
        summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
        print(f"flake check: run {k}/{args.runs}: {summary} in {took:.0f} s")
    varied = varying(runs)
    for test_id, seen in varied.items():
        print(f"flake check: VARIED {test_id}: {' / '.join(seen)}")
    print(
        f"flake check: {len(varied)} of {len(set().union(*runs))} tests varied "
        f"over {args.runs} runs of pytest {' '.join(pytest_args)}"
    )
    return 1 if varied else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
