"""The report hooks: the run's facts into pytest-html's Environment table at session start,
each test's figures drawn beside it (obsgate/reports/figures.py), and reports/index.html
written by the run's owner (the xdist controller or the lone process) once everything else
is written.

Writing a report never fails the run: an error is one warning line naming the file.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from obsgate.options import reports_dir
from obsgate.reports.environment import feed_metadata, gate_facts
from obsgate.reports.figures import DRAWER, FIGURE_DIRS, attach_figures
from obsgate.reports.landing import INDEX, PageFacts, write_landing_page
from obsgate.reports.record import RunRecord
from obsgate.stack.endpoint import AlertmanagerEndpoint
from obsgate.stack.registry import run_registry

RECORD = "obs-run-record"
FACTS = pytest.StashKey[PageFacts]()


def _owner(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def warn_line(path: Path, exc: BaseException) -> None:
    """The one line a report that could not be written gets."""
    sys.stderr.write(f"obs-gate: could not write {path}: {type(exc).__name__}: {exc}\n")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Before pytest-html reads the Environment table, and before any xdist worker starts."""
    config = session.config
    if not _owner(config) or config.option.collectonly:  # a listing has no verdict
        return
    config.pluginmanager.register(RunRecord(), RECORD)
    for folder in FIGURE_DIRS:  # an earlier run's figures
        shutil.rmtree(reports_dir(config) / folder, ignore_errors=True)
    try:
        feed_metadata(config)
    except Exception as exc:  # a version probe that breaks must not stop the run
        html = getattr(config.option, "htmlpath", None)
        warn_line(Path(html) if html else reports_dir(config) / "report.html", exc)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if call.when == "call":
        attach_figures(item, report)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The figures still being drawn (in every process that drew), the exit status, and the
    servers while their registry still exists."""
    config = session.config
    if DRAWER in config.stash:
        for line in config.stash[DRAWER].finish():
            sys.stderr.write(f"obs-gate: {line}\n")
    record = config.pluginmanager.get_plugin(RECORD)
    if not isinstance(record, RunRecord):
        return
    record.exitstatus = int(exitstatus)
    try:
        facts = PageFacts(
            environment=dict(gate_facts(config)),
            command=" ".join(["pytest", *config.invocation_params.args]),
            started=float(os.environ.get("OBS_GATE_STARTED") or time.time()),
        )
        if "OBS_GATE_RUN_DIR" in os.environ:
            for name, ep in run_registry().named():
                facts.servers.append(f"{name}: {ep.url} ({ep.backend}) {ep.version}")
                if isinstance(ep, AlertmanagerEndpoint) and not facts.adaptations:
                    facts.adaptations.extend(ep.changes)  # a lane's differ in its timings only
    except Exception as exc:
        warn_line(reports_dir(config) / INDEX, exc)
        facts = PageFacts(environment={})
    config.stash[FACTS] = facts


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After the servers' logs are copied into reports/logs, so the page links them."""
    record = config.pluginmanager.get_plugin(RECORD)
    if not isinstance(record, RunRecord):
        return
    reports = reports_dir(config)
    facts = config.stash.get(FACTS, None) or PageFacts(environment={})
    facts.finished = time.time()
    extra = {
        key: Path(value)
        for key, value in (
            ("junit", getattr(config.option, "xmlpath", None)),
            ("html", getattr(config.option, "htmlpath", None)),
        )
        if value
    }
    try:
        write_landing_page(record, facts, reports, extra)
    except Exception as exc:
        warn_line(reports / INDEX, exc)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if isinstance(config.pluginmanager.get_plugin(RECORD), RunRecord):
        terminalreporter.write_line(f"landing page: {reports_dir(config) / INDEX}")
