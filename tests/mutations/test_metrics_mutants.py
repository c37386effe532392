"""Break one line of the app's instrumentation settings in a copied config and the metrics
suite goes red, naming what broke; leave the copy alone and it stays green.

Each case runs `pytest suites/metrics` on its copy in a child pytest (its own Redis and
reference app, reading the copy). Kafka and Prometheus are left out (`-k`): the edits
under test are read by the gateway alone. All runs start at once in a module fixture.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.gate_subprocess import Breakage, GateRun, copy_config, edit, run_gate

SETTINGS = Path("metrics") / "instrumentation.yaml"
# The edits are to the Python model's YAML copy of the seed's settings, which only
# `--services python` reads; the Node services read the seed's TypeScript.
SELECT = ("-k", "not kafka and not prometheus", "--stack", "process", "--services", "python")
UUID_EXAMPLE = (
    "test_example_path_gets_its_label"
    "[/api/v1/orgs/123e4567-e89b-12d3-a456-426614174000/projects/42/messages]"
)


def exposed(metric: str) -> str:
    return f"test_metric_is_served_with_its_type_labels_and_buckets[{metric}]"


CASES = [
    Breakage(
        "uuid-pattern",
        "[0-9a-f]{4}-[0-9a-f]{12}'",
        "[0-9a-f]{4}-[0-9a-f]{11}'",
        (UUID_EXAMPLE, "test_generated_paths_keep_path_label_bounded[uuid]"),
        "/api/v1/orgs/:id0/projects/:id/messages",
    ),
    Breakage(
        "key-replacement",
        "replacement: '/:key'",
        "replacement: '/:apikey'",
        ("test_generated_paths_keep_path_label_bounded[mindweave-key]",),
        "/:apikey",
    ),
    Breakage(
        "latency-bucket",
        "[0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]",
        "[0.01, 0.05, 0.1, 0.25, 0.75, 1, 2.5, 5, 10]",
        (exposed("http_request_duration_seconds"), "test_every_le_the_config_selects_is_a_bucket"),
        "0.75",
    ),
    Breakage(
        "metric-name",
        "mindweave_cost_cents_total: {type: counter",
        "mindweave_cost_total: {type: counter",
        (exposed("mindweave_cost_cents_total"),),
        "mindweave_cost_cents_total: no samples",
    ),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    def one(case: Breakage | None) -> tuple[str, GateRun]:
        root = tmp_path_factory.mktemp(case.id if case else "unbroken")
        config = copy_config(root / "config")
        if case is not None:
            edit(config / (case.file or SETTINGS), case.old, case.new)
        run = run_gate(
            f"--obs-config={config}",
            *SELECT,
            junit=root / "junit.xml",
            suite="suites/metrics",
            timeout=280,
        )
        return (case.id if case else "unbroken", run)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, [None, *CASES]))


def test_unbroken_copy_passes(runs: dict[str, GateRun]) -> None:
    run = runs["unbroken"]
    assert run.returncode == 0 and not run.failed, run.describe()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_breaking_one_setting_fails_the_metrics_suite(
    case: Breakage, runs: dict[str, GateRun]
) -> None:
    run = runs[case.id]
    assert run.returncode == 1, run.describe()
    missing = [t for t in case.must_fail if t not in run.failed]
    assert not missing, f"expected these to fail: {missing}\n{run.describe()}"
    assert case.must_say in run.output, (
        f"the failure should show {case.must_say!r}\n{run.describe()}"
    )
