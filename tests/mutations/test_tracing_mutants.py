"""Break one line of the tracing settings (or the normalizePath rule that names server
spans) in a copied config and the tracing suite goes red, naming what broke; leave the copy
alone and the same tests stay green.

Each run is `pytest suites/tracing` on its copy in a child pytest (its own Kafka, Redis,
Jaeger and reference app, reading the copy); Elasticsearch is left out (`-k`): the edits
under test change spans, not log shipping. All runs start at once in a module fixture.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.gate_subprocess import Breakage, GateRun, copy_config, edit, run_gate

SETTINGS = Path("tracing") / "propagation.yaml"
# The edits are to the Python model's YAML copy of the seed's settings, which only
# `--services python` reads; the Node services read the seed's TypeScript.
SELECT = (
    "-k",
    "continues_the_callers_trace or kafka_hop or health_route or same_for_any_ids",
    "--stack=process",
    "--services=python",
)
NORMALIZE = Path("metrics") / "instrumentation.yaml"
CONTINUES = "test_server_span_continues_the_callers_trace"
KAFKA_HOP = "test_kafka_hop_keeps_one_trace"
SPAN_NAME = "test_server_span_name_is_the_same_for_any_ids"
CONTROL = "unmodified"


CASES = [
    Breakage(
        # W3C baggage alone carries no trace context: callers' traceparent is ignored and
        # the producer injects none into the Kafka message
        "propagator",
        "propagators: [tracecontext]",
        "propagators: [baggage]",
        (CONTINUES, KAFKA_HOP, SPAN_NAME),
        "(no span with this trace id)",
    ),
    Breakage(
        "untraced-routes",
        "  - /health/ready\n",
        "",
        ("test_health_route_makes_no_span[/health/ready]",),
        "GET /health/ready made spans",
    ),
    Breakage(
        # normalizePath names the server span: a UUID left in part makes one name per org
        "normalize-path",
        "[0-9a-f]{4}-[0-9a-f]{12}'",
        "[0-9a-f]{4}-[0-9a-f]{11}'",
        (SPAN_NAME,),
        "server span (name, http.route) differ with the ids",
        NORMALIZE,
    ),
]


def _run(root: Path, case: Breakage | None) -> GateRun:
    name = case.id if case else CONTROL
    config = copy_config(root / name / "config")
    if case is not None:
        edit(config / (case.file or SETTINGS), case.old, case.new)
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
def test_one_broken_setting_turns_the_tracing_suite_red(
    case: Breakage, tracing_runs: dict[str, GateRun]
) -> None:
    run = tracing_runs[case.id]
    assert run.returncode == 1, run.describe()
    assert set(case.must_fail) == set(run.failed), (
        f"{case.id}: expected exactly {sorted(case.must_fail)} to fail\n{run.describe()}"
    )
    assert case.must_say in run.output, f"{case.id}: output lacks {case.must_say!r}"


def test_unmodified_config_keeps_the_same_tests_green(tracing_runs: dict[str, GateRun]) -> None:
    run = tracing_runs[CONTROL]
    assert run.returncode == 0, run.describe()
    passed = re.search(r"(\d+) passed", run.output)
    assert passed and int(passed[1]) >= 4, f"the selection ran too little\n{run.describe()}"
