"""`obs-gate self-test` on the MindWeave config, as a user runs it: the mutants of HighLatency's
threshold, comparison and matchers, each classified against the unmutated baseline, and the
exit code held to --min-kill-rate.

Known here: the threshold nudged to 3 breaks `high-latency-two-point-two-seconds-fires` (a
2.2 s P99 must warn); the widened namespace matcher breaks
`high-latency-other-namespace-five-seconds-quiet`; `>` moved to `>=` is caught only by
`high-latency-at-threshold-quiet` (a P99 of exactly 2 s), which the copy run here lacks, so
it survives: the survivor a team missing that scenario would be shown.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gate_subprocess import REPO_ROOT, SEED_CONFIG, clean_env, copy_config

RULES = "prometheus/rules/mindweave-alerts.yaml"
AT_THRESHOLD = "  - id: high-latency-at-threshold-quiet\n"


def without_at_threshold_scenario(config: Path) -> None:
    """The copy's HighLatency scenarios without the one exactly on its threshold."""
    scenarios = config / "scenarios" / "alerts" / "availability.yaml"
    text = scenarios.read_text()
    start = text.index(AT_THRESHOLD)
    end = text.find("\n  - id:", start + 1)
    scenarios.write_text(text[:start] + (text[end + 1 :] if end >= 0 else ""))


