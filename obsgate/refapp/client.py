"""What suites do with the app: drive its routes, read /metrics back through
prometheus-client's own parser, and wait for the usage-tracker to catch up."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from obsgate.errors import ServiceError
from obsgate.stack.endpoint import Endpoint
from obsgate.wait import eventually

_SAMPLE_NAME = re.compile(r"[A-Za-z_:][\w:]*")


@dataclass
class Exposition:
    """One scrape: its content type, its text and every sample by metric family."""

    content_type: str
    text: str
    types: dict[str, str] = field(default_factory=dict)  # sample name -> family type
    samples: list[Any] = field(default_factory=list)

    def of(self, name: str) -> list[Any]:
        """Samples of the metric `name` (a histogram's _bucket/_count/_sum included)."""
        names = {name, f"{name}_bucket", f"{name}_count", f"{name}_sum"}
        return [s for s in self.samples if s.name in names]

    def path_labels(self) -> set[str]:
        return {s.labels["path"] for s in self.of("http_requests_total") if "path" in s.labels}


def served_names(text: str) -> set[str]:
    """The sample names as the exposition writes them, which Prometheus stores as written."""
    names = (_SAMPLE_NAME.match(line) for line in text.splitlines() if not line.startswith("#"))
    return {m.group(0) for m in names if m}


def scrape(url: str, session: requests.Session | None = None) -> Exposition:
    """One scrape, each sample under the name it was served as: prometheus-client's parser
    adds `_total` to a counter's sample served without it, which would hide a counter that
    Prometheus stores (and the config's queries miss) under another name."""
    resp = (session or requests).get(url, timeout=10)
    resp.raise_for_status()
    out = Exposition(resp.headers.get("content-type", ""), resp.text)
    served = served_names(resp.text)
    for family in text_string_to_metric_families(resp.text):
        for parsed in family.samples:
            name = parsed.name
            if name not in served and name.removesuffix("_total") in served:
                name = name.removesuffix("_total")
            out.types[name] = family.type
            out.samples.append(parsed._replace(name=name))
        out.types.setdefault(family.name, family.type)
        if family.type == "counter" and f"{family.name}_total" in served:
            out.types.setdefault(f"{family.name}_total", family.type)  # the family drops it
    return out


def post(app: Endpoint, path: str, body: dict[str, Any], **headers: str) -> requests.Response:
    return requests.post(f"{app.url}{path}", json=body, headers=headers, timeout=30)


def exercise_routes(app: Endpoint, kafka: bool) -> dict[str, str]:
    """One request to every latency-critical route, so that every seed metric has samples:
    a Claude call, an MCP tool call, policy evaluations that allow and deny, a key lookup,
    and (with Kafka) a usage event. Returns the ids it used; raises if a route failed."""
    org, project, server = str(uuid.uuid4()), "42", str(uuid.uuid4())
    key = f"mw_test_{uuid.uuid4().hex[:12]}"
    calls = [
        (f"/api/v1/orgs/{org}/projects/{project}/messages",
         {"model": "claude-3-5-sonnet", "max_tokens": 16,
          "messages": [{"role": "user", "content": "hello"}]}),
        (f"/api/v1/orgs/{org}/mcp/servers/{server}/tools/search/invoke",
         {"transport": "stdio", "arguments": {"q": "x"}}),
        (f"/api/v1/orgs/{org}/policies/evaluate",
         {"policy_type": "usage", "context": {"tokens_requested": 10}}),
        (f"/api/v1/orgs/{org}/policies/evaluate",
         {"policy_type": "access", "policy_id": "pol-1", "context": {"role": "guest"}}),
    ]  # fmt: skip
    if kafka:
        calls.append(
            ("/api/v1/usage/events",
             {"org_id": org, "project_id": project, "model": "claude-3-5-sonnet",
              "input_tokens": 3, "output_tokens": 5, "cost_cents": 0.5, "api_key": key}),
        )  # fmt: skip
    scope = {"x-mw-fault-scope": f"exercise-{org}"}  # immune to others' injected faults
    for path, body in calls:
        resp = post(app, path, body, **scope)
        if resp.status_code >= 400:
            raise ServiceError(
                f"POST {path} answered {resp.status_code}: {resp.text[:300]}\n{app.log_tail()}"
            )
    resp = requests.get(f"{app.url}/api/v1/api-keys/{key}/usage", timeout=10)
    resp.raise_for_status()
    return {"org": org, "project": project, "server": server, "key": key}


def wait_for_sample(
    url: str, name: str, labels: dict[str, str], timeout: float = 30.0
) -> Exposition:
    """Scrape `url` until a sample of `name` with `labels` appears (bounded; says what)."""

    def with_sample() -> Exposition | None:
        exposition = scrape(url)
        for sample in exposition.of(name):
            if all(sample.labels.get(k) == v for k, v in labels.items()):
                return exposition
        return None

    return eventually(with_sample, timeout=timeout, what=f"{name}{labels} at {url}", interval=0.2)


def wait_for_key_usage(app: Endpoint, key: str, timeout: float = 30.0) -> dict[str, int]:
    """Poll the gateway's usage of `key` (counted in Redis by the usage-tracker) until an
    event is counted (bounded; says what it waited for)."""
    last = None

    def counted() -> dict[str, int] | None:
        nonlocal last
        resp = requests.get(f"{app.url}/api/v1/api-keys/{key}/usage", timeout=10)
        resp.raise_for_status()
        last = resp.json()
        return last if last.get("events", 0) >= 1 else None

    return eventually(
        counted,
        timeout=timeout,
        what=f"the usage-tracker to count the usage event of key {key} in Redis",
        on_timeout=lambda: f"last answer {last}\n{app.log_tail()}",
        interval=0.2,
    )


@dataclass(frozen=True, kw_only=True)
class ScrapeTarget:
    """The app as a scrape target of `prometheus`, its series labelled `label=tag`."""

    prometheus: Endpoint
    label: str
    tag: str

    def wait_for_series(self, expr: str, what: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Query until `expr` has a result; a timeout shows the app's target health."""
        prometheus = self.prometheus

        def result() -> list[dict[str, Any]]:
            resp = requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=5)
            resp.raise_for_status()
            return resp.json()["data"]["result"]

        def target_health() -> str:
            targets = requests.get(f"{prometheus.url}/api/v1/targets", timeout=5).json()
            ours = [
                t
                for t in targets["data"]["activeTargets"]
                if t["labels"].get(self.label) == self.tag
            ]
            return (
                f"the app as a Prometheus target (health, lastError): {json.dumps(ours)[:1500]}\n"
                f"{prometheus.log_tail()}"
            )

        return eventually(
            result,
            timeout=timeout,
            what=f"{what} ({expr})",
            on_timeout=target_health,
            interval=0.25,
        )


@contextmanager
def app_scrape_target(
    prometheus: Endpoint, app: Endpoint, label: str, tag: str, interval: str = "2s"
) -> Iterator[ScrapeTarget]:
    """The app as a scrape target of the run's Prometheus (file_sd) while the block runs,
    its series labelled `label=tag`, scraped every `interval`: the app's own pace, not the
    live layer's scaled 250 ms, which a big /metrics outgrows."""
    with app_scrape_targets(prometheus, app, (label, tag), [{"job": "api-gateway"}], interval) as t:
        yield t


@contextmanager
def app_scrape_targets(
    prometheus: Endpoint,
    app: Endpoint,
    pin: tuple[str, str],
    label_sets: list[dict[str, str]],
    interval: str = "2s",
) -> Iterator[ScrapeTarget]:
    """The app as one scrape target per label set (`job`, `instance` and the rest become
    its series' labels as given), each also labelled with `pin` (label, tag)."""
    label, tag = pin
    sd_file = Path(prometheus.file_sd_dir) / f"{label}-{tag}.json"
    groups = [
        {
            "targets": [f"{app.host}:{app.port}"],
            "labels": {
                **labels,
                label: tag,
                "__metrics_path__": "/metrics",
                "__scrape_interval__": interval,
                "__scrape_timeout__": interval,
            },
        }
        for labels in label_sets
    ]
    tmp = sd_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups))
    tmp.rename(sd_file)  # Prometheus must never read a half-written file
    try:
        yield ScrapeTarget(prometheus=prometheus, label=label, tag=tag)
    finally:
        sd_file.unlink(missing_ok=True)
