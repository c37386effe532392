"""Run the gate on each mutant of a config, in a child pytest on a private copy.

A mutant is killed when its run fails a test (or errors) that the unmutated baseline run
did not: the comparison is test by test, so a finding the config already has (a strict
xfail) neither kills nor hides a mutant. Children run in their own sessions; on Ctrl-C or
SIGTERM this process stops them with SIGTERM (each stops its own servers, as the gate does
on any interrupted run), waits for them, and keeps what finished.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from obsgate import options
from obsgate.scenarios.live import LOST_SCRAPES
from obsgate.selftest.mutants import Mutant

# The suites that read each part, non-live: the exact layer and the static checks. Routing
# reads the rule files only for alert names, which no operator changes; routing and
# inhibition take their alerts' label sets from the alert scenarios, not from the rules.
PART_SUITES: dict[str, tuple[str, ...]] = {
    "rules": ("alerts",),
    "alertmanager": ("routing", "inhibition"),
    "slos": ("slo",),
    # The services' own instrumentation (services/src) and the dashboards: their suites
    # start the services and the servers they write to (obsgate/selftest/appmutants.py).
    "redaction": ("redaction",),
    "propagation": ("tracing",),
    "instrumentation": ("metrics",),
    "dashboards": ("dashboards",),
}
# The redaction property puts a secret at every path of the intent in every example, so a
# removed redact path is found with CI's 200 examples or with these.
REDACTION_EXAMPLES = "25"
# Per-run state of a gate this process may run inside; a child must start its own.
_INHERITED_STATE = ("OBS_GATE_", "OBS_CONFIG_DIR", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")
STOP_GRACE_SECONDS = 60
EXACT_TEST = "test_alert_scenario_exact"
# A suite's live tests (real servers on a time-scaled clock) sit in its `test_*_live.py`;
# matched by module, not by the word "live", which a test's id may hold (`/health/live`).
NOT_LIVE = "not _live.py"
# An SLO's detection scenarios (promtool, most of an SLO mutant's run) are run only for the
# SLOs whose id holds the mutated SLO's name; no operator touches another SLO.
SLO_DETECTION_TEST = "test_burn_is_detected_as_the_workbook_says"
LIVE_TEST = "test_scenario_live"
# Alertmanager mutants run in two steps: the checks without a server first (amtool's route
# tests, the universal and intent checks), then, for a survivor only, the semantics tests,
# which start Alertmanager and wait on its timers (most of a mutant's time).
AM_SERVER_TESTS = "semantics or produced_labels"
# A panel query mutant's second step, for a survivor of the static dashboard checks: the
# query in Prometheus and the panels' data through the config's scrape jobs.
DASHBOARD_LIVE_TESTS = "test_dashboards_live"
# Plugins a child never uses whose import is a third of its start (hypothesis' @given tests
# run without its plugin).
UNUSED_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:locust", "-p", "no:anyio",
                  "-p", "no:hypothesispytest")  # fmt: skip


@dataclass(frozen=True)
class GateRun:
    """One child gate run: exit code, the tests that failed or errored, the counts, the
    output's last line (what the gate said when it refused to run) and how long it took."""

    returncode: int
    failed: frozenset[str]
    counts: dict[str, int]
    last_line: str
    seconds: float
    unjudged: frozenset[str] = frozenset()  # failed because scrapes were lost, not the rule


@dataclass
class Outcome:
    """What became of one mutant: killed, survived, equivalent, or not decided (error)."""

    mutant: Mutant
    status: str
    suites: tuple[str, ...] = ()
    seconds: float = 0.0
    killed_by: list[str] = field(default_factory=list)
    note: str = ""


def junit_results(junit: Path) -> tuple[frozenset[str], dict[str, int], frozenset[str]]:
    """`classname::name` of every failed or errored testcase, counts by outcome, and the
    failed live tests whose servers lost the scenario's scrapes (the live layer's verdict
    on the machine, not on the rule)."""
    if not junit.exists():
        return frozenset(), {}, frozenset()
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failed: set[str] = set()
    unjudged: set[str] = set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failed.add(name)
            counts["failed"] += 1
            if LOST_SCRAPES in f"{problem.get('message', '')}\n{problem.text or ''}":
                unjudged.add(name)
        elif case.find("skipped") is not None:
            counts["skipped"] += 1  # xfailed tests and skips
        else:
            counts["passed"] += 1
    return frozenset(failed), counts, frozenset(unjudged)


