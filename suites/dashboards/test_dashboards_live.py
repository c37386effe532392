"""Every panel query against a real Prometheus: it parses (Prometheus' own parser, through
the query API), and with the reference app under traffic, scraped as the config's own scrape
jobs label it, it returns data.

The app's series get exactly the labels the config's jobs give them in the deployment: the
relabelling simulation (obsgate/relabel: Prometheus' relabel code on the discovered targets of
`scenarios/scrape/targets.yaml`) says which jobs keep the gateway and with which labels, and
the app is scraped once per such job with those labels; the test first checks that
Prometheus stores every series exactly as the simulation says the job would. Each target
also carries this test's own label, and each query is pinned to it on every selector, so
series of other tests (the alert scenarios' hand-made `namespace` series) can never make a
panel look alive.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from obsgate.config import ObsConfig
from obsgate.dashboards import Panel, panels, pinned
from obsgate.findings import judge, universal_finding
from obsgate.refapp.client import app_scrape_targets, exercise_routes, scrape
from obsgate.relabel.simulate import Labels, simulate, stored_as
from obsgate.services.declaration import services_under_test
from obsgate.stack.endpoint import AppEndpoint, Endpoint
from obsgate.wait import eventually

pytestmark = [pytest.mark.dashboards, pytest.mark.needs("prometheus", "obs-relabel")]
PIN = "gate_dashboard"
SCRAPE_WAIT = 40.0  # Prometheus 2.42 applies a new file_sd target on a 5 s tick
# Prometheus 3 rewrites these values on ingestion ("1" is stored "1.0"): series carrying
# them are left out of the exact comparison; their labels come from the same targets.
NORMALISED = ("le", "quantile")
# Node's handle and request counts by type: a series per type of handle open at that instant
# (a ConnectWrap while the OTLP exporter retries its connect), so one scrape's set of them
# is not the next one's. Left out of the exact comparison; the panels do not read them.
VOLATILE = ("nodejs_active_handles", "nodejs_active_requests", "nodejs_active_resources")


def query(prometheus: Endpoint, expr: str) -> requests.Response:
    return requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10)


def test_panel_query_parses_in_prometheus(prometheus: Endpoint, panel: Panel) -> None:
    for expr in panel.exprs:
        resp = query(prometheus, expr)
        body = resp.json()
        assert resp.status_code == 200 and body.get("status") == "success", (
            f"{panel.id} ({panel.file}): Prometheus rejects {expr!r}: {body.get('error')}"
        )


def _key(labels: Labels) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _stored_series(prometheus: Endpoint, tag: str) -> set[tuple[tuple[str, str], ...]]:
    resp = requests.get(
        f"{prometheus.url}/api/v1/series", params={"match[]": f'{{{PIN}="{tag}"}}'}, timeout=10
    )
    resp.raise_for_status()
    return {_key({k: v for k, v in s.items() if k != PIN}) for s in resp.json()["data"]}


def _expected_series(obs_config: ObsConfig, app: AppEndpoint, scrapes: list[Any]) -> set[Any]:
    """The app's exposition now, as each of the config's jobs that keeps it would store it."""
    exposition = scrape(app.metrics_url or f"{app.url}/metrics")
    own = [
        {"__name__": s.name, **s.labels}
        for s in exposition.samples
        if not set(s.labels) & set(NORMALISED) and not s.name.startswith(VOLATILE)
    ]
    expected = set()
    for s in scrapes:
        expected |= {_key(x) for x in stored_as(obs_config, s, own) if x is not None}
        expected.add(_key(s.up))
    return expected


@pytest.mark.writes("adds the app as scrape targets in Prometheus' file_sd dir")
@pytest.mark.requires("services", "app_settings", "prometheus", "scenarios/scrape")
def test_every_panel_returns_data_through_the_config_s_scrape_jobs(
    prometheus: Endpoint, refapp: AppEndpoint, obs_config: ObsConfig
) -> None:
    gateway = services_under_test(obs_config).gateway.name
    scrapes = simulate(obs_config).kept(service=gateway)
    assert scrapes, (
        f"no scrape job of {obs_config.prometheus_file()} keeps a target of {gateway} in "
        "scenarios/scrape/targets.yaml: nothing would scrape the gateway"
    )
    tag = uuid.uuid4().hex[:12]
    label_sets = [s.target_labels for s in scrapes]
    with app_scrape_targets(prometheus, refapp, (PIN, tag), label_sets, "1s") as target:
        target.wait_for_series(
            f'count(up{{{PIN}="{tag}"}} == 1) == {len(scrapes)}',
            f"the app's first scrape by each of {[s.job for s in scrapes]}",
            timeout=SCRAPE_WAIT,
        )
        exercise_routes(refapp, kafka=False)
        # Every target's last scrape 1.5 s (1.5 intervals) after the traffic: two scrapes
        # of each saw it, so every series it made has a rate.
        target.wait_for_series(
            f'count(timestamp(up{{{PIN}="{tag}"}}) > {time.time() + 1.5:.3f}) == {len(scrapes)}',
            "two scrapes of the app by each job after the traffic",
            timeout=SCRAPE_WAIT,
        )
        expected = _expected_series(obs_config, refapp, scrapes)
        missing: set[Any] = set()

        def stored_as_the_jobs_store_them() -> bool:
            nonlocal missing
            missing = expected - _stored_series(prometheus, tag)
            return not missing

        eventually(
            stored_as_the_jobs_store_them,
            timeout=SCRAPE_WAIT,
            what="Prometheus to store the app's series as the config's scrape jobs label them",
            on_timeout=lambda: (
                "not stored so: " + "; ".join(str(dict(m)) for m in sorted(missing)[:5])
            ),
            interval=0.5,
        )
        empty = []
        for panel in panels(obs_config):
            for expr in panel.exprs:
                result = query(prometheus, pinned(expr, PIN, tag)).json()["data"]["result"]
                if not result:
                    empty.append((panel.id, expr))
    jobs = "; ".join(f"{s.job}: {sorted(s.target_labels)}" for s in scrapes)
    judge(
        holds=not empty,
        finding=universal_finding(obs_config, "dashboard-panels-return-data"),
        observed={panel_id for panel_id, _ in empty},
        failure=f"panels without data while the app serves traffic, scraped by {jobs}:\n"
        + "\n".join(f"{p}: {e}" for p, e in empty),
    )
