"""Each suite checks what the config has: a part the config lacks makes the tests that need
it "not applicable", said once per suite and reason, never an error per test.

A test states what it needs with `@pytest.mark.requires(...)` (names in REQUIREMENTS); each
suite also needs what SUITE_REQUIRES says. After selection (-k, -m, the load gate's own),
the selected tests whose needs the config lacks are replaced by one `not-applicable[...]`
item per suite and reason. It reports as "not applicable", a skip to JUnit, and is neither
a pass nor, under CI=true, a failure. A test can also find out at run time that the config
lacks what it needs (`not_applicable(reason)`): it reports the same way.

`-k` naming only suites (`-k alerts`, `-k "routing or slo"`) collects only those suites:
the others are not even imported, so their intent files are never looked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest

from obsgate.config import APP_SETTINGS, ObsConfig
from obsgate.options import SUITE_MARKERS, config_dir, reports_dir, suite_paths
from obsgate.services.declaration import builds_node, services_declared

PREFIX = "not applicable:"
CATEGORY = "not applicable"
REPORT = "not-applicable.md"
NOT_APPLICABLE_ID = "not-applicable"
# User properties of a not-applicable report: its suite, and how many selected tests it
# stands for (test ids need not name the suite folder when the gate runs installed).
SUITE = "not_applicable_suite"
COVERS = "not_applicable_tests"

# Intent folders (and single intent files) under scenarios/, and what the user calls them.
INTENT = {
    "scenarios/alerts": "alert intent",
    "scenarios/routing": "routing intent",
    "scenarios/inhibition": "inhibition intent",
    "scenarios/slo": "SLO intent",
    "scenarios/dashboards": "dashboard intent",
    "scenarios/dashboards/mirrors.yaml": "panel mirrors",
    "scenarios/dashboards/readings.yaml": "panel readings",
    "scenarios/metrics": "metrics intent",
    "scenarios/redaction": "redaction intent",
    "scenarios/tracing": "tracing intent",
    "scenarios/scrape": "discovered scrape targets",
}
# Config parts (obsgate/config/manifest.py) and what the user calls them.
PARTS = {
    "rules": "alert rules",
    "alertmanager": "Alertmanager config",
    "slos": "SLO specs",
    "slo_policy": "error-budget policy",
    "dashboards": "dashboards",
    "prometheus": "scrape config",
    "runbooks": "runbook operator config",
}
REQUIREMENTS = (*PARTS, *INTENT, "inhibit_rules", "app_settings", "services", "node_build")
# What every test of a suite needs (the load gate's folder is suite "load").
SUITE_REQUIRES: dict[str, tuple[str, ...]] = {
    "alerts": ("rules",),
    "routing": ("alertmanager",),
    "inhibition": ("alertmanager", "inhibit_rules"),
    "slo": ("slos",),
    "dashboards": ("dashboards",),
    "metrics": ("services", "app_settings", "scenarios/metrics"),
    "redaction": ("services", "app_settings", "scenarios/redaction"),
    "tracing": ("services", "app_settings", "scenarios/tracing"),
    "load": ("slos", "services", "app_settings"),
}


class Applicability:
    """What one config lacks, each requirement judged once per run."""

    def __init__(self, config: ObsConfig) -> None:
        self.config = config
        self._seen: dict[str, str | None] = {}

    def lacks(self, name: str) -> str | None:
        """Why the config does not meet requirement `name` ("no ..."), or None if it does."""
        if name not in self._seen:
            self._seen[name] = self._judge(name)
        return self._seen[name]

    def unmet(self, names: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(why for name in names if (why := self.lacks(name))))

    def reason(self, names: Iterable[str]) -> str | None:
        """The one line a not-applicable test shows, or None when every need is met."""
        missing = self.unmet(names)
        return f"{'; '.join(missing)} in {self.config.root}" if missing else None

    def missing(self, names: Iterable[str]) -> list[str]:
        """The requirement names of `names` the config does not meet."""
        return [n for n in dict.fromkeys(names) if self.lacks(n)]

    def _judge(self, name: str) -> str | None:
        config = self.config
        if name in PARTS:
            return None if config.has(name) else f"no {PARTS[name]} ({_where(config, name)})"
        if name in INTENT:
            return _intent_lacks(config, name)
        if name == "inhibit_rules":
            return self.lacks("alertmanager") or _inhibit_rules_lack(config)
        if name == "app_settings":
            return _app_settings_lack(config)
        if name == "services":
            return services_declared(config)
        if name == "node_build":  # the services' own logger, run apart (redaction's events)
            return (
                None
                if builds_node(config)
                else "no `build: node` services (services: in obs-gate.yaml)"
            )
        raise ValueError(f"unknown requirement {name!r} (use one of {REQUIREMENTS})")


def _intent_lacks(config: ObsConfig, name: str) -> str | None:
    if name.endswith(".yaml"):
        file = config.locate(name)
        return None if file.is_file() else f"no {INTENT[name]} ({_relative(config, file)})"
    folder = config.locate(name)
    if folder.is_dir() and any(folder.glob("*.yaml")):
        return None
    return f"no {INTENT[name]} ({_relative(config, folder)}/*.yaml)"


def _inhibit_rules_lack(config: ObsConfig) -> str | None:
    if config.alertmanager().get("inhibit_rules"):
        return None
    return f"no inhibit_rules in {config.alertmanager_source().describe()}"


def _app_settings_lack(config: ObsConfig) -> str | None:
    """The reference app reads all three settings files."""
    absent = [APP_SETTINGS[n] for n in APP_SETTINGS if not config.has(f"app_settings.{n}")]
    if not absent:
        return None
    return f"no app settings of the services under test ({', '.join(absent)})"


def _where(config: ObsConfig, part: str) -> str:
    return config.manifest.where(part).replace(f"{config.root}/", "")


def _relative(config: ObsConfig, path: Path) -> str:
    try:
        return str(path.relative_to(config.root))
    except ValueError:
        return str(path)


def applicability(config: pytest.Config) -> Applicability:
    """The run's judge, made once per process (configure has already validated the dir)."""
    found = getattr(config, "_obs_applicability", None)
    if found is None:
        found = Applicability(ObsConfig(config_dir(config)))
        config._obs_applicability = found  # type: ignore[attr-defined]
    return found


