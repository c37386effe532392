"""The load gate's own stack: the services under test (as their contract says), the upstream
stub, Prometheus, Alertmanager and a sink.

Its own, not the run's shared servers: load must not slow another suite's live replay, and
an alert the load raises must not reach another suite's sink. Kafka and Redis are the
run's. Prometheus evaluates the config's rules and the SLOs' rules (generated as Sloth
generates them), both time-scaled by the load factor (default 60: a 5 m `for` is 5 s), and
scrapes the gateway twice, as two views told apart by the isolation label:

- `as-deployed`: through the seed's own `mindweave-services` scrape job, its relabelling
  kept verbatim, fed the labels Kubernetes discovery would give the gateway's Service;
  the series get exactly the labels they get in the cluster.
- `intended`: labelled with what the rules and SLOs select (`namespace`, `service`): the
  fix that finding rule-labels-attached-by-scrape asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError, ServiceError
from obsgate.refapp.fixtures import start_under_contract, start_upstream
from obsgate.services.declaration import services_under_test
from obsgate.sinks.service import SinkClient
from obsgate.slo.rules import rule_groups
from obsgate.slo.spec import config_slos
from obsgate.stack import prometheus as prom
from obsgate.stack.alerting_stack import AlertingStackSettings, start_alerting_stack
from obsgate.stack.endpoint import (
    AlertmanagerEndpoint,
    AppEndpoint,
    Endpoint,
    KafkaEndpoint,
    PrometheusEndpoint,
)
from obsgate.stack.kube_sd import job_namespaces, kube_free, service_meta_labels, write_targets
from obsgate.stack.registry import StackRegistry
from obsgate.stack.spec import Backend
from obsgate.wait import eventually

VIEW = prom.ISOLATION_LABEL  # the label that tells the two views apart in every rule
INTENDED, AS_DEPLOYED = "intended", "as-deployed"
GATEWAY, TRACKER = "api-gateway", "usage-tracker"
USAGE_TOPIC = "usage-events-load"
# A healthy dependency: the upstream stub answers in 20 to 100 ms (PUT /control/faults).
HEALTHY_UPSTREAM = {"latency_ms": 20, "latency_jitter_ms": 80, "error_rate": 0.0}
NAMESPACE_MATCHER = re.compile(r"""namespace\s*=\s*"([^"]+)\"""")


def services_namespace(config: ObsConfig) -> str:
    """The namespace the rules select the app's series by (`namespace="..."`)."""
    found = set()
    for rule in config.alert_rules() + config.recording_rules():
        found.update(NAMESPACE_MATCHER.findall(rule.expr))
    if len(found) != 1:
        files = ", ".join(sorted({str(s.origin) for s in config.rule_sources()}))
        raise ConfigError(
            f"the load gate labels the app with the namespace its rules select; the rules "
            f"in {files} select {sorted(found) or 'none'}, not one"
        )
    return found.pop()


def deployed_job(config: ObsConfig, namespace: str) -> dict[str, Any]:
    """The seed's scrape job that discovers Services in `namespace`, made Kubernetes-free."""
    for job in config.prometheus().get("scrape_configs") or []:
        if namespace in job_namespaces(job):
            return job
    raise ConfigError(
        f"{config.prometheus_file()}: no scrape job discovers namespace "
        f"{namespace!r}, where the rules look for the app's series"
    )


@dataclass(frozen=True)
class PrometheusQueries:
    """Instant queries at a given time, as the load gate's checks ask them."""

    prometheus: PrometheusEndpoint

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        if at is None:
            return self.prometheus.query(expr)
        return self.prometheus.query(expr, time=f"{at:.3f}")

    def scalar(self, expr: str, at: float | None = None) -> float | None:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None


@dataclass(frozen=True, kw_only=True)
class LoadStack:
    gateway: AppEndpoint
    tracker: AppEndpoint
    upstream: AppEndpoint
    prometheus: PrometheusEndpoint
    alertmanager: AlertmanagerEndpoint
    sink: Endpoint
    factor: float

    @property
    def sink_client(self) -> SinkClient:
        return SinkClient(self.sink)

    def set_faults(self, **faults: Any) -> None:
        """The upstream stub's faults for every request of the load (PUT /control/faults)."""
        resp = requests.put(f"{self.upstream.url}/control/faults", json=faults, timeout=5)
        if resp.status_code != 200:
            raise ServiceError(f"upstream stub refused faults {faults}: {resp.text}")

    def clear_faults(self) -> None:
        self.set_faults(latency_ms=0, latency_jitter_ms=0, error_rate=0)

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        return PrometheusQueries(self.prometheus).query(expr, at)

    def scalar(self, expr: str, at: float | None = None) -> float | None:
        return PrometheusQueries(self.prometheus).scalar(expr, at)

    def alerts(self) -> list[dict[str, Any]]:
        return self.prometheus.alerts()

    def scraped_after(self, since: float, timeout: float = 30.0) -> float:
        """The time of the first scrape of the gateway (intended view) after `since`:
        a point at which Prometheus holds every request counted before `since`."""
        expr = f'timestamp(up{{job="{GATEWAY}", {VIEW}="{INTENDED}"}})'
        last = None

        def scraped() -> float | None:
            nonlocal last
            last = self.scalar(expr)
            return last if last is not None and last > since else None

        return eventually(
            scraped,
            timeout=timeout,
            what=f"Prometheus to scrape the load gateway after t={since:.3f}",
            on_timeout=lambda: f"last scrape {last}\n{self.prometheus.log_tail()}",
            interval=0.2,
        )


