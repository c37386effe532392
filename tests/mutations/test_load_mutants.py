"""Tighten the latency SLO in a copied config and the load gate goes red, naming the SLO."""

from __future__ import annotations

from pathlib import Path

from tests.gate_subprocess import copy_config, edit, run_gate

SLOS = Path("slo") / "mindweave-slos.yaml"
GATEWAY_LATENCY_BUCKET = 'http_request_duration_seconds_bucket{service="api-gateway",le="0.5"}'


def test_load_gate_goes_red_when_the_latency_slo_tightens(tmp_path: Path) -> None:
    """Break one line of the SLO file (500 ms -> 10 ms) and the SLO run fails, naming it."""
    config = copy_config(tmp_path / "config")
    edit(config / SLOS, GATEWAY_LATENCY_BUCKET, GATEWAY_LATENCY_BUCKET.replace("0.5", "0.01"))
    run = run_gate(
        f"--obs-config={config}",
        "-p", "no:locust", "-m", "load", "-k", "meets_its_slos_client_side",
        "--load-run-time", "5", "--load-users", "5",
        junit=tmp_path / "junit.xml",
        suite="loadtests",
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.describe()
    assert run.failed == {"test_gateway_meets_its_slos_client_side"}, run.describe()
    assert "api-gateway-latency: p99 <= 10 ms" in run.output, run.describe()
