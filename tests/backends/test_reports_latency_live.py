"""The load figure end to end, small: a local app with the gateway's histogram (its metric,
labels and buckets) scraped every second by a real Prometheus (process backend), loaded by
a real Locust run (a subprocess, with the gate's `--csv-full-history`). Before the load the
app served two requests of 1.2 s, which a 10 s rate window would still count in the load's
first seconds; the figure must show the load's own latency on both sides, the seed's
latency SLO and the cross-check's verdicts."""

from __future__ import annotations

import csv
import http.server
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from obsgate.config import ObsConfig
from obsgate.load.client_report import QUANTILES, quantile_key
from obsgate.load.crosscheck import LATENCY, route_selector
from obsgate.load.history import MeasuredLoad, history_path
from obsgate.load.locust_run import LoadPhase, LoadProfile, locust_command
from obsgate.load.stack import GATEWAY, INTENDED, VIEW, PrometheusQueries
from obsgate.load.thresholds import slo_thresholds
from obsgate.reports.load_plot import latency_picture, latency_prefix, latency_svg
from obsgate.stack import prometheus as prom
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import PrometheusEndpoint
from obsgate.wait import eventually
from tests.gate_subprocess import SEED_CONFIG

ROUTE = ("GET", "/api/v1/slow")
BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)  # metrics.service.ts, the seed's
FAST_S, SLOW_S = 0.03, 1.2
LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Client(FastHttpUser):
    wait_time = constant(0.02)

    @task(3)
    def slow(self):
        self.client.get("/api/v1/slow", name="/api/v1/slow")

    @task(1)
    def health(self):
        self.client.get("/health/live", name="/health/live")
"""


class App(http.server.ThreadingHTTPServer):
    delay = FAST_S
    registry: CollectorRegistry
    latency: Histogram


class Handler(http.server.BaseHTTPRequestHandler):
    server: App

    def do_GET(self) -> None:
        if self.path == "/metrics":
            return self._answer(generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        start = time.perf_counter()
        if self.path == "/api/v1/slow":
            time.sleep(self.server.delay)
        self._answer(b"ok")
        taken = time.perf_counter() - start
        self.server.latency.labels(method="GET", path=self.path).observe(taken)
        return None

    def _answer(self, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)  # Prometheus 3 refuses a scrape without
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def app() -> Iterator[App]:
    server = App(("127.0.0.1", 0), Handler)
    server.registry = CollectorRegistry()
    server.latency = Histogram(
        LATENCY, "request time", ["method", "path"], buckets=BUCKETS, registry=server.registry
    )
    server.latency.labels(method=ROUTE[0], path=ROUTE[1])  # served from 0, as the app does
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def prometheus(app: App, tmp_path: Path) -> Iterator[PrometheusEndpoint]:
    """A real Prometheus scraping the app each second, as the load gate's scrapes it."""
    target = f"127.0.0.1:{app.server_address[1]}"
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": GATEWAY,
                "static_configs": [{"targets": [target], "labels": {VIEW: INTENDED}}],
            }
        ],
    }
    path = tmp_path / "prometheus.yaml"
    path.write_text(yaml.safe_dump(config))
    endpoint = prom.start(ProcessBackend(), tmp_path / "prom", path, factor=1.0, file_sd_dir=None)
    try:
        yield endpoint
    finally:
        from obsgate.stack.process import stop_process_group

        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)


def scraped_after(queries: PrometheusQueries, since: float) -> float:
    expr = f'timestamp(up{{job="{GATEWAY}", {VIEW}="{INTENDED}"}})'

    def scraped() -> float | None:
        last = queries.scalar(expr)
        return last if last is not None and last > since else None

    return eventually(scraped, timeout=30, what="a scrape of the app", interval=0.2)


def locust_report(stats_csv: Path) -> dict:
    """The routes of Locust's stats CSV in the client report's shape (client_report.py)."""
    with stats_csv.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Type"]]
    routes = [
        {"method": r["Type"], "name": r["Name"], "requests": int(r["Request Count"])}
        | {quantile_key(q): float(r[f"{q * 100:g}%"]) for q in QUANTILES}
        for r in rows
    ]
    return {"routes": routes, "verdicts": []}


def test_latency_figure_of_a_real_load_run(
    app: App, prometheus: PrometheusEndpoint, tmp_path: Path
) -> None:
    queries = PrometheusQueries(prometheus)
    url = f"http://127.0.0.1:{app.server_address[1]}"
    scraped_after(queries, time.time())  # the route's buckets at 0 in Prometheus
    app.delay = SLOW_S
    for _ in range(2):
        requests.get(f"{url}{ROUTE[1]}", timeout=10).raise_for_status()
    app.delay = FAST_S
    t0 = scraped_after(queries, time.time())

    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    phase = LoadPhase(
        name="healthy",
        host=url,
        profile=LoadProfile(users=3, spawn_rate=3, run_time_s=8),
        config_dir=SEED_CONFIG,
        out_dir=tmp_path,
    )
    command = locust_command(phase)
    assert "--csv-full-history" in command
    cmd = [sys.executable, "-m", "locust", "-f", "locustfile.py", "--headless", "--host", url]
    cmd += ["-u", "3", "-r", "3", "-t", "8s", "--stop-timeout", "2", "--only-summary"]
    cmd += ["--csv", str(phase.prefix), "--csv-full-history"]
    proc = subprocess.run(
        cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    t1 = scraped_after(queries, time.time())

    # The control: Prometheus holds the slow requests, and a 10 s rate() counts them.
    buckets = route_selector(LATENCY + "_bucket", ROUTE)
    rated = f"histogram_quantile(0.99, sum by (le) (rate({buckets}[10s])))"
    assert (queries.scalar(rated, at=t0 + 1) or 0) > 1.0

    measured = MeasuredLoad(
        report=locust_report(Path(f"{phase.prefix}_stats.csv")),
        history_csv=history_path(f"{phase.prefix}_stats.csv"),
        t0=t0,
        t1=t1,
    )
    thresholds = slo_thresholds(ObsConfig(SEED_CONFIG), GATEWAY)
    picture = latency_picture(queries, measured, ROUTE, thresholds)
    for q in QUANTILES:
        client, server = picture.client[q], picture.server[q]
        assert len(client) >= 2 and all(v >= FAST_S * 1000 for _, v in client), client
        assert len(server) >= 5 and all(t0 <= t <= t1 + 1 for t, _ in server), server
        assert max(v for _, v in server) < 250, server  # no 1.2 s request before the load
    assert [c.quantile for c in picture.checks] == list(QUANTILES)
    assert picture.checks[0].ok, picture.checks[0].describe()  # ~30 ms: bucket 10..50 ms

    svg = latency_svg(picture, "passed")
    (tmp_path / "latency.svg").write_text(svg)
    found = {
        el.get("id"): " ".join("".join(el.itertext()).split())
        for el in ET.fromstring(svg).iter()
        if el.get("id")
    }
    prefix = latency_prefix(*ROUTE)
    for q in ("p50", "p95", "p99"):
        for part in ("client", "server", "bucket", "allowed", "check-client", "check-server"):
            assert f"{prefix}-{part}-{q}" in found, (part, q)
    assert found[f"{prefix}-threshold-label-0"] == "SLO api-gateway-latency: p99 <= 500 ms"
    assert [found[f"{prefix}-check-label-p{q * 100:g}"] for q in QUANTILES] == [
        "ok" if c.ok else "DISAGREE" for c in picture.checks
    ]
