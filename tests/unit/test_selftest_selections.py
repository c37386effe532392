"""Which tests a mutant's child gate runs: the -k of each step, read by pytest itself on the
seed's suites (a -k that selected nothing of the mutated part would let every mutant live),
and which of a child's failures count as a kill."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from obsgate.scenarios.live import LOST_SCRAPES
from obsgate.selftest.mutants import Mutant
from obsgate.selftest.runner import (
    AM_SERVER_TESTS,
    NOT_LIVE,
    SLO_DETECTION_TEST,
    Runner,
    junit_results,
)
from tests.gate_subprocess import REPO_ROOT, SEED_CONFIG, clean_env


def mutant(part: str, subject: str) -> Mutant:
    return Mutant(part, "f.yaml", 1, "a", "b", "op", "what", subject)


def collected(suite: str, select: str) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", f"suites/{suite}", f"--obs-config={SEED_CONFIG}",
           "-k", select, "--collect-only", "-q", "-p", "no:cacheprovider",
           "-o", "addopts="]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_an_slo_mutant_runs_its_own_slo_s_detection_and_every_other_check() -> None:
    [select] = Runner(SEED_CONFIG).selections(mutant("slos", "availability"))
    tests = collected("slo", select)
    detection = [t for t in tests if SLO_DETECTION_TEST in t]
    assert detection and all("availability" in t for t in detection), detection
    assert any("api-gateway-availability" in t for t in detection), detection
    assert not any("latency" in t.split("[")[-1] for t in detection), detection
    assert any("test_page_and_ticket_carry_routing_labels[api-gateway-latency]" in t
               for t in tests), tests  # fmt: skip
    assert not any("live" in t.split("::")[0] for t in tests), tests


def test_an_alertmanager_mutant_runs_the_server_tests_second() -> None:
    first, second = Runner(SEED_CONFIG).selections(mutant("alertmanager", "route"))
    assert first == f"{NOT_LIVE} and not ({AM_SERVER_TESTS})"
    assert second == f"{NOT_LIVE} and ({AM_SERVER_TESTS})"
    assert any("test_routing_semantics" in t for t in collected("routing", second))
    assert not any("test_routing_semantics" in t for t in collected("routing", first))


def test_the_non_live_selection_leaves_out_the_live_modules_only() -> None:
    """A test whose id holds the word (`/health/live`, `..._replayed_live_...`) still runs."""
    [select] = Runner(SEED_CONFIG).selections(mutant("propagation", "/health/live"))
    tracing = collected("tracing", select)
    assert any("test_health_route_makes_no_span[/health/live]" in t for t in tracing), tracing
    alerts = collected("alerts", NOT_LIVE)
    assert any("test_every_rule_is_replayed_live_or_says_why" in t for t in alerts), alerts
    assert alerts and not any("test_alerts_live.py" in t for t in alerts), alerts


def test_a_live_failure_the_machine_decided_is_no_kill(tmp_path: Path) -> None:
    """A live test that failed because Prometheus lost the scenario's scrapes names the
    machine, not the rule: the self-test does not count it as a mutant's kill."""
    junit = tmp_path / "junit.xml"
    junit.write_text(
        "<testsuites><testsuite>"
        '<testcase classname="a" name="passes"/>'
        '<testcase classname="a" name="rule"><failure message="expected 1 firing alert"/>'
        "</testcase>"
        f'<testcase classname="a" name="load"><failure message="x">{LOST_SCRAPES}</failure>'
        "</testcase>"
        "</testsuite></testsuites>"
    )
    failed, counts, unjudged = junit_results(junit)
    assert failed == {"a::rule", "a::load"} and counts["passed"] == 1
    assert unjudged == {"a::load"}
