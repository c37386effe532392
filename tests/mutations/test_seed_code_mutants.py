"""Break one line of the seed's TypeScript in a copied config (the code the Node services are
built from) and the suite that tests it goes red, naming what broke; leave the copy alone
and the same tests stay green.

Each run is a child pytest on its copy with `--services node`: the build compiles the
copy's modules (a changed line is a new build, cached by content), so what the services
run is what the copy says. All runs start at once in a module fixture, two at a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gate_subprocess import Breakage, GateRun, clean_env, copy_config, edit, run_gate

SRC = Path("services") / "src"
PROPERTY = "test_no_secret_from_a_covered_place_reaches_the_store"
KEY_PATHS = "test_generated_paths_keep_path_label_bounded[mindweave-key]"
LATENCY = "test_metric_is_served_with_its_type_labels_and_buckets[http_request_duration_seconds]"


@dataclass(frozen=True)
class Suite:
    path: str
    select: tuple[str, ...]


METRICS = Suite("suites/metrics", ("-k", "generated_paths or served_with_its_type"))
REDACTION = Suite("suites/redaction", ("-k", PROPERTY))
CASES = {
    Breakage(
        "redact-path-ssn",
        "      'ssn',\n",
        "",
        (PROPERTY,),
        "`ssn` (placed at",
        SRC / "logging" / "logger.ts",
    ): REDACTION,
    Breakage(
        "normalize-key-replacement",
        "'/:key');",
        "'/:apikey');",
        (KEY_PATHS,),
        "/:apikey",
        SRC / "metrics" / "instrumentation.ts",
    ): METRICS,
    Breakage(
        "latency-bucket",
        "buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],",
        "buckets: [0.01, 0.05, 0.1, 0.25, 0.75, 1, 2.5, 5, 10],",
        (LATENCY,),
        "0.75",
        SRC / "metrics" / "metrics.service.ts",
    ): METRICS,
}


def _run(root: Path, name: str, case: Breakage | None, suite: Suite) -> GateRun:
    config = copy_config(root / name / "config")
    if case is not None:
        assert case.file is not None
        edit(config / case.file, case.old, case.new)
    return run_gate(
        f"--obs-config={config}",
        *suite.select,
        "--stack=process",
        "--services=node",
        suite=suite.path,
        junit=root / name / "junit.xml",
        env=clean_env(REDACTION_EXAMPLES="25", CI=""),
        timeout=420,
    )


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    root = tmp_path_factory.mktemp("seed-code-breakage")
    jobs: list[tuple[str, Breakage | None, Suite]] = [
        ("unbroken-metrics", None, METRICS),
        ("unbroken-redaction", None, REDACTION),
        *((case.id, case, suite) for case, suite in CASES.items()),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, root, name, c, s) for name, c, s in jobs}
    return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("name", ["unbroken-metrics", "unbroken-redaction"])
def test_unbroken_copy_passes(name: str, seed_runs: dict[str, GateRun]) -> None:
    run = seed_runs[name]
    assert run.returncode == 0 and not run.failed, run.describe()


@pytest.mark.parametrize("case", list(CASES), ids=[c.id for c in CASES])
def test_one_broken_line_of_the_seed_code_fails_its_suite(
    case: Breakage, seed_runs: dict[str, GateRun]
) -> None:
    run = seed_runs[case.id]
    assert run.returncode == 1, run.describe()
    missing = [t for t in case.must_fail if t not in run.failed]
    assert not missing, f"expected these to fail: {missing}\n{run.describe()}"
    assert case.must_say in run.output, (
        f"the failure should show {case.must_say!r}\n{run.describe()}"
    )
