"""The gate's key promise: break one line of the config under test and it goes red, naming
what broke; leave the config alone and it stays green.

Each case copies the seed config, changes one line of the alert rules, and runs the gate on
the copy in a child pytest. All runs start at once in a module fixture (each takes seconds,
mostly promtool), and one test per case reads its result.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from obsgate.scenarios.model import load_scenarios
from tests.gate_subprocess import RULES, SEED_CONFIG, GateRun, copy_config, edit, run_gate

NOT_LIVE = ("-k", "not live")
ROUTING_CHECK = "test_every_alert_carries_the_labels_the_policy_requires"


@dataclass(frozen=True)
class Mutation:
    """One textual edit of the rules, the alert it breaks, and what the gate must say."""

    id: str
    alert: str
    old: str
    new: str
    must_fail: tuple[str, ...]
    must_say: tuple[str, ...] = ()
    universal: tuple[str, ...] = ()  # universal checks allowed (and expected) to fail
    select: tuple[str, ...] = NOT_LIVE


def exact(scenario_id: str) -> str:
    return f"test_alert_scenario_exact[{scenario_id}]"


MUTATIONS = [
    Mutation(
        "threshold",
        "HighErrorRate",
        "> 0.05",
        "> 0.07",
        must_fail=(exact("high-error-rate-fires"),),
    ),
    Mutation(
        "for-duration",
        "ServiceDown",
        "for: 1m",
        "for: 3m",
        must_fail=(exact("service-down-fires"),),
    ),
    Mutation(
        "severity",
        "HighLatency",
        "severity: warning\n          team: platform\n        annotations:\n"
        '          summary: "High latency',
        "severity: critical\n          team: platform\n        annotations:\n"
        '          summary: "High latency',
        must_fail=(exact("high-latency-fires"),),
    ),
    Mutation(
        "annotation",
        "KafkaConsumerLag",
        'description: "Consumer lag is {{ $value }} messages for',
        'description: "Consumer lag is {{ $value }} msgs for',
        must_fail=(exact("kafka-consumer-lag-fires"),),
        must_say=("msgs for",),
    ),
    Mutation(
        "routing-label",
        "DatabaseConnectionPoolExhausted",
        "          team: platform\n        annotations:\n"
        '          summary: "Database connection pool',
        '        annotations:\n          summary: "Database connection pool',
        must_fail=(ROUTING_CHECK, exact("db-pool-exhausted-fires")),
        must_say=("DatabaseConnectionPoolExhausted (mindweave-alerts.yaml:", "no 'team' label"),
        universal=(ROUTING_CHECK,),
    ),
    Mutation(
        "matcher-dropped",
        "HighErrorRate",
        'http_requests_total{status_code=~"5..",namespace="mindweave-services"}',
        'http_requests_total{status_code=~"5.."}',
        must_fail=(exact("high-error-rate-other-namespace-errors-quiet"),),
    ),
]
LIVE = Mutation(
    "live-summary",
    "HighErrorRate",
    'summary: "High error rate detected"',
    'summary: "High error rate seen"',
    must_fail=("test_scenario_live[high-error-rate-fires]",),
    # The mutated text in what Prometheus fired proves the copy, not chance, made it red.
    must_say=("HighErrorRate, scenario high-error-rate-fires", "'summary': 'High error rate seen'"),
    select=("-k", "live and high-error-rate"),
)
CONTROL = "unmodified"


def _run_case(root: Path, case: Mutation | None) -> GateRun:
    name = case.id if case else CONTROL
    config = copy_config(root / name / "config")
    if case is not None:
        edit(config / RULES, case.old, case.new)
    select = case.select if case else NOT_LIVE
    # All cases run at once on two cores: a child's bound is the whole batch's.
    return run_gate(
        "--obs-config", str(config), *select, junit=root / name / "junit.xml", timeout=900
    )  # fmt: skip


@pytest.fixture(scope="module")
def gate_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    """Every case's gate run, all at once; the live one first, as it takes longest."""
    root = tmp_path_factory.mktemp("breakage")
    cases: list[Mutation | None] = [LIVE, *MUTATIONS, None]
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {(c.id if c else CONTROL): pool.submit(_run_case, root, c) for c in cases}
    return {name: f.result() for name, f in futures.items()}


def _scenario_alerts() -> dict[str, str]:
    return {s.id: s.alert for s in load_scenarios(SEED_CONFIG / "scenarios" / "alerts")}


def _check(case: Mutation, run: GateRun) -> None:
    assert run.returncode == 1, run.describe()
    missing = [name for name in case.must_fail if name not in run.failed]
    assert not missing, f"{case.id}: expected {missing} to fail\n{run.describe()}"
    assert case.alert in run.output, run.describe()
    for text in case.must_say:
        assert text in run.output, f"{case.id}: output lacks {text!r}\n{run.describe()}"
    # Red for the right reason: only the broken alert's scenarios (and named checks) fail.
    alerts = _scenario_alerts()
    strays = [
        name
        for name in run.failed - set(case.universal)
        if "[" not in name or alerts.get(name.split("[", 1)[1].rstrip("]")) != case.alert
    ]
    assert not strays, f"{case.id}: failures unrelated to {case.alert}: {strays}"


@pytest.mark.parametrize("case", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_one_broken_line_turns_the_gate_red(case: Mutation, gate_runs: dict[str, GateRun]) -> None:
    """A gate that stays green on a changed threshold, duration, label or text protects nothing."""
    _check(case, gate_runs[case.id])


def test_unmodified_copy_passes(gate_runs: dict[str, GateRun]) -> None:
    """The control: the failures above come from the mutation, not from running on a copy."""
    run = gate_runs[CONTROL]
    assert run.returncode == 0, run.describe()
    assert not run.failed, run.describe()


def test_live_layer_catches_a_changed_summary(gate_runs: dict[str, GateRun]) -> None:
    """The live layer compares what real Prometheus and Alertmanager rendered, not just firing."""
    _check(LIVE, gate_runs[LIVE.id])
