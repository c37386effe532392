"""The redaction suite's log-shipping findings hide nothing: one line of a copied config that
adds one more offender turns the check red, naming it; the seed's config is the control
(its findings are strict xfails); and a copy whose services log the normalised path turns
the key-in-path check red as fixed.

Static checks (Fluent Bit's config, the log paths) run as one child gate each; the key in
a request path runs the real Node services built from the copy, with Elasticsearch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.gate_subprocess import Breakage, GateRun, clean_env, copy_config, edit, run_gate

FLUENT_BIT = Path("k8s") / "monitoring" / "fluent-bit-config.yaml"
LOGGER = Path("services") / "src" / "logging" / "logger.ts"
ENV_VAR = "test_record_fields_are_not_written_as_environment_variables"
TAIL = "test_tail_input_hands_each_runtime_s_line_to_merge_log"
SPLIT = "test_tail_input_joins_the_runtime_s_split_lines"
PATHS = "test_each_destination_one_path_and_every_external_path_masked_alike"
KEY_IN_PATH = "test_key_in_a_request_path_reaches_no_log_field"
TAIL_ITEM = "[INPUT] tail /var/log/containers/*.log"

STATIC = [
    Breakage(
        id="fluentbit-record-field-as-env-var",
        old="dd_source         kubernetes",
        new="dd_source         ${kubernetes_labels_tier}",
        must_fail=(ENV_VAR,),
        must_say="not in the finding: ['[OUTPUT] datadog: dd_source ${kubernetes_labels_tier}']",
        file=FLUENT_BIT,
    ),
    Breakage(
        id="fluentbit-tail-parser-runtime-formats",
        old="Name        docker\n        Format      json",
        new="Name        docker\n        Format      logfmt",
        must_fail=(TAIL,),
        must_say=f"not in the finding: ['{TAIL_ITEM}: docker-json-file line not parsed "
        "(Parser docker)']",
        file=FLUENT_BIT,
    ),
    Breakage(
        id="fluentbit-split-lines-not-joined",
        old="        Refresh_Interval  10\n",
        new="        Refresh_Interval  10\n\n    [INPUT]\n        Name              tail\n"
        "        Tag               audit.*\n        Path              /var/log/audit/*.log\n",
        must_fail=(SPLIT,),
        must_say="not in the finding: ['[INPUT] tail /var/log/audit/*.log']",
        file=FLUENT_BIT,
    ),
    Breakage(
        id="log-shipping-one-path-per-destination",
        old="Record        region us-east-1",
        new="Remove_key    password",
        must_fail=(PATHS,),
        must_say="not in the finding: ['datadog-agent containerCollectAll -> datadog "
        "(datadoghq.com): no masking (the other paths pass fluent-bit [FILTER] "
        "record_modifier Remove_key password)']",
        file=FLUENT_BIT,
    ),
]
KEY_BREAKAGE = Breakage(
    id="redact-api-key-in-path",
    old="      url: req.url,\n",
    new="      url: req.url, originalUrl: req.originalUrl,\n",
    must_fail=(KEY_IN_PATH,),
    must_say="not in the finding: ['req.originalUrl']",
    file=LOGGER,
)
# The services log the path as normalizePath writes it for metrics: the key becomes /:key.
NORMALISE = r".replace(/\/mw_[a-z]+_[a-zA-Z0-9]+/g, '/:key')"
KEY_FIX = [
    ("      url: req.url,\n", f"      url: req.url{NORMALISE},\n"),
    ("      path: req.path,\n", f"      path: req.path{NORMALISE},\n"),
    ("    path: req.path,\n", f"    path: req.path{NORMALISE},\n"),
]


def static_run(root: Path, case: Breakage | None) -> GateRun:
    name = case.id if case else "seed"
    config = copy_config(root / name / "config")
    if case is not None:
        assert case.file is not None
        edit(config / case.file, case.old, case.new)
    test = case.must_fail[0] if case else " or ".join(c.must_fail[0] for c in STATIC)
    return run_gate(
        f"--obs-config={config}", "-k", test, junit=root / name / "junit.xml",
        suite="suites/redaction",
    )  # fmt: skip


def live_run(root: Path, name: str, edits: list[tuple[str, str]]) -> GateRun:
    config = copy_config(root / name / "config")
    for old, new in edits:
        edit(config / LOGGER, old, new)
    return run_gate(
        f"--obs-config={config}", "-k", KEY_IN_PATH, "--stack=process",
        suite="suites/redaction", junit=root / name / "junit.xml",
        env=clean_env(CI=""), timeout=420,
    )  # fmt: skip


@pytest.fixture(scope="module")
def static_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    root = tmp_path_factory.mktemp("logship-static")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda c: static_run(root, c), [None, *STATIC])
        return dict(zip(["seed", *(c.id for c in STATIC)], runs, strict=True))


@pytest.fixture(scope="module")
def live_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    root = tmp_path_factory.mktemp("logship-live")
    jobs = {
        "seed": [],
        KEY_BREAKAGE.id: [(KEY_BREAKAGE.old, KEY_BREAKAGE.new)],
        "fixed": KEY_FIX,
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(live_run, root, name, e) for name, e in jobs.items()}
    return {name: f.result() for name, f in futures.items()}


def test_the_seed_shows_the_static_findings(static_runs: dict[str, GateRun]) -> None:
    run = static_runs["seed"]
    assert run.returncode == 0 and f"{len(STATIC)} xfailed" in run.output, run.describe()


@pytest.mark.parametrize("case", STATIC, ids=lambda c: c.id)
def test_one_more_offender_turns_the_static_check_red(
    case: Breakage, static_runs: dict[str, GateRun]
) -> None:
    run = static_runs[case.id]
    assert run.returncode == 1 and case.must_fail[0] in run.failed, run.describe()
    assert case.must_say in run.output, run.describe()
    assert f"the finding {case.id} does not explain this" in run.output, run.describe()


def test_the_seed_stores_the_key_in_the_pinned_fields(live_runs: dict[str, GateRun]) -> None:
    run = live_runs["seed"]
    assert run.returncode == 0 and "1 xfailed" in run.output, run.describe()


def test_one_more_field_with_the_key_turns_the_check_red(live_runs: dict[str, GateRun]) -> None:
    run = live_runs[KEY_BREAKAGE.id]
    assert run.returncode == 1 and KEY_IN_PATH in run.failed, run.describe()
    assert KEY_BREAKAGE.must_say in run.output, run.describe()


def test_services_that_log_the_normalised_path_fix_the_finding(
    live_runs: dict[str, GateRun],
) -> None:
    run = live_runs["fixed"]
    assert run.returncode == 1 and KEY_IN_PATH in run.failed, run.describe()
    assert "the finding is fixed, remove it: redact-api-key-in-path" in run.output, run.describe()
