"""Break one line of the seed's tracing code in a copied config and the tracing suite goes
red, naming what broke; leave the copy alone and the same tests stay green.

Each run is `pytest suites/tracing` on its copy in a child pytest (its own Kafka, Redis,
Jaeger and Node services, built from the copy's TypeScript); Elasticsearch is left out
(`-k`): the edits under test change spans, not log shipping. All runs start at once in a
module fixture.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.gate_subprocess import Breakage, GateRun, copy_config, edit, run_gate

TRACING = Path("services") / "src" / "tracing" / "tracing.ts"
SELECT = (
    "-k",
    "continues_the_callers_trace or kafka_hop or health_route or same_for_any_ids",
    "--stack=process",
)
CONTINUES = "test_server_span_continues_the_callers_trace"
KAFKA_HOP = "test_kafka_hop_keeps_one_trace"
CONTROL = "unmodified"


CASES = [
    Breakage(
        # W3C baggage alone carries no trace context: callers' traceparent is ignored and
        # the producer injects none into the Kafka message
        "propagator",
        "import { W3CTraceContextPropagator } from '@opentelemetry/core';",
        "import { W3CBaggagePropagator as W3CTraceContextPropagator } from '@opentelemetry/core';",
        (CONTINUES, KAFKA_HOP),
        "(no span with this trace id)",
    ),
    Breakage(
        "untraced-routes",
        "return req.url === '/health/live' || req.url === '/health/ready';",
        "return req.url === '/health/live';",
        ("test_health_route_makes_no_span[/health/ready]",),
        "GET /health/ready made spans",
    ),
]


def _run(root: Path, case: Breakage | None) -> GateRun:
    name = case.id if case else CONTROL
    config = copy_config(root / name / "config")
    if case is not None:
        edit(config / TRACING, case.old, case.new)
    return run_gate(
        f"--obs-config={config}",
        *SELECT,
        suite="suites/tracing",
        junit=root / name / "junit.xml",
        timeout=420,
    )


@pytest.fixture(scope="module")
def tracing_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    root = tmp_path_factory.mktemp("tracing-breakage")
    cases: list[Breakage | None] = [*CASES, None]
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {(c.id if c else CONTROL): pool.submit(_run, root, c) for c in cases}
    return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_broken_line_turns_the_tracing_suite_red(
    case: Breakage, tracing_runs: dict[str, GateRun]
) -> None:
    run = tracing_runs[case.id]
    assert run.returncode == 1, run.describe()
    missing = [t for t in case.must_fail if t not in run.failed]
    assert not missing, f"{case.id}: expected these to fail: {missing}\n{run.describe()}"
    assert case.must_say in run.output, f"{case.id}: output lacks {case.must_say!r}"


def test_unmodified_config_keeps_the_same_tests_green(tracing_runs: dict[str, GateRun]) -> None:
    run = tracing_runs[CONTROL]
    assert run.returncode == 0, run.describe()
    passed = re.search(r"(\d+) passed", run.output)
    assert passed and int(passed[1]) >= 4, f"the selection ran too little\n{run.describe()}"
