"""reports/index.html: the page to open first after a run, red or green.

It says the verdict, the counts per suite, the findings with their evidence, what was
skipped or not applicable, what judged the run (config, backend, versions, time scale,
seeds), the alert timelines, and links to every artifact in the reports dir. One file,
no script, no network: it opens from a CI artifact as well as from disk.
"""

from __future__ import annotations

import html
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from obsgate.options import SUITE_MARKERS
from obsgate.reports.record import OUTCOMES, RunRecord, TestResult

INDEX = "index.html"
TIMELINES_DIR = "timelines"
ROUTES_DIR = "routes"
EXACT_DIR = "exact"
BURN_DIR = "slo-burn"
LATENCY_DIR = "latency"
TEMPLATE = "index.html.j2"
# What each artifact in the reports dir is, by its path there (first match wins).
KNOWN_ARTIFACTS = (
    ("report.html", "pytest-html: every test, its output and figures"),
    ("junit.xml", "JUnit XML, for CI"),
    ("findings.md", "the findings table (markdown)"),
    ("alerts-coverage.md", "which alert rules have which scenarios (markdown)"),
    ("load/summary.md", "the load gate's summary (markdown)"),
    ("self-test.html", "obs-gate self-test: the kill rate and every surviving mutant"),
    ("self-test.md", "obs-gate self-test: kill rate per file and operator (markdown)"),
    ("self-test.json", "obs-gate self-test: every mutant's outcome, for CI"),
    ("load/", "Locust's reports"),
    ("logs/", "server logs"),
    (f"{TIMELINES_DIR}/", "alert timelines (SVG)"),
    (f"{ROUTES_DIR}/", "routing trees with the path of a failing case (SVG)"),
    (f"{EXACT_DIR}/", "exact-layer scenarios: input series and checkpoints (SVG)"),
    (f"{BURN_DIR}/", "SLO burn: budget consumed and when each burn-rate alert fired (SVG)"),
    (f"{LATENCY_DIR}/", "load: client and server latency over time (SVG)"),
)


@dataclass(frozen=True)
class FigureSection:
    """A section of the page that shows one kind of figure (a folder of the reports dir)."""

    anchor: str
    title: str
    folder: str
    note: str


# The sections in page order; a figure of a failure or a finding is shown with it above,
# and its section links there.
FIGURE_SECTIONS = (
    FigureSection(
        "timelines",
        "Alert timelines (live layer)",
        TIMELINES_DIR,
        "Each live scenario: the rule's value over simulated time, the threshold it is "
        "compared with, the pending and firing spans as Prometheus reported them (its ALERTS "
        "series), each checkpoint, and when each notification naming the scenario's alert "
        "arrived at the sink.",
    ),
    FigureSection(
        "exact",
        "Exact scenarios (promtool)",
        EXACT_DIR,
        "Each exact-layer scenario: the input series promtool was given, over simulated time, "
        "and at each checkpoint what the scenario expects (firing or quiet) against what "
        "promtool's rule engine found; a disagreement is outlined and in red.",
    ),
    FigureSection(
        "slo-burn",
        "SLO burn",
        BURN_DIR,
        "Each SLO with a detection scenario, per burn case: the error budget consumed against "
        "time, as the SLO's own error ratio reads the served traffic, the moment the workbook "
        "expects each burn-rate alert, and when promtool's rule engine had it firing.",
    ),
    FigureSection(
        "latency",
        "Load: latency",
        LATENCY_DIR,
        "The load run's client (Locust) and server (Prometheus histogram) latency percentiles "
        "over time on one plot, the cross-check's buckets, and the latency SLOs' thresholds.",
    ),
)
EXIT_MEANING = {
    0: "green: every test passed or is a known finding",
    1: "red: some tests failed",
    2: "interrupted",
    3: "internal error",
    4: "usage error: the run did not start",
    5: "no tests were selected",
}


@dataclass
class Artifact:
    path: str  # relative to the reports dir, / separated
    what: str
    size: int
    stale: bool  # older than this run: left by an earlier run into the same dir

    @property
    def href(self) -> str:
        return quote(self.path)


@dataclass
class PageFacts:
    """What the page shows besides the record: the run's own facts, in display order."""

    environment: dict[str, str]
    servers: list[str] = field(default_factory=list)
    adaptations: list[str] = field(default_factory=list)
    command: str = ""
    started: float = 0.0
    finished: float = 0.0


def verdict(record: RunRecord) -> tuple[str, str]:
    """(css class, sentence) for the run's exit status and its counts."""
    status = record.exitstatus
    total = record.total()
    bad = total["failed"] + total["error"] + total["xpassed"]
    if status is None:
        status = 1 if bad else 0
    word = EXIT_MEANING.get(status, f"exit status {status}")
    parts = [f"{total[o]} {o}" for o in OUTCOMES if total[o]]
    if record.deselected:
        parts.append(f"{record.deselected} deselected")
    return ("green" if status == 0 else "red"), f"{word} ({', '.join(parts) or 'no tests'})"


