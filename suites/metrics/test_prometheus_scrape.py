"""Prometheus reads what the app serves, and the seed's scrape config loads.

The app is added to the run's Prometheus as a file_sd target (as the scenario targets are),
labelled with this run's own value so its series are told apart. The seed's scrape jobs
use Kubernetes discovery, which Debian's Prometheus is built without: the check swaps each
job's `kubernetes_sd_configs` for a file_sd and keeps everything else (relabelling, TLS,
auth), then runs the real `promtool check config`.
"""

from __future__ import annotations

import copy
import json
import math
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from fixtures.config import ObsConfig
from fixtures.errors import ServiceError
from fixtures.refapp.client import Exposition
from fixtures.refapp.intent import metric_intents
from fixtures.tools import promtool

pytestmark = [pytest.mark.metrics]
SCRAPE_WAIT = 30.0  # Prometheus 2.42 applies a new file_sd target on a 5 s tick
CLAUDE_ROUTE = "/api/v1/orgs/:id/projects/:id/messages"
LATENCY = "http_request_duration_seconds"


def _query(prometheus: Any, expr: str) -> list[dict[str, Any]]:
    resp = requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=5)
    resp.raise_for_status()
    return resp.json()["data"]["result"]


def _wait_for_series(prometheus: Any, expr: str, what: str, tag: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + SCRAPE_WAIT
    while time.monotonic() < deadline:
        result = _query(prometheus, expr)
        if result:
            return result
        time.sleep(0.25)
    targets = requests.get(f"{prometheus.url}/api/v1/targets", timeout=5).json()["data"]
    ours = [t for t in targets["activeTargets"] if t["labels"].get("refapp_scrape") == tag]
    raise ServiceError(
        f"gave up after {SCRAPE_WAIT:.0f}s waiting for {what} ({expr}); the app as a "
        f"Prometheus target (health, lastError): {json.dumps(ours)[:1500]}\n"
        f"{prometheus.log_tail()}"
    )


@pytest.mark.needs("prometheus")
@pytest.mark.writes("adds the app as a scrape target in Prometheus' file_sd dir")
def test_prometheus_scrapes_the_app(
    prometheus: Any, refapp: Any, exercised_app: list[Exposition], obs_config: ObsConfig
) -> None:
    """`up` is 1, the Claude route's counter arrives under its normalised path, and the
    latency histogram's `le` values are the intended buckets, as Prometheus stored them."""
    tag = uuid.uuid4().hex[:12]
    sd_file = Path(prometheus.extras["file_sd_dir"]) / f"refapp-{tag}.json"
    group = {
        "targets": [f"{refapp.host}:{refapp.port}"],
        "labels": {
            "job": "api-gateway",
            "refapp_scrape": tag,
            "__metrics_path__": "/metrics",
            # the app's own pace, not the live layer's scaled 250 ms: after the Hypothesis
            # tests its /metrics holds thousands of series and takes longer than that
            "__scrape_interval__": "2s",
            "__scrape_timeout__": "2s",
        },
    }
    sd_file.with_suffix(".tmp").write_text(json.dumps([group]))
    sd_file.with_suffix(".tmp").rename(sd_file)
    try:
        up = _wait_for_series(prometheus, f'up{{refapp_scrape="{tag}"}} == 1', "the app's up", tag)
        assert up[0]["metric"]["job"] == "api-gateway"
        _wait_for_series(
            prometheus,
            f'http_requests_total{{refapp_scrape="{tag}", path="{CLAUDE_ROUTE}"}}',
            "the Claude route's request counter",
            tag,
        )
        buckets = _query(
            prometheus,
            f'count by (le) ({LATENCY}_bucket{{refapp_scrape="{tag}"}})',
        )
        intent = {m.name: m for m in metric_intents(obs_config)}[LATENCY]
        assert intent.buckets is not None
        stored = sorted(float(r["metric"]["le"]) for r in buckets)
        assert stored == [*sorted(intent.buckets), math.inf]
    finally:
        sd_file.unlink(missing_ok=True)


def kube_free(config: dict[str, Any], sd_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """The seed's config with each job's Kubernetes discovery swapped for a file_sd."""
    adapted = copy.deepcopy(config)
    changes = []
    for job in adapted.get("scrape_configs") or []:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["file_sd_configs"] = [{"files": [str(sd_dir / f"{job['job_name']}.json")]}]
            changes.append(f"{job['job_name']}: kubernetes_sd_configs -> file_sd_configs")
    return adapted, changes


def test_seed_scrape_config_loads_without_kubernetes(obs_config: ObsConfig, tmp_path: Path) -> None:
    adapted, changes = kube_free(obs_config.prometheus(), tmp_path)
    assert changes, "the seed's scrape jobs were expected to use Kubernetes discovery"
    path = tmp_path / "prometheus.yaml"
    path.write_text(yaml.safe_dump(adapted, sort_keys=False))
    # --syntax-only: the rule glob and the service-account files exist only in a pod
    result = promtool.check_config(path, syntax_only=True)
    assert result.ok, f"promtool rejects the seed's scrape config ({changes}):\n{result.describe()}"