def write_prometheus_config(
    config: ObsConfig, factor: float, workdir: Path, alertmanager: Endpoint | None
) -> Path:
    """Scaled seed rules plus scaled SLO rules, the seed's services job, the intended job."""
    workdir.mkdir(parents=True, exist_ok=True)
    sd_dir = workdir / "file_sd"
    sd_dir.mkdir(exist_ok=True)
    rules = prom.scaled_rule_groups(config, factor)["groups"]
    slo_file = ", ".join(str(f) for f in config.slo_files())
    rules += [
        prom.scale_group(g, factor, slo_file) for g in rule_groups(config_slos(config))["groups"]
    ]
    rules_path = workdir / "rules-scaled.yaml"
    rules_path.write_text(yaml.safe_dump({"groups": rules}, sort_keys=False))
    adapted = prom.live_config(config, factor, rules_path, sd_dir, alertmanager)
    namespace = services_namespace(config)
    seed_job, _ = kube_free({"scrape_configs": [deployed_job(config, namespace)]}, sd_dir)
    intended_job = {
        "job_name": GATEWAY,
        "file_sd_configs": [{"files": [str(sd_dir / f"{INTENDED}.json")]}],
    }
    adapted["scrape_configs"] = [*seed_job["scrape_configs"], intended_job]
    path = workdir / "prometheus.yaml"
    path.write_text(yaml.safe_dump(adapted, sort_keys=False))
    return path


def write_app_targets(
    config: ObsConfig, sd_dir: Path, gateway: Endpoint, tracker: Endpoint
) -> None:
    """The gateway as the seed's job discovers it, and both services as the rules expect."""
    namespace = services_namespace(config)
    job = deployed_job(config, namespace)
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(gateway.port)}
    deployed = {
        "targets": [f"{gateway.host}:{gateway.port}"],
        "labels": {**service_meta_labels(namespace, GATEWAY, gateway.port, annotations),
                   VIEW: AS_DEPLOYED},
    }  # fmt: skip
    intended = [
        {
            "targets": [f"{ep.host}:{ep.port}"],
            "labels": {"namespace": namespace, "service": name, VIEW: INTENDED, "job": name},
        }
        for name, ep in ((GATEWAY, gateway), (TRACKER, tracker))
    ]
    write_targets(sd_dir / f"{job['job_name']}.json", [deployed])
    write_targets(sd_dir / f"{INTENDED}.json", intended)


@dataclass(frozen=True, kw_only=True)
class LoadStackSettings:
    """What the load gate's servers run: the config under test, the factor its rules are
    scaled by, and the run's Redis and Kafka, which the app uses."""

    config: ObsConfig
    factor: float
    redis: Endpoint
    kafka: KafkaEndpoint


def start_load_stack(
    registry: StackRegistry, backend: Backend, settings: LoadStackSettings
) -> LoadStack:
    """Start (or join) the load gate's servers; the run's owner stops them at the end."""
    config, factor, redis, kafka = settings.config, settings.factor, settings.redis, settings.kafka
    alerting = start_alerting_stack(
        registry,
        backend,
        AlertingStackSettings(
            config=config, factor=factor, write_config=write_prometheus_config, prefix="load-"
        ),
    )
    services = services_under_test(config)
    wired = {  # no otlp: spans under load go to the services' fallback, exported nowhere
        "redis": f"redis://{redis.host}:{redis.port}/1",
        "kafka": kafka.bootstrap,
        "topic": USAGE_TOPIC,
        "consumer_group": "usage-tracker-load",
    }
    upstream = registry.get_or_start("load-upstream", start_upstream)
    tracker = registry.get_or_start(
        "load-usage-tracker",
        lambda wd: start_under_contract(services.usage_tracker, wd, wired, backend=backend),
    )
    gateway = registry.get_or_start(
        "load-gateway",
        lambda wd: start_under_contract(
            services.gateway, wd, {**wired, "upstream": upstream.url}, services.changes, backend
        ),
    )
    write_app_targets(config, Path(alerting.prometheus.file_sd_dir), gateway, tracker)
    return LoadStack(
        gateway=gateway,
        tracker=tracker,
        upstream=upstream,
        prometheus=alerting.prometheus,
        alertmanager=alerting.alertmanager,
        sink=alerting.sink,
        factor=factor,
    )
