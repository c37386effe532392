"""Remove any one path from the seed logger's redact list in a copied config and the
redaction suite goes red, naming the path and where its secret was found; leave the copy
alone and it is green.

Each case runs the suite's main property on its copy in a child pytest (its own
Elasticsearch, Redis and the seed's logger under Node, built from the copy's TypeScript),
with fewer Hypothesis examples than CI's 200: the property's sweep puts a secret at every
path of the intent in every run, so one removed path is found whatever Hypothesis draws.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.gate_subprocess import SEED_CONFIG, GateRun, clean_env, copy_config, run_gate

LOGGER = Path("services") / "src" / "logging" / "logger.ts"
REDACT_LIST = re.compile(r"redact: \{\s*paths: \[(?P<paths>[^\]]*)\]")
PATHS = re.findall(r"'([^']+)'", REDACT_LIST.search((SEED_CONFIG / LOGGER).read_text())["paths"])
PROPERTY = "test_no_secret_from_a_covered_place_reaches_the_store"
SELECT = ("-k", PROPERTY, "--stack", "process")
CHILD_TIMEOUT = 280
# The first test pays for the module's child runs, two at a time: bounded by their own
# timeouts, not pytest-timeout's 300 s default, which a loaded machine exceeds.
pytestmark = pytest.mark.timeout(-(-(len(PATHS) + 1) // 2) * CHILD_TIMEOUT + 60)


def without(path: str, config: Path) -> None:
    """The copy's logger.ts without `path` (one line of the redact list, nothing else)."""
    file = config / LOGGER
    lines = file.read_text().splitlines(keepends=True)
    entry = [i for i, line in enumerate(lines) if line.strip() == f"'{path}',"]
    assert len(entry) == 1, f"{file}: expected one redact path line '{path}',"
    del lines[entry[0]]
    file.write_text("".join(lines))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    def one(path: str | None) -> tuple[str, GateRun]:
        name = path or "unbroken"
        root = tmp_path_factory.mktemp(name.replace("*.", "star-"))
        config = copy_config(root / "config")
        if path is not None:
            without(path, config)
        run = run_gate(
            f"--obs-config={config}",
            *SELECT,
            junit=root / "junit.xml",
            suite="suites/redaction",
            env=clean_env(REDACTION_EXAMPLES="25", CI=""),
            timeout=CHILD_TIMEOUT,
        )
        return name, run

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, [None, *PATHS]))


def test_the_seed_logger_redacts_the_paths_read_here() -> None:
    assert len(PATHS) == 13 and "ssn" in PATHS and "*.api_key" in PATHS, PATHS


def test_unbroken_copy_passes(runs: dict[str, GateRun]) -> None:
    run = runs["unbroken"]
    assert run.returncode == 0 and not run.failed, run.describe()


@pytest.mark.parametrize("path", PATHS)
def test_removing_a_redact_path_fails_the_redaction_suite(
    path: str, runs: dict[str, GateRun]
) -> None:
    run = runs[path]
    assert run.returncode == 1 and PROPERTY in run.failed, run.describe()
    named = f"`{path}` (placed at"
    assert named in run.output and "found in mindweave-logs-" in run.output, (
        f"the failure should name {named!r} and the index and field it was found in\n"
        f"{run.describe()}"
    )
