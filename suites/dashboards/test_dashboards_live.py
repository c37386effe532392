"""Every panel query against a real Prometheus: it parses (Prometheus' own parser, through
the query API), and with the reference app under traffic and scraped, it returns data.

The app is scraped as a file_sd target with this test's own label, and each query is
pinned to that label on every selector, so series of other tests (the alert scenarios'
hand-made `namespace` series) can never make a panel look alive.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from obsgate.config import ObsConfig
from obsgate.dashboards import Panel, panels, pinned
from obsgate.findings import judge, universal_finding
from obsgate.refapp.client import app_scrape_target, exercise_routes
from obsgate.stack.endpoint import Endpoint

pytestmark = [pytest.mark.dashboards, pytest.mark.needs("prometheus")]
PIN = "gate_dashboard"
SCRAPE_WAIT = 40.0  # Prometheus 2.42 applies a new file_sd target on a 5 s tick


def query(prometheus: Endpoint, expr: str) -> requests.Response:
    return requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10)


def test_panel_query_parses_in_prometheus(prometheus: Endpoint, panel: Panel) -> None:
    for expr in panel.exprs:
        resp = query(prometheus, expr)
        body = resp.json()
        assert resp.status_code == 200 and body.get("status") == "success", (
            f"{panel.id} ({panel.file}): Prometheus rejects {expr!r}: {body.get('error')}"
        )


@pytest.mark.writes("adds the app as a scrape target in Prometheus' file_sd dir")
@pytest.mark.requires("app_settings")
def test_every_panel_returns_data_with_the_app_under_traffic(
    prometheus: Endpoint, refapp: Endpoint, obs_config: ObsConfig
) -> None:
    tag = uuid.uuid4().hex[:12]
    with app_scrape_target(prometheus, refapp, PIN, tag, interval="1s") as target:
        up = f'up{{{PIN}="{tag}"}} == 1'
        target.wait_for_series(up, "the app's first scrape", timeout=SCRAPE_WAIT)
        exercise_routes(refapp, kafka=False)
        target.wait_for_series(
            f'sum(rate(http_requests_total{{{PIN}="{tag}"}}[5m])) > 0',
            "two scrapes of the app after the traffic",
            timeout=SCRAPE_WAIT,
        )
        empty = []
        for panel in panels(obs_config):
            for expr in panel.exprs:
                result = query(prometheus, pinned(expr, PIN, tag)).json()["data"]["result"]
                if not result:
                    empty.append((panel.id, expr))
    judge(
        holds=not empty,
        finding=universal_finding(obs_config, "dashboard-panels-return-data"),
        observed={panel_id for panel_id, _ in empty},
        failure="panels without data while the app serves traffic:\n"
        + "\n".join(f"{p}: {e}" for p, e in empty),
    )