@pytest.fixture(scope="module")
def self_test(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict]:
    reports = tmp_path_factory.mktemp("self-test-reports")
    config = copy_config(tmp_path_factory.mktemp("self-test-config") / "config")
    without_at_threshold_scenario(config)
    cmd = [sys.executable, "-m", "obsgate.cli", "self-test", str(config),
           "--match", "HighLatency", "--operators", "threshold,comparison,matcher-widen",
           "--limit", "6", "--min-kill-rate", "99", "--reports-dir", str(reports)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    output = proc.stdout + proc.stderr
    data_file = reports / "self-test.json"
    assert data_file.is_file(), output
    assert (reports / "self-test.md").is_file() and (reports / "self-test.html").is_file()
    return (
        proc.returncode,
        (reports / "self-test.md").read_text(),
        json.loads(data_file.read_text()),
    )


def _status(data: dict, line: int, operator: str, new_has: str) -> str:
    mutants = data["mutants"]
    found = [m["status"] for m in mutants
             if (m["line"], m["operator"]) == (line, operator) and new_has in m["new"]]  # fmt: skip
    assert len(found) == 1, (line, operator, new_has, data["mutants"])
    return found[0]


def test_three_mutants_of_high_latency_are_classified(
    self_test: tuple[int, str, dict],
) -> None:
    _, _, data = self_test
    assert len(data["mutants"]) == 3
    assert data["baseline_failed"] == []
    assert _status(data, 42, "threshold", "> 3") == "killed"
    assert _status(data, 40, "matcher-widen", 'namespace=~".*"') == "killed"
    assert _status(data, 42, "comparison", ">= 2") == "survived"
    threshold = next(m for m in data["mutants"] if m["operator"] == "threshold")
    assert any("high-latency-two-point-two-seconds-fires" in t for t in threshold["killed_by"])
    widened = next(m for m in data["mutants"] if m["operator"] == "matcher-widen")
    assert any("other-namespace-five-seconds-quiet" in t for t in widened["killed_by"])


def test_report_lists_each_survivor_with_its_diff(self_test: tuple[int, str, dict]) -> None:
    _, md, data = self_test
    survivors = [m for m in data["mutants"] if m["status"] == "survived"]
    assert survivors
    for m in survivors:
        assert f"`{RULES}:{m['line']}` {m['operator']}" in md
        assert f"  + {m['new'].strip()}" in md
    assert "## Kill rate per operator" in md and "| `threshold` | 1 | 0 | 0 | 100.0 % |" in md


def test_exit_code_follows_min_kill_rate(self_test: tuple[int, str, dict]) -> None:
    returncode, _, data = self_test
    assert data["kill_rate"] < 0.99
    assert returncode == 1


def test_alertmanager_mutants_start_a_server_only_when_the_checks_without_one_miss_them(
    tmp_path: Path,
) -> None:
    """A changed receiver is killed by amtool's route tests, before any semantics test
    runs; a label dropped from group_by only by the semantics tests, which start
    Alertmanager and watch its grouping (the second step)."""
    cmd = [sys.executable, "-m", "obsgate.cli", "self-test", str(SEED_CONFIG),
           "--parts", "alertmanager", "--operators", "receiver,group-by",
           "--match", "default-receiver -> pagerduty", "--match", "'alertname' removed",
           "--reports-dir", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    data_file = tmp_path / "self-test.json"
    assert data_file.is_file(), proc.stdout + proc.stderr
    mutants = {m["operator"]: m for m in json.loads(data_file.read_text())["mutants"]}
    assert sorted(mutants) == ["group-by", "receiver"], mutants
    receiver, grouping = mutants["receiver"], mutants["group-by"]
    assert receiver["status"] == "killed" and receiver["killed_by"], receiver
    assert all("test_routes_amtool" in t for t in receiver["killed_by"]), receiver
    assert grouping["status"] == "killed" and grouping["killed_by"], grouping
    assert all("test_routing_semantics" in t for t in grouping["killed_by"]), grouping


def test_services_and_dashboard_mutants_are_judged_by_their_own_suites(tmp_path: Path) -> None:
    """A redact path removed from the seed's logger.ts is killed by the redaction property,
    the trace-context propagator swapped by the tracing suite, each on services built from
    the mutated TypeScript; a panel's `by (service)` removed by the panel readings."""
    cmd = [sys.executable, "-m", "obsgate.cli", "self-test", str(SEED_CONFIG),
           "--parts", "redaction,propagation,dashboards",
           "--operators", "redact-path,propagator,by-label",
           "--match", "redact path 'ssn'", "--match", "W3CTraceContextPropagator",
           "--match", "Request Rate by Service", "--reports-dir", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    data_file = tmp_path / "self-test.json"
    assert data_file.is_file(), proc.stdout + proc.stderr
    mutants = {m["operator"]: m for m in json.loads(data_file.read_text())["mutants"]}
    assert sorted(mutants) == ["by-label", "propagator", "redact-path"], mutants
    expected = {
        "redact-path": ("services/src/logging/logger.ts", "test_no_secret_from_a_covered_place"),
        "propagator": ("services/src/tracing/tracing.ts", "suites.tracing."),
        "by-label": ("dashboards/mindweave-overview.json", "test_panel_reads_what_its_intent_says"),
    }
    for operator, (file, test) in expected.items():
        m = mutants[operator]
        assert m["file"] == file and m["status"] == "killed", m
        assert any(test in t for t in m["killed_by"]), m


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children in their own sessions included)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_ctrl_c_stops_every_child_and_keeps_the_partial_report(tmp_path: Path) -> None:
    """Alertmanager mutants run the routing suite, whose children start real servers."""
    reports, tmpdir = tmp_path / "reports", tmp_path / "tmp"  # its own: other self-tests
    tmpdir.mkdir()  # may run beside this one
    cmd = [sys.executable, "-m", "obsgate.cli", "self-test", str(SEED_CONFIG), "--parts",
           "alertmanager", "--limit", "6", "--reports-dir", str(reports)]  # fmt: skip
    env = clean_env(TMPDIR=str(tmpdir))
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # the baseline, then the first mutant's verdict
        lines.append(line)
        if line.startswith("[1/"):
            break
    deadline = time.monotonic() + 60
    below: set[int] = set()
    while time.monotonic() < deadline and not any("pytest" in _cmdline(p) for p in below):
        below = _descendants(proc.pid)  # the next mutants' gates are starting
        time.sleep(0.2)
    assert below, "".join(lines)
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=180)[0]
    assert proc.returncode == 2, "".join(lines) + rest
    time.sleep(3)  # the servers' guards notice their owner is gone
    assert _alive(below) == set(), [_cmdline(p) for p in _alive(below)]
    report = (reports / "self-test.md").read_text()
    assert "**Interrupted:**" in report
    data = json.loads((reports / "self-test.json").read_text())
    assert data["interrupted"] and len(data["mutants"]) == 6
    assert {m["status"] for m in data["mutants"]} & {"killed", "survived"}
    assert "not run" in {m["status"] for m in data["mutants"]}
    assert not list(tmpdir.glob("obs-gate-self-test-*")), "the mutants' copies were left"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""
