"""The load figure's parts that need no load: the gate asks Locust for every route's history,
a disagreeing percentile reads so, and the server side's queries, evaluated by promtool over
a histogram with slow requests before the load, count only the load's. The figure from a
real load run: tests/backends/test_reports_latency_live.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from obsgate.load.crosscheck import LATENCY, PercentileCheck, route_selector
from obsgate.load.history import server_query
from obsgate.load.locust_run import LoadPhase, LoadProfile, locust_command
from obsgate.reports.load_plot import LatencyPicture, latency_prefix, latency_svg
from obsgate.tools import promtool
from obsgate.tools.promtool_failures import parse_failures
from tests.gate_subprocess import SEED_CONFIG


def test_the_gate_asks_locust_for_every_routes_history(tmp_path: Path) -> None:
    phase = LoadPhase(
        name="healthy",
        host="http://127.0.0.1:1",
        profile=LoadProfile(users=1, spawn_rate=1, run_time_s=1),
        config_dir=SEED_CONFIG,
        out_dir=tmp_path,
    )
    assert "--csv-full-history" in locust_command(phase)


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


def test_server_latency_counts_no_request_from_before_the_load(tmp_path: Path) -> None:
    """Promtool evaluates the figure's server queries over a gateway histogram that served
    4 s requests until the load began at 60 s, then 50 ms ones: both windows read the load's
    own p99 (99 ms), where a 10 s rate() five seconds in reads the slow ones (seconds)."""
    route = ("POST", "/x")
    selector = route_selector(LATENCY + "_bucket", route)
    values = {"0.1": "0x59 10+10x60", "5": "0+1x59 69+10x60", "+Inf": "0+1x59 69+10x60"}
    series = [
        {"series": selector[:-1] + f', le="{le}"}}', "values": text} for le, text in values.items()
    ]
    rated = f"histogram_quantile(0.99, sum by (le) (rate({selector}[10s])))"
    checks = {
        "since t0": (server_query(route, 0.99, " @ 60.000"), "65s"),
        "last 10 s": (server_query(route, 0.99, " offset 10s"), "80s"),
        "rate": (rated, "65s"),
    }
    doc = {
        "evaluation_interval": "1s",  # promtool reads the data as of its last evaluation step
        "tests": [
            {
                "interval": "1s",
                "input_series": series,
                "promql_expr_test": [
                    {"expr": expr, "eval_time": at, "exp_samples": []}
                    for expr, at in checks.values()
                ],
            }
        ],
    }
    test_file = tmp_path / "server.test.yaml"
    test_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    got = {f.expr: f.got for f in parse_failures(promtool.test_rules(test_file).output).exprs}
    read = {name: [v for _, v in got.get(expr, [])] for name, (expr, _) in checks.items()}
    assert read["since t0"] == [pytest.approx(0.099)], got
    assert read["last 10 s"] == [pytest.approx(0.099)], got
    assert read["rate"] and read["rate"][0] > 1, got
