"""Lazy set-up: `pytest --obs-install-plan FILE` names what the selected tests need, and
scripts/install-backends installs just those steps (scripts/gate chains the two)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.gate_subprocess import REPO_ROOT, clean_env, run_gate


def plan(tmp_path: Path, *args: str, suite: str = "suites") -> dict[str, str]:
    """The plan a child gate writes for `args`: step -> the suites that need it."""
    out = tmp_path / "plan.txt"
    run = run_gate(*args, "--obs-install-plan", str(out), suite=suite, timeout=120)
    assert run.returncode == 0, run.describe()
    assert " passed" not in run.output and "failed" not in run.output, run.describe()
    return dict(line.split(" ", 1) for line in out.read_text().splitlines())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-k", "alerts"), {"prometheus": "alerts", "alertmanager": "alerts"}),
        (
            ("-k", "alerts", "--server-versions", "debian"),
            {"prometheus-debian": "alerts", "alertmanager-debian": "alerts"},
        ),
        (("-k", "slo and not live"), {"prometheus": "slo", "sloth": "slo"}),
        # the live SLI test needs Prometheus, which alerts to the run's Alertmanager
        (("-k", "slo and live"), {"prometheus": "slo", "alertmanager": "slo"}),
    ],
    ids=["alerts", "alerts-debian", "slo-offline", "slo-live"],
)
def test_the_plan_names_only_what_the_selection_needs(
    tmp_path: Path, args: tuple[str, ...], expected: dict[str, str]
) -> None:
    assert plan(tmp_path, *args) == expected


def test_tracing_needs_its_servers_and_no_prometheus_build(tmp_path: Path) -> None:
    steps = plan(tmp_path, "-k", "tracing")
    assert {"jaeger", "kafka", "redis", "elasticsearch"} <= set(steps), steps
    assert not {"prometheus", "alertmanager", "sloth"} & set(steps), steps


def test_the_node_services_are_built_only_for_tests_of_the_services(tmp_path: Path) -> None:
    """The app-level suites and the load gate (its own `load_stack`) need the services
    build; the alert suite, which starts no service under test, does not."""
    assert plan(tmp_path, "-k", "metrics").get("services") == "metrics"
    assert plan(tmp_path, "-m", "load", suite="loadtests").get("services") == "load"
    assert "services" not in plan(tmp_path, "-k", "alerts")


def test_a_bad_option_stops_the_plan_in_one_line(tmp_path: Path) -> None:
    run = run_gate(
        "-k", "alerts", "--time-scale", "abc", "--obs-install-plan", str(tmp_path / "p"),
        suite="suites",
    )  # fmt: skip
    assert run.returncode == 4, run.describe()
    assert "Traceback" not in run.output and not (tmp_path / "p").exists(), run.describe()


def test_install_backends_refuses_an_unknown_step() -> None:
    proc = subprocess.run(
        ["bash", "scripts/install-backends", "prometheus=alerts", "promethus=alerts"],
        cwd=REPO_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "install-backends: unknown step 'promethus' (known: prometheus-debian "
        "alertmanager-debian redis kafka elasticsearch wrk containers actionlint browser "
        "prometheus "
        "alertmanager jaeger sloth services promtool-all-sd)"
    ], proc.stderr
    assert "building" not in proc.stdout, proc.stdout  # checked before any step installs
