"""The load gate's options and fixtures: `load_stack`, `load_profile`, `load_summary`.

    pytest -m load                                  the gate: SLOs, cross-check, faults
    pytest -m load --load-users 50 --load-run-time 60 --load-processes 2

The summary (throughput, percentiles, verdicts, cross-check) goes to
reports/load/summary.md and to the end of pytest's output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.load.locust_run import LoadProfile
from obsgate.load.stack import LoadStack, LoadStackSettings, start_load_stack
from obsgate.options import number_at_least, reports_dir
from obsgate.stack.backends import backend_named
from obsgate.stack.endpoint import Endpoint, KafkaEndpoint
from obsgate.stack.registry import run_registry

SUMMARY = "summary.md"
DESELECTED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("load", "the Locust load gate (pytest -m load)")
    whole = number_at_least(1, int)
    group.addoption("--load-users", type=whole, default=5, help="Locust users (default 5)")
    group.addoption(
        "--load-spawn-rate",
        type=number_at_least(0.1),
        default=10.0,
        help="users started per second",
    )
    group.addoption(
        "--load-run-time", type=whole, default=30, help="seconds of load of the SLO run (30)"
    )
    group.addoption(
        "--load-processes", type=whole, default=1, help="Locust processes (master + workers)"
    )
    group.addoption(
        "--load-time-scale",
        type=number_at_least(1),
        default=60.0,
        help="time scale of the load gate's rules (default 60: a 5 m `for` is 5 s)",
    )


def load_dir(config: pytest.Config) -> Path:
    path = reports_dir(config) / "load"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def load_profile(pytestconfig: pytest.Config) -> LoadProfile:
    profile = LoadProfile(
        users=pytestconfig.getoption("load_users"),
        spawn_rate=pytestconfig.getoption("load_spawn_rate"),
        run_time_s=pytestconfig.getoption("load_run_time"),
        processes=pytestconfig.getoption("load_processes"),
    )
    try:
        profile.validate()
    except GateError as exc:
        raise pytest.UsageError(str(exc)) from None
    return profile


@pytest.fixture(scope="session")
def load_stack(
    pytestconfig: pytest.Config,
    obs_config: ObsConfig,
    stack_backend: str,
    redis: Endpoint,
    kafka: KafkaEndpoint,
) -> LoadStack:
    """The app and servers the load gate drives and watches (obsgate/load/stack.py)."""
    if stack_backend == "external":
        raise GateError("the load gate starts its own app; against --stack external it is "
                        "deselected (marker `writes`)")  # fmt: skip
    factor = pytestconfig.getoption("load_time_scale")
    if factor <= 0:
        raise pytest.UsageError(f"--load-time-scale must be positive, got {factor}")
    backend = backend_named(stack_backend)
    settings = LoadStackSettings(
        config=obs_config,
        factor=factor,
        redis=redis,
        kafka=kafka,
    )
    return start_load_stack(run_registry(), backend, settings)


class LoadSummary:
    """Sections of the summary, written to reports/load/summary.md as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("# Load gate summary\n")

    def add(self, title: str, lines: list[str]) -> None:
        with self.path.open("a") as out:
            out.write(f"\n## {title}\n\n" + "".join(f"- {line}\n" for line in lines))


@pytest.fixture(scope="session")
def load_summary(pytestconfig: pytest.Config) -> Iterator[LoadSummary]:
    yield LoadSummary(load_dir(pytestconfig) / SUMMARY)


def explicitly_selected(config: pytest.Config) -> bool:
    """`-m load` (or any -m naming it), or a path inside loadtests/ on the command line."""
    markexpr = config.option.markexpr or ""
    if "load" in markexpr or "capacity" in markexpr:
        return True
    root = Path(config.rootpath, "loadtests").resolve()
    for arg in config.invocation_params.args:  # as typed: config.args holds testpaths
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == root or root in path.parents:
            return True
    return False


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The load gate runs only when asked for: minutes of load and its own stack are not
    for `pytest` or `pytest -k slo`; the capacity benchmark only with `-m capacity`.
    Deselected, counted, and said once."""
    capacity = "capacity" in (config.option.markexpr or "")
    load = [
        i
        for i in items
        if (i.get_closest_marker("load") and not explicitly_selected(config))
        or (i.get_closest_marker("capacity") and not capacity)
    ]
    if load:
        items[:] = [i for i in items if i not in load]
        config.hook.pytest_deselected(items=load)
        config.stash[DESELECTED] = len(load)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not explicitly_selected(config):
        return []
    factor = config.getoption("load_time_scale")
    return [f"load gate: its rules' durations divided by {factor:g} (--load-time-scale)"]


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    n = config.stash.get(DESELECTED, 0)
    hint = "run them with `pytest -m load` (the capacity benchmark: `pytest -m capacity`)"
    return [f"load gate: {n} tests deselected; {hint}"] if n else []


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    path = reports_dir(config) / "load" / SUMMARY
    ran_load = any(
        "loadtests" in r.nodeid
        for key in ("passed", "failed", "xfailed", "error")
        for r in terminalreporter.stats.get(key, [])
    )
    if ran_load and path.exists():
        terminalreporter.section("load gate")
        terminalreporter.write(path.read_text())
