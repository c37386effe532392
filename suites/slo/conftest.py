"""Fixtures of the SLO suite: the config's SLO specs, policy and intent, one test per SLO.

Tests that take `slo` run once per SLO of the config, with its Sloth id as the test id, so a
failure names the SLO. An SLO file that does not load becomes one failing test per check,
its one-line error the message, rather than a collection traceback for the whole gate.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from obsgate.applicability import placeholder
from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.options import config_dir, figures
from obsgate.slo import oracle
from obsgate.slo.detection import (
    CASES,
    TIMELINES,
    BurnCase,
    DetectionRun,
    write_probe,
    write_test,
)
from obsgate.slo.intent import RoutingIntent, SLOIntent, failure_text, judge, load_intent
from obsgate.slo.live import LiveSLIRun
from obsgate.slo.policy import Policy, config_policy
from obsgate.slo.spec import SLO, config_slos
from obsgate.stack.endpoint import PrometheusEndpoint
from obsgate.stack.prometheus import ISOLATION_LABEL
from obsgate.tools import promtool

UNLOADABLE = "slo-file-does-not-load"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "slo" in metafunc.fixturenames and not placeholder(metafunc, "slo"):
        try:
            ids = [s.id for s in config_slos(ObsConfig(config_dir(metafunc.config)))]
        except GateError:
            ids = [UNLOADABLE]
        metafunc.parametrize("slo", ids, indirect=True)


@pytest.fixture(scope="session")
def slos(obs_config: ObsConfig) -> dict[str, SLO]:
    return {s.id: s for s in config_slos(obs_config)}


@pytest.fixture
def slo(request: pytest.FixtureRequest, slos: dict[str, SLO]) -> SLO:
    return slos[request.param]


@pytest.fixture(scope="session")
def sloth_output(slos: dict[str, SLO]) -> dict[str, tuple[list, str]]:
    """Sloth's rules (or refusal) for each SLO alone, run two at a time, once per run."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(slos, pool.map(oracle.sloth_groups, slos.values()), strict=True))


@pytest.fixture(scope="session")
def policy(obs_config: ObsConfig) -> Policy:
    return config_policy(obs_config)


@pytest.fixture(scope="session")
def slo_intent(obs_config: ObsConfig) -> SLOIntent:
    """The config's SLO intent; without one, none: the checks derived from the specs alone
    still run, and those that need intent are not applicable (`requires("scenarios/slo")`)."""
    return load_intent(obs_config) or SLOIntent(RoutingIntent({}, {}, ()), {})


@pytest.fixture
def judge_slo(slo_intent: SLOIntent, slo: SLO, obs_config: ObsConfig):
    """`judge_slo(check, problems, header, detail="")`: pass if the check lists no problems;
    else fail showing them, or an expected failure if the config declares a finding of
    `check` for this SLO that pins exactly these problems."""

    def verdict(check: str, problems: Sequence[str], header: str, detail: str = "") -> None:
        finding = slo_intent.finding(check, slo.id)
        pin = finding.pinned(check, slo.id, obs_config) if finding else None
        judge(problems, failure_text(header, problems, detail), pin)

    return verdict


@pytest.fixture(scope="session")
def detection_runs(
    slos: dict[str, SLO], slo_intent: SLOIntent, gate_workdir: Path, request: pytest.FixtureRequest
):
    """The selected tests' (SLO, case) promtool runs started at once, two at a time, niced:
    the live test and the math run meanwhile. One verdict run per severity's test file, so
    that each failure is read against its own file; the report's probe runs (the burn
    figures) queue after every verdict run."""
    selected = {
        (params["slo"], params["case"].id)
        for item in request.session.items
        if "detection_runs" in getattr(item, "fixturenames", ())
        and isinstance(
            (params := getattr(getattr(item, "callspec", None), "params", {})).get("case"), BurnCase
        )
    }
    workdir = gate_workdir / "slo-detection"
    workdir.mkdir(exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=2)
    runs: dict[tuple[str, str], DetectionRun] = {}
    probes: dict[tuple[str, str], dict[str, Path]] = {}
    for slo in slos.values():
        sli = slo_intent.slis.get(slo.id)
        metas = {"page": slo.page, "ticket": slo.ticket}
        if sli is None or any(m.name_missing for m in metas.values()):
            continue  # no SLI intent, or an alert without alerting.name: the test says which
        timelines = [t for t in TIMELINES if not metas[t.severity].disabled]
        if not timelines:
            continue
        for case in (c for c in CASES if (slo.id, c.id) in selected):
            files = {t.severity: write_test(slo, sli, case, t, workdir) for t in timelines}
            probes[slo.id, case.id] = {
                t.severity: write_probe(slo, sli, case, t, workdir) for t in timelines
            }
            checks = {
                severity: pool.submit(promtool.test_rules, file, timeout=120, nice=10)
                for severity, file in files.items()
            }
            runs[slo.id, case.id] = DetectionRun(files, checks)
    drawn = figures(request.config) != "off"  # the probes feed only the burn figures
    for key, files in probes.items() if drawn else ():
        for severity, file in files.items():
            runs[key].probes[severity] = pool.submit(
                promtool.test_rules, file, timeout=120, nice=15
            )
    yield runs
    pool.shutdown(wait=False, cancel_futures=True)


@pytest.fixture(scope="session")
def live_sli_run(
    slos: dict[str, SLO],
    slo_intent: SLOIntent,
    prometheus: PrometheusEndpoint,
    time_scale: float,
) -> Iterator[LiveSLIRun]:
    pairs = [(s, slo_intent.slis[s.id]) for s in slos.values() if s.id in slo_intent.slis]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    run = LiveSLIRun(pairs, prometheus, factor=time_scale, label=ISOLATION_LABEL, tag=f"{worker}.")
    run.start()
    yield run
    run.stop()


@pytest.fixture(scope="session", autouse=True)
def _slow_parts_start_first(request: pytest.FixtureRequest) -> None:
    """The promtool detection runs (CPU) and the live SLI run (waiting on real time) start
    with the suite's first test, so that they overlap each other and the fast checks."""
    wanted = {name for item in request.session.items for name in item.fixturenames}
    for name in ("detection_runs", "live_sli_run"):
        if name in wanted:
            # A server that cannot start is cached as the error: each test that needs it
            # fails with that one line, and no other test does.
            with contextlib.suppress(GateError):
                request.getfixturevalue(name)
