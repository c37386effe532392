"""The gate's pytest plugin: options, markers, and the rules that keep a gate honest.

- A GateError (bad config, missing binary, a server that won't start) is reported as its
  one-line message, not a traceback.
- With CI=true a skip is a failure: a gate must not pass because a service was missing. A
  test the config has nothing for is "not applicable" instead (obsgate/applicability.py).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from obsgate import options, preflight
from obsgate.applicability import is_not_applicable
from obsgate.config import ObsConfig
from obsgate.errors import ConfigError, GateError
from obsgate.findings import CATEGORIES, categories, parse_reason
from obsgate.options import config_dir, is_ci, reports_dir
from obsgate.scenarios.floor import AlertsSuiteClock
from obsgate.scenarios.lanes import lane_factors
from obsgate.scenarios.model import load_scenarios
from obsgate.scenarios.params import layer_scenarios
from obsgate.scenarios.routing import load_route_cases
from obsgate.stack import crashes
from obsgate.stack.backends import resolve_backend

# The fixture modules this plugin brings, wherever the gate is installed.
pytest_plugins = [
    "obsgate.applicability",
    "obsgate.stack.fixtures",
    "obsgate.scenarios.fixtures",
    "obsgate.refapp.fixtures",
    "obsgate.load.fixtures",
    "obsgate.reports.hooks",
]
DEFAULT_TEST_TIMEOUT = 300.0


# The gate's options (and pytest-html's) that take a path: written `--opt PATH`, pytest reads
# PATH as a test path while it looks for its ini file, before any plugin has said otherwise.
PATH_OPTIONS = ("--obs-config", "--reports-dir", "--obs-install-plan", "--html")


def rerun_if_rootdir_was_misread(early_config: pytest.Config) -> None:
    """`--reports-dir /tmp/x` makes pytest look for its ini file from /tmp/x, so the
    project's settings (addopts, testpaths, markers) are silently lost. Where that changed
    what pytest found, run the same command again with `--reports-dir=/tmp/x`, which pytest
    reads right; in-process (pytest.main), say so in one line instead."""
    from _pytest.config.findpaths import determine_setup

    ns = early_config.known_args_namespace
    inipath, *_ = determine_setup(
        inifile=ns.inifilename,
        override_ini=ns.override_ini,
        args=ns.file_or_dir,
        rootdir_cmd_arg=ns.rootdir or None,
        invocation_dir=early_config.invocation_params.dir,
    )[1:]
    if inipath is None or inipath == early_config.inipath:
        return
    args = list(early_config.invocation_params.args)
    joined, i = [], 0
    while i < len(args):
        if args[i] in PATH_OPTIONS and i + 1 < len(args):
            joined.append(f"{args[i]}={args[i + 1]}")
            i += 2
        else:
            joined.append(args[i])
            i += 1
    if joined == args or args != sys.argv[1:]:
        raise pytest.UsageError(
            f"pytest read its settings from {early_config.inipath or 'no ini file'} instead of "
            f"{inipath}: write path options as --reports-dir=DIR, --obs-config=DIR"
        )
    capture = early_config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # give the new process the terminal, not pytest's capture files
        capture.stop_global_capturing()
    os.execv(sys.executable, [*sys.orig_argv[: len(sys.orig_argv) - len(args)], *joined])


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """`pytest --obs-config DIR` with no test path runs the gate's own suites, wherever the
    gate is installed: a team's repository has no copy of them."""
    rerun_if_rootdir_was_misread(early_config)
    namespace = early_config.known_args_namespace
    if namespace.file_or_dir or not (namespace.obs_config or "OBS_CONFIG_DIR" in os.environ):
        return
    if early_config.getini("testpaths") and Path.cwd() == options.PACKAGE_DIR.parent:
        return  # the gate's own checkout: its testpaths are the suites already
    args.extend(str(p) for p in options.suite_paths())


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """`pytest --self-test`: the self-test of the --obs-config dir in place of the tests
    (its other options, such as --workers, through `obs-gate self-test`)."""
    if not config.getoption("self_test", default=False):
        return None
    from obsgate.selftest.command import self_test

    return self_test([str(options.config_dir(config)), "--reports-dir", str(reports_dir(config))])


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Options and the config under test are checked before anything starts, each error in
    one line. Reports go under --reports-dir unless asked elsewhere (JUnit, the HTML page),
    and a default per-test timeout applies where none is set: a hung server never hangs
    the gate. First among plugins, so that JUnit and pytest-html see the paths."""
    reports = reports_dir(config)
    if getattr(config.option, "xmlpath", None) is None:
        config.option.xmlpath = str(reports / options.JUNIT_REPORT)
    if getattr(config.option, "htmlpath", None) is None:
        config.option.htmlpath = str(reports / options.HTML_REPORT)
        config.option.self_contained_html = True
    if getattr(config.option, "timeout", None) is None and not config.getini("timeout"):
        config.option.timeout = DEFAULT_TEST_TIMEOUT
    for name, text in options.SUITE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.addinivalue_line("markers", "needs(*services): the servers a test needs")
    config.addinivalue_line("markers", "writes(reason): writes into a server; not for staging")
    config.addinivalue_line("markers", "live_scenario: replays its `scenario` param live")
    config.addinivalue_line("markers", "promtool_config: runs `promtool check config`")
    options.validate(config)
    # Every place that finds prometheus, promtool, alertmanager or amtool reads the line from
    # here (obsgate/tools/versions_line.py), and so do subprocesses and xdist workers.
    os.environ[options.SERVER_VERSIONS_ENV] = options.server_versions(config)
    directory = config_dir(config)
    try:  # a malformed rule or scenario file stops the run here, in one line, at once
        obs = ObsConfig(directory)
        try:
            if obs.has("rules"):  # without rules the suites that need them are not applicable
                obs.alert_rules()
        except ConfigError as exc:  # Prometheus' own checker says where, if it can run
            raise preflight.precise_rule_error(obs, exc) from None
        if obs.locate("scenarios/alerts").is_dir():
            load_scenarios(obs.locate("scenarios/alerts"))
        if obs.locate("scenarios/routing").is_dir():
            load_route_cases(obs)
        if obs.locate("scenarios/inhibition").is_dir():
            from obsgate.scenarios.inhibition import load_inhibition_cases  # imports params

            load_inhibition_cases(obs)
        if obs.has("promtool_tests"):  # their rule_files resolve to the config's rules
            from obsgate.scenarios.promtool_tests import load_cases

            load_cases(obs)
        if obs.has("slos"):
            from obsgate.slo.spec import config_slos

            config_slos(obs)
        preflight.check_config(obs, options.time_scale(config))
    except GateError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not hasattr(config, "workerinput"):  # the run's owner: the xdist controller or alone
        os.environ.setdefault("OBS_GATE_OWNER_PID", str(os.getpid()))
        os.environ.setdefault("OBS_GATE_STARTED", str(time.time()))
        if "OBS_GATE_RUN_DIR" not in os.environ:
            run_dir = tempfile.mkdtemp(prefix="obs-gate-")  # 0700
            os.environ["OBS_GATE_RUN_DIR"] = run_dir
            guard_run_dir(run_dir)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminated)


_SESSION_RUNNING = threading.Event()


def _terminated(signum: int, _frame: object) -> None:
    """SIGTERM and Ctrl-C end the run as pytest ends an interrupted one: servers stopped,
    run dir removed, exit 2. Before the session starts pytest cannot catch it, and nothing
    has started yet: say so in one line and exit 2 (the run-dir guard removes the dir)."""
    if _SESSION_RUNNING.is_set():
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")
    sys.stderr.write(
        f"obs-gate: stopped by {signal.Signals(signum).name} while starting; "
        "no test ran and no server was started\n"
    )
    os._exit(2)


if threading.current_thread() is threading.main_thread():  # as early as the plugin loads
    signal.signal(signal.SIGINT, _terminated)


def guard_run_dir(run_dir: str) -> None:
    """A guard that removes the run dir once this process is gone, even after a SIGKILL."""
    guard = Path(__file__).with_name("stack") / "guard.py"
    subprocess.Popen(
        [sys.executable, str(guard), str(os.getpid()), "--remove", run_dir],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Every binary the selected tests need, found and proven before the first test: a
    missing or wrong one stops the run here, one line each (exit 4). Under xdist the
    workers find them and the controller stops the run (pytest_xdist_node_collection_finished)."""
    config = session.config
    if config.getoption("obs_install_plan"):
        write_install_plan(session, Path(config.getoption("obs_install_plan")))
    if config.option.collectonly or not session.items:
        return
    backend = resolve_backend(config.getoption("stack"))
    if backend == "external":
        return
    cloud = preflight.cloud_discovery_needed(config_dir(config), options.server_versions(config))
    found = preflight.problems(preflight.required(session.items, backend, cloud))
    if found and hasattr(config, "workerinput"):  # the controller says it, once
        worker = config.workerinput["workerid"]
        preflight_file(worker).write_text("\n".join(found), encoding="utf-8")
    elif found:
        raise pytest.UsageError("\n".join(found))