# -- which suite a node is in ---------------------------------------------------------------


def suite_of_path(path: Path) -> str | None:
    """The suite a file or folder belongs to (the load gate's folder is "load"), or None."""
    suites, loadtests = (p.resolve() for p in suite_paths())
    path = Path(path).resolve()
    if path == loadtests or loadtests in path.parents:
        return "load"
    for parent in (path, *path.parents):
        if parent.parent == suites:
            return parent.name if parent.name in SUITE_REQUIRES else None
    return None


def suite_of_nodeid(nodeid: str) -> str:
    """The suite in a test id, whether the suites are checked out or installed."""
    found = re.search(r"(?:^|/)suites/([^/:]+)", nodeid)
    if found:
        return found.group(1)
    return "load" if re.search(r"(?:^|/)loadtests(?:/|::)", nodeid) else "?"


def suite_dir(suite: str) -> Path:
    suites, loadtests = suite_paths()
    return loadtests.resolve() if suite == "load" else (suites / suite).resolve()


def requirements_of(config: pytest.Config, node: pytest.Item | Any) -> list[str]:
    """What a test (or a test definition at collection) needs and the config lacks: its
    suite's needs if the suite is not applicable at all (one reason for the whole suite),
    else its own."""
    judge = applicability(config)
    suite = suite_of_path(Path(node.path))
    names = list(SUITE_REQUIRES.get(suite or "", ()))
    if judge.missing(names):
        return judge.missing(names)
    own = [str(a) for mark in node.iter_markers("requires") for a in mark.args]
    return judge.missing(own)


def lacking(config: pytest.Config, node: pytest.Item | Any) -> str | None:
    """Why `node` is not applicable to the config under test, or None."""
    return applicability(config).reason(requirements_of(config, node))


def placeholder(metafunc: pytest.Metafunc, argnames: str | tuple[str, ...]) -> bool:
    """For a test the config cannot serve: one placeholder parameter instead of reading the
    missing part (the test is replaced by its suite's not-applicable item). True if so."""
    if lacking(metafunc.config, metafunc.definition) is None:
        return False
    values = [None] * (len(argnames) if isinstance(argnames, tuple) else 1)
    metafunc.parametrize(argnames, [pytest.param(*values, id=NOT_APPLICABLE_ID)])
    return True


def not_applicable(reason: str) -> NoReturn:
    """At run time: the config lacks what this test needs (reported as not applicable)."""
    pytest.skip(f"{PREFIX} {reason}")


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr or "")
    return text.removeprefix("Skipped: ")


def is_not_applicable(report: pytest.TestReport | pytest.CollectReport) -> bool:
    return bool(report.skipped) and skip_reason(report).startswith(PREFIX)


# -- the not-applicable item ----------------------------------------------------------------


