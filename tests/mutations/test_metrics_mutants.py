"""Break one line of the seed's metrics code in a copied config and the metrics suite goes
red, naming what broke; leave the copy alone and it stays green.

Each case runs `pytest suites/metrics` on its copy in a child pytest (its own Redis and
Node services, built from the copy's TypeScript: a changed line is a new build, cached by
content). Kafka and Prometheus are left out (`-k`): the edits under test change what the
gateway serves. All runs start at once in a module fixture, two at a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.gate_subprocess import Breakage, GateRun, clean_env, copy_config, edit, run_gate

SRC = Path("services") / "src" / "metrics"
INSTRUMENTATION = SRC / "instrumentation.ts"  # normalizePath
DEFINITIONS = SRC / "metrics.service.ts"  # the prom-client metrics
SELECT = (
    "-k",
    "generated_paths or served_with_its_type or example_path_gets_its_label",
    "--stack=process",
)
UUID_EXAMPLE = (
    "test_example_path_gets_its_label"
    "[/api/v1/orgs/123e4567-e89b-12d3-a456-426614174000/projects/42/messages]"
)


def exposed(metric: str) -> str:
    return f"test_metric_is_served_with_its_type_labels_and_buckets[{metric}]"


CASES = [
    Breakage(
        "uuid-pattern",
        "[0-9a-f]{4}-[0-9a-f]{12}/gi",
        "[0-9a-f]{4}-[0-9a-f]{11}/gi",
        (UUID_EXAMPLE, "test_generated_paths_keep_path_label_bounded[uuid]"),
        "/api/v1/orgs/:id0/projects/:id/messages",
        INSTRUMENTATION,
    ),
    Breakage(
        "key-replacement",
        "'/:key');",
        "'/:apikey');",
        ("test_generated_paths_keep_path_label_bounded[mindweave-key]",),
        "/:apikey",
        INSTRUMENTATION,
    ),
    Breakage(
        "latency-bucket",
        "buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],",
        "buckets: [0.01, 0.05, 0.1, 0.25, 0.75, 1, 2.5, 5, 10],",
        (exposed("http_request_duration_seconds"),),
        "0.75",
        DEFINITIONS,
    ),
    Breakage(
        "metric-name",
        "name: 'mindweave_cost_cents_total',",
        "name: 'mindweave_cost_total',",
        (exposed("mindweave_cost_cents_total"),),
        "mindweave_cost_cents_total: no samples",
        DEFINITIONS,
    ),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    def one(case: Breakage | None) -> tuple[str, GateRun]:
        root = tmp_path_factory.mktemp(case.id if case else "unbroken")
        config = copy_config(root / "config")
        if case is not None:
            assert case.file is not None
            edit(config / case.file, case.old, case.new)
        run = run_gate(
            f"--obs-config={config}",
            *SELECT,
            junit=root / "junit.xml",
            suite="suites/metrics",
            env=clean_env(CI=""),
            timeout=300,
        )
        return (case.id if case else "unbroken", run)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, [None, *CASES]))


def test_unbroken_copy_passes(runs: dict[str, GateRun]) -> None:
    run = runs["unbroken"]
    assert run.returncode == 0 and not run.failed, run.describe()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_breaking_one_line_fails_the_metrics_suite(
    case: Breakage, runs: dict[str, GateRun]
) -> None:
    run = runs[case.id]
    assert run.returncode == 1, run.describe()
    missing = [t for t in case.must_fail if t not in run.failed]
    assert not missing, f"expected these to fail: {missing}\n{run.describe()}"
    assert case.must_say in run.output, (
        f"the failure should show {case.must_say!r}\n{run.describe()}"
    )
