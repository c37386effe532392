"""The load gate's own tests: its thresholds follow the SLO file, its arithmetic is right,
and plain runs leave it out. That a tightened SLO turns it red is
tests/mutations/test_load_mutants.py."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError
from obsgate.load.capacity import parse_wrk
from obsgate.load.crosscheck import PercentileCheck, bucket_of
from obsgate.load.thresholds import slo_thresholds
from tests.gate_subprocess import REPO_ROOT, clean_env, copy_config, edit

SLOS = Path("slo") / "mindweave-slos.yaml"
GATEWAY_LATENCY_BUCKET = 'http_request_duration_seconds_bucket{service="api-gateway",le="0.5"}'


def by_id(config: ObsConfig) -> dict:
    return {t.slo_id: t for t in slo_thresholds(config)}


def test_thresholds_follow_the_slo_file(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    before = by_id(ObsConfig(config))
    assert before["api-gateway-latency"].bound_s == 0.5
    assert before["api-gateway-availability"].bound_s is None
    edit(config / SLOS, GATEWAY_LATENCY_BUCKET, GATEWAY_LATENCY_BUCKET.replace("0.5", "0.25"))
    edit(config / SLOS, "objective: 99.9\n", "objective: 99.5\n")
    after = by_id(ObsConfig(config))
    assert after["api-gateway-latency"].bound_s == 0.25
    assert after["api-gateway-latency"].describe() == "api-gateway-latency: p99 <= 250 ms"
    assert math.isclose(after["api-gateway-availability"].max_error_ratio, 0.005)


def test_a_latency_slo_with_two_buckets_is_refused(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    edit(
        config / SLOS,
        'sum(rate(http_request_duration_seconds_count{service="api-gateway"}[{{.window}}]))',
        'sum(rate(http_request_duration_seconds_bucket{service="api-gateway",le="1"}[{{.window}}]))',
    )
    with pytest.raises(ConfigError, match=r"mindweave-slos.yaml:\d+: SLO api-gateway-latency"):
        slo_thresholds(ObsConfig(config))


def test_bucket_of_a_server_quantile() -> None:
    bounds = [0.01, 0.05, 0.1, 0.25, 0.5]
    assert bucket_of(0.3, bounds) == (250.0, 500.0)
    assert bucket_of(0.25, bounds) == (100.0, 250.0)  # buckets are (lo, hi]
    assert bucket_of(0.004, bounds) == (0.0, 10.0)
    assert bucket_of(0.7, bounds) == (500.0, math.inf)


def test_percentile_tolerance_is_bucket_rounding_and_network_share() -> None:
    def check(client_ms: float) -> PercentileCheck:
        return PercentileCheck("POST /x", 0.99, client_ms, 300.0, (250.0, 500.0), 40.0)

    assert check(260).ok and check(540).ok
    assert not check(230).ok  # below the bucket: the client cannot be faster than the server
    assert not check(570).ok  # past the bucket, the rounding and the network share


WRK_OUTPUT = """\
Running 20s test @ http://127.0.0.1:41063/api/v1/orgs/x/projects/42/messages
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    81.37ms   21.02ms 251.33ms   74.12%
    Req/Sec   122.87     21.33   171.00     70.00%
  Latency Distribution
     50%   78.92ms
     75%   92.10ms
     90%  108.42ms
     99%  145.87ms
  2451 requests in 20.02s, 712.23KB read
  Non-2xx or 3xx responses: 3
Requests/sec:    122.43
Transfer/sec:     35.58KB
"""


def test_parse_wrk() -> None:
    result = parse_wrk(WRK_OUTPUT, connections=10, duration_s=20)
    assert (result.requests_per_s, result.p50_ms, result.p99_ms) == (122.43, 78.92, 145.87)
    assert result.non_2xx == 3 and result.socket_errors is None


def collect(*args: str) -> str:
    """`pytest --collect-only ARGS` as typed, no path: pytest's testpaths decide."""
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    cmd += ["-o", "addopts=-p no:locust", *args]
    done = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


def test_plain_runs_deselect_the_load_gate_and_say_so() -> None:
    plain = collect("-k", "client_side")
    assert "test_gateway_meets_its_slos_client_side" not in plain, plain
    assert "load gate: 1 tests deselected" in plain, plain
    marked = collect("-m", "load", "-k", "client_side")
    assert "test_gateway_meets_its_slos_client_side" in marked, marked
