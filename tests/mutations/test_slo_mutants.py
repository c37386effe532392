"""Break one line of the SLO config in a copy and the SLO suite goes red, naming the SLO;
fix a finding and its strict xfail goes red too; change what a pinned finding's check lists
and the finding no longer explains it, the failure naming the problem it does not pin. Each
case runs `pytest suites/slo` on its copy in a child pytest (tests/gate_subprocess.py), all
at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gate_subprocess import GateRun, copy_config, edit, run_gate

SLOS = Path("slo") / "mindweave-slos.yaml"
POLICY = Path("slo") / "error-budget-policy.yaml"
AVAILABILITY = "api-gateway-availability"
GOOD_LATENCY_ERRORS = (
    'sum(rate(http_request_duration_seconds_count{service="api-gateway"}[{{.window}}]))\n'
    "            - sum(rate(http_request_duration_seconds_bucket"
    '{service="api-gateway",le="0.5"}[{{.window}}]))'
)


@dataclass(frozen=True)
class Mutation:
    id: str
    file: Path
    old: str
    new: str
    select: str
    must_fail: tuple[str, ...]
    must_say: tuple[str, ...]


MUTATIONS = [
    Mutation(
        "objective",
        SLOS,
        "objective: 99.9\n",
        "objective: 99.5\n",
        "budget",
        (f"test_policy_budget_agrees_with_the_slo[{AVAILABILITY}]",),
        (f"SLO {AVAILABILITY}", "the objective is 99.5%"),
    ),
    # The policy's figure serves both SLOs of the service: the latency SLO's finding pins
    # the 43.2 it compares with its own 432 minutes, so 40 is a problem it does not explain.
    Mutation(
        "policy-minutes",
        POLICY,
        "monthly_budget_minutes: 43.2",
        "monthly_budget_minutes: 40",
        "budget",
        (
            f"test_policy_budget_agrees_with_the_slo[{AVAILABILITY}]",
            "test_policy_budget_agrees_with_the_slo[api-gateway-latency]",
        ),
        (
            f"SLO {AVAILABILITY}",
            "monthly_budget_minutes 40.0 but 99.9% over 30 days allows 43.2",
            "the finding slo-latency-outside-policy does not explain this: not in the finding: "
            "['monthly_budget_minutes 40.0 but 99.0% over 30 days allows 432']",
        ),
    ),
    Mutation(
        "sli-query",
        SLOS,
        'status_code=~"5.."}[{{.window}}]',
        'status_code=~"4.."}[{{.window}}]',
        "live or detection",
        (
            f"test_error_ratio_is_the_bad_fraction[{AVAILABILITY}]",
            f"test_burn_is_detected_as_the_workbook_says[{AVAILABILITY}-outage]",
        ),
        (
            f"SLO {AVAILABILITY}: with 20% bad events its error ratio reads None",
            "its errorQuery selects no series of its own events",
        ),
    ),
    Mutation(
        "fixed-latency-query",
        SLOS,
        'sum(rate(http_request_duration_seconds_bucket{service="api-gateway",le="0.5"}'
        "[{{.window}}]))\n          totalQuery",
        GOOD_LATENCY_ERRORS + "\n          totalQuery",
        "live or in_promtool",
        (
            "test_error_ratio_is_the_bad_fraction[api-gateway-latency]",
            "test_error_ratio_is_the_bad_fraction_in_promtool[api-gateway-latency]",
        ),
        ("the finding is fixed",),
    ),
    # The processing-latency SLO has no alerts: its SLI checks are what see its queries. The
    # exact one runs without a server, so the self-test's non-live runs see this too.
    Mutation(
        "processing-latency-bucket-matcher-dropped",
        SLOS,
        'usage_event_processing_duration_seconds_bucket{le="0.1"}',
        "usage_event_processing_duration_seconds_bucket{}",
        "in_promtool",
        ("test_error_ratio_is_the_bad_fraction_in_promtool[usage-tracker-processing-latency]",),
        (
            "it reads more than 1: the errorQuery counts events the totalQuery does not",
            "the finding slo-processing-latency-error-query-counts-good does not explain this",
        ),
    ),
    # A half fix of slo-alerts-without-severity: `severity: critical` on both of the
    # latency SLO's alerts makes its ticket page too. A text pin ("without severity") took
    # it for the finding; the pinned problems do not.
    Mutation(
        "latency-alerts-all-critical",
        SLOS,
        '          team: platform\n        annotations:\n          summary: "API Gateway latency',
        "          team: platform\n          severity: critical\n        annotations:\n"
        '          summary: "API Gateway latency',
        "routing_labels",
        ("test_page_and_ticket_carry_routing_labels[api-gateway-latency]",),
        (
            "the finding slo-alerts-without-severity does not explain this",
            "not in the finding: ['ticket alert MindWeaveAPIGatewayLatency without "
            "severity=warning (it has severity=critical)']",
        ),
    ),
    # slo-latency-outside-policy pins the policy's target against the objective 99.0: another
    # objective is another problem, which it does not explain.
    Mutation(
        "processing-latency-objective",
        SLOS,
        'objective: 99.0\n      description: "Usage events',
        'objective: 99.5\n      description: "Usage events',
        "budget",
        ("test_policy_budget_agrees_with_the_slo[usage-tracker-processing-latency]",),
        (
            "the finding slo-latency-outside-policy does not explain this",
            "not in the finding: ['monthly_budget_minutes 4.32 but 99.5% over 30 days allows "
            "216', 'slo_target 99.99% but the objective is 99.5%']",
        ),
    ),
]
CONTROL = "unmodified"


def _run(root: Path, case: Mutation | None) -> GateRun:
    name = case.id if case else CONTROL
    config = copy_config(root / name / "config")
    if case is not None:
        edit(config / case.file, case.old, case.new)
    select = case.select if case else "not properties"
    return run_gate(
        f"--obs-config={config}",
        "--stack=process",
        "-k",
        select,
        suite="suites/slo",
        junit=root / name / "junit.xml",
        timeout=480,  # three at a time on two cores, beside the other self-tests
    )


@pytest.fixture(scope="module")
def slo_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    root = tmp_path_factory.mktemp("slo-breakage")
    cases: list[Mutation | None] = [*MUTATIONS, None]
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {(c.id if c else CONTROL): pool.submit(_run, root, c) for c in cases}
    return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("case", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_one_broken_line_turns_the_slo_suite_red(case: Mutation, slo_runs) -> None:
    run = slo_runs[case.id]
    assert run.returncode == 1, run.describe()
    missing = [t for t in case.must_fail if t not in run.failed]
    assert not missing, f"{case.id}: expected {missing} to fail\n{run.describe()}"
    for text in case.must_say:
        assert text in run.output, f"{case.id}: output lacks {text!r}\n{run.describe()}"
    slos = {t.split("[", 1)[1].split("]")[0].removesuffix("-outage") for t in case.must_fail}
    strays = [t for t in run.failed if not any(f"[{slo}" in t for slo in slos)]
    assert not strays, f"{case.id}: failures of other SLOs: {strays}\n{run.describe()}"


def test_unmodified_config_keeps_the_slo_suite_green(slo_runs) -> None:
    run = slo_runs[CONTROL]
    assert run.returncode == 0, run.describe()
    assert "xfailed" in run.output, run.describe()