def child_env() -> dict[str, str]:
    """The environment of a mutant's gate run: none of this run's state, and no figures (a
    mutant is read for its verdicts; figures cost a third of a run's CPU). Not CI's either:
    under CI=true the redaction property refuses fewer than CI's 200 examples (the bar of
    the gate's own verdict), so with REDACTION_EXAMPLES it would fail in the baseline and in
    every mutant alike, and no removed redact path would count as caught."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_STATE)}
    return {"REDACTION_EXAMPLES": REDACTION_EXAMPLES, **env, "CI": "", "OBS_GATE_FIGURES": "off"}


class Runner:
    """Runs the baseline and the mutants of one config dir, `workers` at a time."""

    def __init__(self, config_root: Path, workers: int = 2, timeout: float = 600,
                 scenario_ids: dict[str, list[str]] | None = None,
                 live_ids: dict[str, list[str]] | None = None) -> None:  # fmt: skip
        self.config_root = config_root
        self.scenario_ids = scenario_ids or {}
        self.live_ids = live_ids or {}
        self.workers = max(1, workers)
        self.timeout = timeout
        self.tmp = Path(tempfile.mkdtemp(prefix="obs-gate-self-test-"))  # 0700
        self._procs: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.suites_dir = options.suite_paths()[0]

    # -- one child ------------------------------------------------------------------------

    def gate(self, config: Path, suites: Sequence[str], workdir: Path, select: str,
             baseline: GateRun | None = None) -> GateRun:  # fmt: skip
        """pytest on `suites` with --obs-config=config, its JUnit in workdir. A mutant's run
        (`baseline` given) stops at its first failure the baseline's cannot account for: one
        new failure decides, and the rest of a broken tracing or redaction run would only
        wait out its bounded waits."""
        workdir.mkdir(parents=True, exist_ok=True)
        junit = workdir / "junit.xml"
        paths = [str(self.suites_dir / s) for s in suites if (self.suites_dir / s).is_dir()]
        stop = [f"--maxfail={len(baseline.failed) + 1}"] if baseline is not None else []
        cmd = [sys.executable, "-m", "pytest", *paths, f"--obs-config={config}", "-k", select,
               "-q", *UNUSED_PLUGINS, "-o", "addopts=", *stop,
               "--rootdir", str(self.suites_dir.parent), f"--reports-dir={workdir / 'reports'}",
               f"--junitxml={junit}"]  # fmt: skip
        started = time.monotonic()
        log = (workdir / "output.log").open("w", encoding="utf-8")
        with log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True,
                                    env=child_env(), start_new_session=True)  # fmt: skip
            with self._lock:
                self._procs.add(proc)
            if self.stopping.is_set():  # started while stop_all was stopping the others
                self._stop(proc)
            try:
                returncode = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._stop(proc)
                returncode = -1
            except KeyboardInterrupt:  # waited on in the main thread: baseline, live re-runs
                self.stopping.set()
                self._stop(proc)
                raise
            finally:
                with self._lock:
                    self._procs.discard(proc)
        failed, counts, unjudged = junit_results(junit)
        lines = [x for x in (workdir / "output.log").read_text().splitlines() if x.strip()]
        return GateRun(returncode, failed, counts, lines[-1] if lines else "",
                       time.monotonic() - started, unjudged)  # fmt: skip

    def _stop(self, proc: subprocess.Popen[str]) -> None:
        """SIGTERM to the child's session (it stops its servers), then SIGKILL if it hangs."""
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=STOP_GRACE_SECONDS)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        self.stopping.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            self._stop(proc)

    # -- baseline and mutants ---------------------------------------------------------------

    def baseline(self, parts: Sequence[str]) -> GateRun:
        suites = sorted({s for p in parts for s in PART_SUITES[p]})
        select = NOT_LIVE + (f" or {DASHBOARD_LIVE_TESTS}" if "dashboards" in parts else "")
        return self.gate(self.config_root, suites, self.tmp / "baseline", select)

    def selections(self, mutant: Mutant) -> list[str]:
        """-k for a mutant's runs, in order, until one kills it: non-live; of a rule's
        exact-layer tests only its alert's scenarios (a promtool test checks one alert, and
        no operator touches another rule); of the SLO detection scenarios only those of the
        mutated SLO (and any whose id holds its name); an Alertmanager mutant's server tests
        only when the checks without a server let it live; a panel query's live tests (its
        query in Prometheus, its data through the scrape jobs) only when the static checks
        let it live."""
        if mutant.part == "alertmanager":
            servers = f"({AM_SERVER_TESTS})"
            return [f"{NOT_LIVE} and not {servers}", f"{NOT_LIVE} and {servers}"]
        if mutant.part == "dashboards":
            return [NOT_LIVE, DASHBOARD_LIVE_TESTS]
        if mutant.part == "slos" and mutant.subject:
            return [f"{NOT_LIVE} and (not {SLO_DETECTION_TEST} or {mutant.subject})"]
        if mutant.part != "rules":
            return [NOT_LIVE]
        ids = " or ".join(self.scenario_ids.get(mutant.subject, []))
        return [f"{NOT_LIVE} and (not {EXACT_TEST}{' or ' + ids if ids else ''})"]

    def run_mutant(self, index: int, mutant: Mutant, baseline: GateRun) -> Outcome:
        suites = PART_SUITES[mutant.part]
        if mutant.equivalent:
            return Outcome(mutant, "equivalent", note=mutant.equivalent)
        if self.stopping.is_set():
            return Outcome(mutant, "not run", suites, note="stopped before it ran")
        workdir = self.tmp / f"m{index:04d}"
        config = workdir / "config"
        shutil.copytree(self.config_root, config, symlinks=True)
        mutant.apply(config)
        seconds = 0.0
        try:
            for step, select in enumerate(self.selections(mutant)):
                run = self.gate(config, suites, workdir / f"step{step}", select, baseline)
                seconds += run.seconds
                if self.stopping.is_set() and run.returncode in (2, -1):
                    return Outcome(mutant, "not run", suites, seconds, note="interrupted")
                new = sorted(run.failed - baseline.failed)
                if new:
                    return Outcome(mutant, "killed", suites, seconds, new)
                if run.returncode not in (0, 1, 5):  # the gate refused the mutated config
                    return Outcome(mutant, "killed", suites, seconds, [], note=run.last_line)
        finally:
            shutil.rmtree(config, ignore_errors=True)
        return Outcome(mutant, "survived", suites, seconds)

    def run_all(self, mutants: Sequence[Mutant], baseline: GateRun,
                progress: Callable[[Outcome], None]) -> list[Outcome]:  # fmt: skip
        """Every mutant, `workers` at a time; on KeyboardInterrupt the running children are
        stopped and the outcomes so far returned (the rest marked not run)."""
        outcomes: dict[int, Outcome] = {}
        pool = ThreadPoolExecutor(max_workers=self.workers)
        futures: dict[Future[Outcome], int] = {
            pool.submit(self.run_mutant, i, m, baseline): i for i, m in enumerate(mutants)
        }
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for f in done:
                    outcomes[futures[f]] = f.result()
                    progress(outcomes[futures[f]])
        except KeyboardInterrupt:
            self.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
            for f, i in futures.items():
                if f.done() and not f.cancelled() and i not in outcomes:
                    outcomes[i] = f.result()
            raise_after = True
        else:
            pool.shutdown(wait=True)
            raise_after = False
        result = [outcomes.get(i) or Outcome(m, "not run", PART_SUITES[m.part], note="interrupted")
                  for i, m in enumerate(mutants)]  # fmt: skip
        if raise_after:
            raise Interrupted(result)
        return result

    def live_selection(self, alerts: Sequence[str]) -> str | None:
        """-k for the live layer's scenarios of `alerts`; None when they have none."""
        ids = [i for a in alerts for i in self.live_ids.get(a, [])]
        return f"{LIVE_TEST} and ({' or '.join(ids)})" if ids else None

    def rerun_live(self, outcomes: list[Outcome], progress: Callable[[Outcome], None]) -> None:
        """Survivors of rule mutants whose alert has live scenarios, run again with those
        (real Prometheus and Alertmanager, time-scaled); killed when a live test fails that
        the unmutated config's live run passed."""
        todo = [o for o in outcomes if o.status == "survived" and o.mutant.part == "rules"
                and self.live_selection([o.mutant.subject])]  # fmt: skip
        if not todo:
            return
        select = self.live_selection(sorted({o.mutant.subject for o in todo}))
        assert select is not None
        baseline = self.gate(self.config_root, ["alerts"], self.tmp / "baseline-live", select)
        if baseline.returncode not in (0, 1):
            for o in todo:
                o.note = f"live layer not run: {baseline.last_line}"
            return
        for o in todo:
            if self.stopping.is_set():
                return
            workdir = self.tmp / f"live-{outcomes.index(o):04d}"
            config = workdir / "config"
            shutil.copytree(self.config_root, config, symlinks=True)
            o.mutant.apply(config)
            live = self.live_selection([o.mutant.subject])
            run = self.gate(config, ["alerts"], workdir, live or "", baseline)
            shutil.rmtree(config, ignore_errors=True)
            o.seconds += run.seconds
            o.suites = (*o.suites, "alerts (live)")
            new = sorted(run.failed - baseline.failed - run.unjudged)
            if new:
                o.status, o.killed_by, o.note = "killed", new, "by the live layer"
            elif run.unjudged - baseline.failed:
                o.note = "live layer did not decide: its servers lost the scenarios' scrapes"
            elif run.returncode not in (0, 1):
                o.note = f"live layer did not decide: {run.last_line}"
            progress(o)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class Interrupted(Exception):  # it carries the partial result: no Error suffix
    """The run was stopped; `outcomes` holds what finished and what did not run."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes
