"""Prometheus reads what the app serves, and the config's scrape config loads.

The app is added to the run's Prometheus as a file_sd target (as the scenario targets are),
labelled with this run's own value so its series are told apart. Scrape jobs that use
Kubernetes discovery (the seed's do), which Debian's Prometheus is built without, are
checked with each `kubernetes_sd_configs` swapped for a file_sd, everything else kept
(relabelling, TLS, auth), by the real `promtool check config`; a config with the cloud
providers' discovery by the promtool built with it (docs/backends.md).
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from obsgate.config import ObsConfig
from obsgate.refapp.client import Exposition, app_scrape_target
from obsgate.refapp.intent import metric_intents
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.kube_sd import kube_free
from obsgate.tools import promtool
from obsgate.tools.versions_line import cloud_discovery

pytestmark = [pytest.mark.metrics]
CLAUDE_ROUTE = "/api/v1/orgs/:id/projects/:id/messages"
LATENCY = "http_request_duration_seconds"
PIN = "refapp_scrape"  # the label that tells this test's series apart


def _query(prometheus: Endpoint, expr: str) -> list[dict[str, Any]]:
    resp = requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=5)
    resp.raise_for_status()
    return resp.json()["data"]["result"]


@pytest.mark.needs("prometheus")
@pytest.mark.writes("adds the app as a scrape target in Prometheus' file_sd dir")
def test_prometheus_scrapes_the_app(
    prometheus: Endpoint, refapp: Endpoint, exercised_app: list[Exposition], obs_config: ObsConfig
) -> None:
    """`up` is 1, the Claude route's counter arrives under its normalised path, and the
    latency histogram's `le` values are the intended buckets, as Prometheus stored them."""
    tag = uuid.uuid4().hex[:12]
    with app_scrape_target(prometheus, refapp, PIN, tag) as target:
        up = target.wait_for_series(f'up{{{PIN}="{tag}"}} == 1', "the app's up")
        assert up[0]["metric"]["job"] == "api-gateway"
        target.wait_for_series(
            f'http_requests_total{{{PIN}="{tag}", path="{CLAUDE_ROUTE}"}}',
            "the Claude route's request counter",
        )
        buckets = _query(prometheus, f'count by (le) ({LATENCY}_bucket{{{PIN}="{tag}"}})')
    intent = {m.name: m for m in metric_intents(obs_config)}[LATENCY]
    assert intent.buckets is not None
    stored = sorted(float(r["metric"]["le"]) for r in buckets)
    assert stored == [*sorted(intent.buckets), math.inf]


@pytest.mark.promtool_config
def test_the_scrape_config_loads_in_promtool(obs_config: ObsConfig, tmp_path: Path) -> None:
    """The config as Prometheus would load it, its Kubernetes discovery (if any) swapped for
    a file_sd; a config that discovers nothing in Kubernetes is checked as it is."""
    adapted, changes = kube_free(obs_config.prometheus(), tmp_path)
    path = tmp_path / "prometheus.yaml"
    path.write_text(yaml.safe_dump(adapted, sort_keys=False))
    # --syntax-only: the rule glob and the service-account files exist only in a pod
    cloud = bool(cloud_discovery(adapted))  # checked by the promtool that knows it
    result = promtool.check_config(path, syntax_only=True, cloud_discovery=cloud)
    swapped = f" ({'; '.join(changes)})" if changes else ""
    assert result.ok, f"promtool rejects the scrape config{swapped}:\n{result.describe()}"
