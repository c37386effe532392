"""What the run's owner saw of every test, for the landing page: one outcome per test (its
phases folded together), its suite, why it was skipped or is a finding, and what it showed.

The owner is the xdist controller (it receives every worker's reports) or the lone process.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest

from obsgate.findings import parse_finding_reason, parse_reason
from obsgate.options import SUITE_MARKERS

EVIDENCE_CHARS = 4000  # of a failure's text on the page; the full text is in report.html
OUTCOMES = ("failed", "error", "xpassed", "passed", "xfailed", "skipped")
FIGURES_ATTR = "obs_figures"  # a report's figures: paths relative to the reports dir


@dataclass
class TestResult:
    nodeid: str
    suite: str
    outcome: str = "passed"
    reason: str = ""  # why skipped, or the xfail reason
    evidence: str = ""  # what the failure (or the finding's expected failure) said
    duration: float = 0.0
    figures: list[str] = field(default_factory=list)

    @property
    def finding(self) -> tuple[str, str] | None:
        """(id, text) if this test is a finding's strict xfail."""
        if self.outcome != "xfailed" or not self.reason.startswith("finding:"):
            return None
        return parse_finding_reason(self.reason) or (
            f"unnamed:{self.nodeid}",
            self.reason.removeprefix("finding:").strip(),
        )


def suite_of_report(report: pytest.TestReport) -> str:
    """The suite marker a test carries; else the suite folder in its id; else 'other'."""
    keywords = getattr(report, "keywords", {}) or {}
    for name in SUITE_MARKERS:
        if name in keywords:
            return name
    match = re.search(r"(?:^|/)suites/([^/]+)/", report.nodeid)
    return match.group(1) if match else "other"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def _text(report: pytest.TestReport | pytest.CollectReport) -> str:
    """What the failure says (its exception's message; the traceback is in report.html)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = (crash.message if crash is not None else report.longreprtext) or ""
    if len(text) > EVIDENCE_CHARS:
        text = text[:EVIDENCE_CHARS] + f"\n... ({len(text) - EVIDENCE_CHARS} more characters)"
    return text


class RunRecord:
    """A pytest plugin on the run's owner: every test's folded outcome, in run order."""

    def __init__(self) -> None:
        self.results: dict[str, TestResult] = {}
        self.deselected = 0
        self.collect_errors: list[tuple[str, str]] = []
        self.exitstatus: int | None = None

    @pytest.hookimpl
    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append((report.nodeid or "(collection)", _text(report)))

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.results.setdefault(
            report.nodeid, TestResult(report.nodeid, suite_of_report(report))
        )
        result.duration += report.duration
        for figure in getattr(report, FIGURES_ATTR, None) or ():
            if figure not in result.figures:
                result.figures.append(figure)
        xfail = getattr(report, "wasxfail", None)
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if xfail is not None:
                result.outcome = "xfailed" if report.skipped else "xpassed"
                result.reason = xfail
                said = _text(report) if report.skipped else ""
                result.evidence = "" if said.endswith(xfail) else said  # only the reason again
            elif report.skipped:
                result.outcome, result.reason = "skipped", _skip_reason(report)
            elif report.failed:
                result.outcome = "failed" if report.when == "call" else "error"
                result.evidence = _text(report)
        elif report.when == "teardown" and report.failed:
            result.outcome = "error"
            result.evidence = (result.evidence + "\n\nteardown:\n" + _text(report)).strip()

    def counts(self) -> dict[str, Counter[str]]:
        """Outcomes per suite, suites in the order of SUITE_MARKERS, then any other."""
        found: dict[str, Counter[str]] = {}
        for result in self.results.values():
            found.setdefault(result.suite, Counter())[result.outcome] += 1
        order = [*SUITE_MARKERS, *sorted(set(found) - set(SUITE_MARKERS))]
        return {suite: found[suite] for suite in order if suite in found}

    def total(self) -> Counter[str]:
        return Counter(r.outcome for r in self.results.values())

    def findings(self) -> dict[str, dict[str, object]]:
        """Finding id -> its text, category, and the results that show it."""
        found: dict[str, dict[str, object]] = {}
        for result in self.results.values():
            parsed = result.finding
            if parsed is None:
                continue
            full = parse_reason(result.reason)
            category = (full.category if full else None) or "uncategorised"
            entry = found.setdefault(
                parsed[0], {"text": parsed[1], "category": category, "results": []}
            )
            entry["results"].append(result)  # type: ignore[attr-defined]
        return dict(sorted(found.items()))

    def skipped(self) -> dict[str, list[TestResult]]:
        """Skipped tests grouped by their reason ('not applicable: ...' among them)."""
        found: dict[str, list[TestResult]] = {}
        for result in self.results.values():
            if result.outcome == "skipped":
                found.setdefault(result.reason, []).append(result)
        return found