class NotApplicable(pytest.Item):
    """Stands for the selected tests of one suite that the config cannot serve."""

    fixturenames: tuple[str, ...] = ()  # asks for nothing: no server starts for it

    def __init__(self, *, reason: str, covers: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reason = reason
        self.covers = tuple(covers)
        self.user_properties.append((COVERS, len(self.covers)))

    def runtest(self) -> None:
        not_applicable(self.reason)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


def _suite_node(item: pytest.Item, suite: str) -> pytest.Collector | None:
    home = suite_dir(suite)
    for node in item.listchain():
        if isinstance(node, pytest.Directory) and Path(node.path).resolve() == home:
            return node
    return None


def collapse(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Replace the tests the config cannot serve by one NotApplicable per suite and reason,
    where the first of them stood."""
    groups: dict[tuple[str, str], list[pytest.Item]] = {}
    for item in items:
        reason = lacking(config, item)
        if reason is not None:
            suite = suite_of_path(Path(item.path)) or "?"
            groups.setdefault((suite, reason), []).append(item)
    if not groups:
        return
    standing: dict[int, pytest.Item] = {}
    for (suite, reason), covered in groups.items():
        missing = requirements_of(config, covered[0])
        parent = _suite_node(covered[0], suite) or covered[0].parent
        assert parent is not None
        standing[id(covered[0])] = NotApplicable.from_parent(
            parent,
            name=f"{NOT_APPLICABLE_ID}[{'+'.join(missing)}]",
            reason=reason,
            covers=[i.nodeid for i in covered],
        )
    gone = {id(i) for covered in groups.values() for i in covered}
    items[:] = [standing.get(id(i), i) for i in items if id(i) in standing or id(i) not in gone]


# -- -k naming suites -----------------------------------------------------------------------


def _suite_keywords(suite: str) -> tuple[str, ...]:
    return ("loadtests", "load") if suite == "load" else (suite,)


def keyword_excludes(expression: str, suite: str) -> bool:
    """True when a -k expression made only of suite names (and `and`/`or`/`not`) cannot
    select any test of `suite`; False when it can, or names anything else."""
    try:
        from _pytest.mark.expression import Expression  # pytest's own -k grammar
    except ImportError:  # pragma: no cover - a pytest without it: collect everything
        return False
    names = set(SUITE_MARKERS) | {"loadtests"}
    idents: set[str] = set()

    def record(ident: str, **_: object) -> bool:
        idents.add(ident)
        return True

    try:
        compiled = Expression.compile(expression)
        compiled.evaluate(record)
    except Exception:  # a malformed -k: pytest itself says so
        return False
    if not idents or not idents <= names:
        return False
    own = _suite_keywords(suite)
    return not compiled.evaluate(lambda ident, **_: any(ident.lower() in k for k in own))


# -- the report -----------------------------------------------------------------------------


class NotApplicableReport:
    """Each (suite, reason) once: after collection, at the end, and in not-applicable.md."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: dict[tuple[str, str], list[str]] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not is_not_applicable(report):
            return
        reason = skip_reason(report).removeprefix(PREFIX).strip()
        covers = dict(report.user_properties).get(COVERS, 1)
        suite = dict(report.user_properties).get(SUITE) or suite_of_nodeid(report.nodeid)
        entry = self.entries.setdefault((str(suite), reason), [])
        entry.extend([report.nodeid] * int(covers))

    def lines(self) -> list[str]:
        return [f"{suite}: {PREFIX} {reason}" for suite, reason in sorted(self.entries)]

    def write(self, path: Path) -> None:
        rows = [
            f"| {suite} | {reason.replace('|', chr(92) + '|')} | {len(tests)} |"
            for (suite, reason), tests in sorted(self.entries.items())
        ]
        text = [
            f"# Not applicable to {config_dir(self.config)}",
            "",
            "What the config lacks, and the suites that therefore have nothing to check.",
            "",
            "| suite | not applicable: what is missing | tests |",
            "|---|---|---|",
            *rows,
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(text) + "\n")


# -- hooks (this module is one of the plugin's pytest_plugins) -------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"requires(*needs): what of the config the test needs ({', '.join(REQUIREMENTS)})",
    )
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(NotApplicableReport(config), "obs-not-applicable")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`-k` naming only suites: the other suites' folders are not collected at all."""
    expression = config.getoption("keyword", default="")
    if not expression or not collection_path.is_dir():
        return None
    suite = suite_of_path(collection_path)
    if suite is None or suite_dir(suite) != collection_path.resolve():
        return None
    return True if keyword_excludes(expression, suite) else None


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):  # type: ignore[no-untyped-def]
    """After every selection (-k, -m, the load gate's), what is left and not applicable is
    collapsed: only selected tests make their suite's not-applicable item."""
    result = yield
    collapse(config, items)
    return result


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    found = {
        (suite_of_path(Path(i.path)) or "?", i.reason)
        for i in items
        if isinstance(i, NotApplicable)
    }
    return [f"{suite}: {PREFIX} {reason}" for suite, reason in sorted(found)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if is_not_applicable(report):
        report.user_properties.append((SUITE, suite_of_path(Path(item.path)) or "?"))
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, Any] | None:
    if is_not_applicable(report):
        return CATEGORY, "n", ("NOT APPLICABLE", {"yellow": True})
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    found = session.config.pluginmanager.get_plugin("obs-not-applicable")
    if isinstance(found, NotApplicableReport):
        found.write(reports_dir(session.config) / REPORT)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    found = config.pluginmanager.get_plugin("obs-not-applicable")
    if isinstance(found, NotApplicableReport) and found.entries:
        terminalreporter.section(CATEGORY)
        for line in found.lines():
            terminalreporter.write_line(line)
        terminalreporter.write_line(str(reports_dir(config) / REPORT))