def _is(relative: str, key: str) -> bool:
    return relative == key or (key.endswith("/") and relative.startswith(key))


def artifacts(reports: Path, started: float, extra: dict[str, Path]) -> list[Artifact]:
    """Every file under the reports dir but this page, plus JUnit and HTML put elsewhere."""
    found: dict[str, Path] = {}
    if reports.is_dir():
        for path in sorted(reports.rglob("*")):
            if path.is_file() and path.name != INDEX:
                found[path.relative_to(reports).as_posix()] = path
    for path in extra.values():
        if path.is_file():
            found.setdefault(os.path.relpath(path, reports).replace(os.sep, "/"), path)
    listed = []
    for rel, path in found.items():
        what = next((w for key, w in KNOWN_ARTIFACTS if _is(rel, key)), "")
        stat = path.stat()
        listed.append(Artifact(rel, what, stat.st_size, stale=stat.st_mtime < started - 1))
    return listed


def inline_svg(reports: Path, relative: str) -> Markup | None:
    """A figure's SVG, to put inline (the page stays one file); None if it is unreadable."""
    try:
        text = (reports / relative).read_text(encoding="utf-8")
    except OSError:
        return None
    start = text.find("<svg")
    return Markup(text[start:]) if start >= 0 else None


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["anchor"] = lambda text: "test-" + re.sub(r"[^A-Za-z0-9_-]+", "-", text)
    env.filters["when"] = lambda t: time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(t))
    return env


def timeline_order(result: TestResult) -> tuple[int, str]:
    """Failures first, then findings, then the rest: what someone opening a red run wants."""
    rank = {"failed": 0, "error": 0, "xpassed": 1, "xfailed": 2}.get(result.outcome, 3)
    return rank, result.nodeid


FINDING_CATEGORIES = ("defect", "risk", "hardening", "uncategorised")


def findings_by_category(
    record: RunRecord,
) -> dict[str, list[tuple[str, str, list[TestResult]]]]:
    """Findings grouped by category, defects first: what someone deciding whether to act on
    a red gate reads first."""
    grouped: dict[str, list[tuple[str, str, list[TestResult]]]] = {}
    for finding_id, entry in record.findings().items():
        results: list[TestResult] = entry["results"]  # type: ignore[assignment]
        grouped.setdefault(str(entry["category"]), []).append(
            (finding_id, str(entry["text"]), results)
        )
    return {c: grouped[c] for c in FINDING_CATEGORIES if c in grouped}


def figure_sections(
    record: RunRecord, svgs: dict[str, Markup]
) -> list[tuple[FigureSection, list[tuple[TestResult, list[Markup]]]]]:
    """Per section that has any, its tests in timeline order, each with its figures there."""
    found = []
    for section in FIGURE_SECTIONS:
        shown = [
            (r, [svgs[f] for f in r.figures if f.startswith(section.folder + "/") and f in svgs])
            for r in sorted(record.results.values(), key=timeline_order)
        ]
        shown = [(r, mine) for r, mine in shown if mine]
        if shown:
            found.append((section, shown))
    return found


def render(record: RunRecord, facts: PageFacts, reports: Path, extra: dict[str, Path]) -> str:
    css, sentence = verdict(record)
    svgs = {
        f: svg
        for r in record.results.values()
        for f in r.figures
        if (svg := inline_svg(reports, f)) is not None
    }
    figures = {r.nodeid: [svgs[f] for f in r.figures if f in svgs] for r in record.results.values()}
    return (
        _env()
        .get_template(TEMPLATE)
        .render(
            verdict_class=css,
            verdict=sentence,
            counts=record.counts(),
            outcomes=OUTCOMES,
            suite_text=SUITE_MARKERS,
            problems=[
                r for r in record.results.values() if r.outcome in ("failed", "error", "xpassed")
            ],
            collect_errors=record.collect_errors,
            findings_by_category=findings_by_category(record),
            skipped=record.skipped(),
            deselected=record.deselected,
            facts=facts,
            sections=figure_sections(record, svgs),
            figures=figures,
            artifacts=artifacts(reports, facts.started, extra),
            escape=html.escape,
        )
    )


def write_landing_page(
    record: RunRecord, facts: PageFacts, reports: Path, extra: dict[str, Path]
) -> Path:
    """Write reports/index.html; the caller turns any error into one warning line."""
    page = render(record, facts, reports, extra)
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / INDEX
    partial = path.with_name(f".{INDEX}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(path)
    return path