def preflight_file(worker: str) -> Path:
    return Path(os.environ["OBS_GATE_RUN_DIR"]) / f"preflight-{worker}.txt"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under xdist a worker's preflight problems stop the run here, in the controller, before
    any test is scheduled: the same one line per problem as a run without workers (exit 4)."""
    path = preflight_file(node.gateway.id)
    if path.is_file():
        sys.stderr.write(f"ERROR: {path.read_text(encoding='utf-8')}\n")
        sys.stderr.flush()
        pytest.exit("a binary the selected tests need is missing or wrong", returncode=4)


def write_install_plan(session: pytest.Session, path: Path) -> None:
    """`--obs-install-plan FILE`: the set-up steps the selected tests need, one `STEP SUITES`
    line each (scripts/gate installs just those), then exit: nothing runs, nothing starts."""
    config = session.config
    backend = resolve_backend(config.getoption("stack"))
    plan = (
        {}
        if backend == "external"
        else preflight.install_plan(
            session.items,
            backend,
            options.server_versions(config),
            preflight.cloud_discovery_needed(config_dir(config), options.server_versions(config)),
        )
    )
    path.write_text("".join(f"{step} {','.join(suites)}\n" for step, suites in plan.items()))
    os._exit(0)  # before the warm-up hooks: nothing of the session may start


def servers_used(item: pytest.Item) -> set[str]:
    names = set(getattr(item, "fixturenames", ()))
    return names | {arg for mark in item.iter_markers("needs") for arg in mark.args}


# A test that fails because its server just died can be reported before the server's guard
# has recorded the death (it wakes within milliseconds): a failed test looks again once.
CRASH_SETTLE_S = 0.3


def crash_of(item: pytest.Item, settle: float = 0.0) -> crashes.Crash | None:
    """The first server this test needs that ended on its own during the run."""
    for attempt in range(2 if settle else 1):
        if attempt:
            time.sleep(settle)
        needs = servers_used(item)
        found = next((c for c in crashes.crashes() if crashes.needed_by(needs, c)), None)
        if found is not None:
            return found
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test whose server is already gone fails at once, with the cause, not a timeout."""
    crash = crash_of(item)
    if crash is not None:
        pytest.fail(f"{crash.describe()}: this test needs it", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and isinstance(call.excinfo.value, GateError):
        report.longrepr = f"{type(call.excinfo.value).__name__}: {call.excinfo.value}"
    crash = None
    if report.failed:
        crash = crash_of(item, settle=CRASH_SETTLE_S) or crashes.named_in(str(report.longrepr))
    if crash is not None:
        phase = {"setup": "set up", "call": "ran", "teardown": "tore down"}[call.when]
        report.longrepr = (
            f"{crash.describe()} while this test {phase}: "
            "the failure is that, not the config (its log tail is printed where the crash "
            "was announced)"
        )
    if (
        report.skipped
        and is_ci()
        and not hasattr(report, "wasxfail")
        and not is_not_applicable(report)
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"CI=true makes every skip a failure: {reason}"


class FindingsReport:
    """Collects every strict xfail whose reason is a finding, from the reports the run's
    owner sees (the xdist controller gets every worker's), and writes reports/findings.md,
    one row per finding id with the tests that show it."""

    def __init__(self, reporter: Any = None) -> None:
        self.reporter = reporter
        self.announced: set[str] = set()
        self.findings: dict[str, dict[str, object]] = {}  # id -> text, suites, tests
        self.figures: dict[str, list[float]] = {}  # user properties in seconds, by name

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.announce_crashes()
        for name, value in report.user_properties:
            if name.endswith("_s") and report.when == "call":
                self.figures.setdefault(name, []).append(float(value))
        reason = getattr(report, "wasxfail", "")
        if report.when not in ("setup", "call") or not reason.startswith("finding:"):
            return
        parsed = parse_reason(reason)
        finding_id = parsed.id if parsed else f"unnamed:{report.nodeid}"
        text = parsed.text if parsed else reason.removeprefix("finding:")
        entry = self.findings.setdefault(finding_id, {"text": text.strip(), "tests": set()})
        entry["tests"].add(report.nodeid)  # type: ignore[union-attr]
        if parsed and parsed.category:
            entry["tags"] = (parsed.category, parsed.seed)

    def announce_crashes(self) -> None:
        """Each server that ended on its own, once, as soon as a report comes in."""
        for crash in crashes.crashes():
            if crash.name in self.announced or self.reporter is None:
                continue
            self.announced.add(crash.name)
            self.reporter.ensure_newline()
            self.reporter.section("server crashed", sep="!", red=True, bold=True)
            for line in crash.with_log().splitlines():
                self.reporter.write_line(line)

    def write(self, path: Path, config_dir: Path, selection: str) -> None:
        try:  # a test that builds its reason without a category: the config's findings.yaml
            declared = categories(ObsConfig(config_dir))
        except GateError:
            declared = {}
        groups: dict[str, list[str]] = {}
        for finding_id, entry in sorted(self.findings.items()):
            category, seed = entry.get("tags") or declared.get(finding_id) or (None, None)  # type: ignore[misc]
            tests = sorted(entry["tests"])  # type: ignore[call-overload]
            suites = sorted({suite_of(t) for t in tests})
            text = str(entry["text"]).replace("|", chr(92) + "|")
            cells = "<br>".join(f"`{t}`" for t in tests)
            where = f"seed:{seed}" if seed else ""
            groups.setdefault(category or "uncategorised", []).append(
                f"| `{finding_id}` | {where} | {', '.join(suites)} | {text} | {cells} |"
            )
        lines = [
            f"# Findings in {config_dir}",
            "",
            f"Run: {selection}. Each is a strict xfail: fix the config and its tests turn red "
            "until the finding is removed. By category: a defect breaks the config's own stated "
            "intent; a risk works today and breaks under the condition its text states; "
            "hardening is advice.",
        ]
        for category in (*CATEGORIES, "uncategorised"):
            if category in groups:
                lines += ["", f"## {category}", "", "| id | rests on | suite | finding | tests |"]
                lines += ["|---|---|---|---|---|", *groups[category]]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")


def suite_of(nodeid: str) -> str:
    """The suite folder in a test id, whether the suites are checked out or installed."""
    match = re.search(r"(?:^|/)suites/([^/]+)/", nodeid)
    return match.group(1) if match else "?"


def selection_of(config: pytest.Config) -> str:
    """How the run chose its tests, so a findings report of a partial run says so."""
    parts = [str(a) for a in config.args]
    for opt in ("keyword", "markexpr"):
        value = config.getoption(opt, default="")
        if value:
            parts.append(f"-{'k' if opt == 'keyword' else 'm'} {value!r}")
    return "pytest " + " ".join(parts)


def pytest_sessionstart(session: pytest.Session) -> None:
    _SESSION_RUNNING.set()
    session.config._obs_started = time.time()  # type: ignore[attr-defined]
    if not hasattr(session.config, "workerinput"):
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        session.config.pluginmanager.register(FindingsReport(reporter), "obs-findings")
        session.config.pluginmanager.register(alerts_suite_clock(session.config), "obs-floor")


def alerts_suite_clock(config: pytest.Config) -> AlertsSuiteClock:
    """The alerts suite's clock, from when this run's owner was configured."""
    try:
        live = layer_scenarios(ObsConfig(config_dir(config)), "live")
        rules = ObsConfig(config_dir(config)).alert_rules() if live else []
    except GateError:
        live, rules = [], []  # no alert scenarios or rules: no floor to print
    by_id = {s.id: s for s in live}
    base, fast = options.time_scale(config), options.fast_lane(config)

    def lanes(ran: list[str]) -> dict[str, float]:
        return lane_factors([by_id[sid] for sid in ran], rules, base, fast)

    started = float(os.environ.get("OBS_GATE_STARTED") or time.time())
    return AlertsSuiteClock({s.id: s.replay_seconds for s in live}, lanes, started)


def pytest_sessionfinish(session: pytest.Session) -> None:
    findings = session.config.pluginmanager.get_plugin("obs-findings")
    if isinstance(findings, FindingsReport):
        findings.write(
            reports_dir(session.config) / "findings.md",
            config_dir(session.config),
            selection_of(session.config),
        )


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    """Show the tables this run wrote (coverage, findings) where the user looks first."""
    if hasattr(config, "workerinput"):
        return
    started = getattr(config, "_obs_started", 0.0)
    findings = config.pluginmanager.get_plugin("obs-findings")
    for name, measured in getattr(findings, "figures", {}).items():
        values = sorted(measured)
        terminalreporter.section(f"measured: {name}")
        terminalreporter.write_line(
            f"n={len(values)} min={values[0]:.3f} median={values[len(values) // 2]:.3f} "
            f"max={values[-1]:.3f} (seconds; time scale {config.getoption('time_scale'):g})"
        )
    clock = config.pluginmanager.get_plugin("obs-floor")
    line = clock.summary() if isinstance(clock, AlertsSuiteClock) else None
    if line:
        terminalreporter.section("alerts suite against its floor")
        terminalreporter.write_line(line)
    for name, title in (
        ("alerts-coverage.md", "alert scenario coverage"),
        ("findings.md", "findings (strict xfails)"),
    ):
        path = reports_dir(config) / name
        if path.exists() and path.stat().st_mtime >= started:
            table = [line for line in path.read_text().splitlines() if line.startswith("|")]
            if len(table) <= 2:  # a header and no rows: nothing to show
                continue
            terminalreporter.section(title)
            terminalreporter.write_line(f"{path}")
            for line in path.read_text().splitlines():
                if line.startswith("|"):
                    terminalreporter.write_line(line[:200])
