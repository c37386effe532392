"""The load figure from a real, small Locust run: Locust (a subprocess, as the gate runs it)
loads a local server that takes about 30 ms a request and records each request's own time;
the figure reads Locust's stats history as the gate does and shows both sides, the seed's
latency SLO and the cross-check's verdicts."""

from __future__ import annotations

import http.server
import math
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.load.crosscheck import PercentileCheck, bucket_of
from obsgate.load.history import QUANTILES, client_history, history_path
from obsgate.load.locust_run import LoadPhase, LoadProfile, locust_command
from obsgate.load.thresholds import slo_thresholds
from obsgate.reports.load_plot import LatencyPicture, latency_prefix, latency_svg
from tests.gate_subprocess import SEED_CONFIG

ROUTE = ("GET", "/api/v1/slow")
DELAY_S = 0.03
BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]  # the seed's, metrics.service.ts
LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Client(FastHttpUser):
    wait_time = constant(0.02)

    @task
    def slow(self):
        self.client.get("/api/v1/slow", name="/api/v1/slow")
"""


class Server(http.server.ThreadingHTTPServer):
    served: list[tuple[float, float]]  # (end, seconds taken) per request


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        start = time.perf_counter()
        time.sleep(DELAY_S)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.server.served.append((time.time(), time.perf_counter() - start))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.served = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


def test_the_gate_asks_locust_for_every_routes_history(tmp_path: Path) -> None:
    phase = LoadPhase(
        name="healthy",
        host="http://127.0.0.1:1",
        profile=LoadProfile(users=1, spawn_rate=1, run_time_s=1),
        config_dir=SEED_CONFIG,
        out_dir=tmp_path,
    )
    assert "--csv-full-history" in locust_command(phase)


def test_latency_figure_from_a_real_locust_run(tmp_path: Path, server: Server) -> None:
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    prefix = tmp_path / "healthy"
    host = f"http://127.0.0.1:{server.server_address[1]}"
    t0 = time.time()
    cmd = [sys.executable, "-m", "locust", "-f", "locustfile.py", "--headless", "--host", host]
    cmd += ["-u", "3", "-r", "3", "-t", "8s", "--csv", str(prefix), "--csv-full-history"]
    cmd += ["--only-summary", "--stop-timeout", "2"]
    proc = subprocess.run(
        cmd, cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False
    )
    t1 = time.time()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    client = client_history(history_path(f"{prefix}_stats.csv"), ROUTE)
    assert all(len(client[q]) >= 2 for q in QUANTILES), client
    assert all(t0 - 1 <= t <= t1 + 1 and v >= DELAY_S * 1000 for t, v in client[0.5]), client
    # The server side as the gateway's histogram would tell it: its own times, per second
    # over the last 10 s.
    server_series = {
        q: [
            (s, 1000 * quantile([d for end, d in server.served if s - 10 < end <= s], q))
            for s in range(math.ceil(t0) + 1, math.floor(t1) + 1)
            if sum(1 for end, _ in server.served if s - 10 < end <= s) >= 2
        ]
        for q in QUANTILES
    }
    served = [d for _, d in server.served]
    whole = {q: float(client[q][-1][1]) for q in QUANTILES}
    checks = [
        PercentileCheck(
            f"{ROUTE[0]} {ROUTE[1]}",
            q,
            whole[q],
            1000 * quantile(served, q),
            bucket_of(quantile(served, q), BUCKETS),
            network_ms=0.0,
        )
        for q in QUANTILES
    ]
    thresholds = [t for t in slo_thresholds(ObsConfig(SEED_CONFIG), "api-gateway") if t.is_latency]
    svg = latency_svg(
        LatencyPicture(
            method=ROUTE[0],
            path=ROUTE[1],
            t0=t0,
            t1=t1,
            client=client,
            server=server_series,
            thresholds=thresholds,
            checks=checks,
            notes=["client (Locust, whole run) ok api-gateway-latency: p99 <= 500 ms: demo"],
        ),
        "passed",
    )
    (tmp_path / "latency.svg").write_text(svg)  # kept with the test's tmp dir, to look at
    root = ET.fromstring(svg)
    found = {
        el.get("id"): " ".join("".join(el.itertext()).split()) for el in root.iter() if el.get("id")
    }
    prefix_id = latency_prefix(*ROUTE)
    for q in ("p50", "p95", "p99"):
        for part in ("client", "server", "bucket", "allowed", "check-client", "check-server"):
            assert f"{prefix_id}-{part}-{q}" in found, (part, q, sorted(found))
    assert found[f"{prefix_id}-threshold-label-0"] == "SLO api-gateway-latency: p99 <= 500 ms"
    assert [found[f"{prefix_id}-check-label-{q}"] for q in ("p50", "p95", "p99")] == [
        "ok" if c.ok else "DISAGREE" for c in checks
    ]
    assert checks[0].ok, checks[0].describe()  # a 30 ms route, both sides: bucket 10..50 ms


def test_a_percentile_the_server_does_not_confirm_reads_disagree() -> None:
    """Client p99 400 ms, server's in the 25..50 ms bucket: the check fails, in red."""
    disagree = PercentileCheck("GET /x", 0.99, 400.0, 40.0, (25.0, 50.0), network_ms=2.0)
    agree = PercentileCheck("GET /x", 0.5, 30.0, 28.0, (25.0, 50.0), network_ms=2.0)
    svg = latency_svg(
        LatencyPicture(
            method="GET",
            path="/x",
            t0=0.0,
            t1=30.0,
            client={},
            server={},
            thresholds=[],
            checks=[agree, disagree],
        )
    )
    root = ET.fromstring(svg)
    found = {el.get("id"): "".join(el.itertext()).strip() for el in root.iter() if el.get("id")}
    prefix = latency_prefix("GET", "/x")
    assert found[f"{prefix}-check-label-p50"] == "ok"
    assert found[f"{prefix}-check-label-p99"] == "DISAGREE"
