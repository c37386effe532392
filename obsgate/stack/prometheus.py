"""Prometheus: the seed's config adapted to the gate, and the server as a local process.

The adapted config keeps the seed's `global` (external labels included: they reach
Alertmanager), time-scaled, and replaces what would leave the machine: rule files become the
time-scaled copy, `alerting` points at the run's Alertmanager, and the Kubernetes scrape jobs
give way to one file_sd job whose targets the test process serves.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from obsgate.config import ObsConfig, load_yaml, parse_duration
from obsgate.promql import duration_text, scale_expr
from obsgate.stack.endpoint import Endpoint, PrometheusEndpoint
from obsgate.stack.loopback import require_loopback
from obsgate.stack.process import free_port
from obsgate.stack.spec import Backend, Command, Readiness, ServerSpec, http_ok
from obsgate.tools.versions_line import server_binary

ISOLATION_LABEL = "scenario"
SCENARIO_JOB = "scenarios"
# Prometheus defaults that are durations in simulated time, scaled like everything else.
DEFAULT_EVALUATION_INTERVAL = "1m"
LOOKBACK_DELTA = 300.0
RESEND_DELAY = 60.0


def prometheus_binary() -> str:
    """Prometheus of the chosen --server-versions line (obsgate/tools/versions_line.py)."""
    return server_binary("prometheus")


def scale_group(group: dict[str, Any], factor: float, source: str) -> dict[str, Any]:
    """One rule group time-scaled by `factor` and isolated per scenario (obsgate/promql.py):
    the one scaling of the live layer and the load gate."""
    where = f"{source}: group {group.get('name')}"
    out: dict[str, Any] = {"name": group["name"], "rules": []}
    if "interval" in group:
        out["interval"] = duration_text(parse_duration(group["interval"], where) / factor)
    for rule_source in group["rules"]:
        rule = dict(rule_source)
        name = rule.get("alert") or rule.get("record")
        rule["expr"] = scale_expr(
            str(rule["expr"]), factor, ISOLATION_LABEL, f"{where}: rule {name}"
        )
        if "for" in rule:
            rule["for"] = duration_text(parse_duration(rule["for"], where) / factor)
        out["rules"].append(rule)
    return out


def scaled_rule_groups(
    config: ObsConfig, factor: float, alerts: Collection[str] | None = None
) -> dict[str, Any]:
    """Every rule group of the config, time-scaled by `factor` and isolated per scenario;
    with `alerts`, only those alert rules (and every recording rule): a time-scale lane
    evaluates the rules its scenarios replay, not every rule three times as often."""
    groups = []
    for source in config.rule_sources():
        for group in load_yaml(source.path).get("groups") or []:
            rules = [r for r in group.get("rules") or [] if _kept(r, alerts)]
            if rules:
                groups.append(scale_group({**group, "rules": rules}, factor, str(source.origin)))
    return {"groups": groups}


def _kept(rule: dict[str, Any], alerts: Collection[str] | None) -> bool:
    return alerts is None or "record" in rule or rule.get("alert") in alerts


def user_global(config: ObsConfig) -> dict[str, Any]:
    """The `global` settings of the config's Prometheus file; none (Prometheus' defaults)
    for a config that keeps rules without one, as mixins and rule repositories do."""
    if not config.has("prometheus"):
        return {}
    return dict(config.prometheus().get("global") or {})


def user_file(config: ObsConfig) -> str:
    """The config's Prometheus file, named in errors; or what stands for it."""
    return str(config.prometheus_file()) if config.has("prometheus") else "Prometheus' defaults"


def live_config(
    config: ObsConfig, factor: float, rules_file: Path, sd_dir: Path, alertmanager: Endpoint | None
) -> dict[str, Any]:
    """The Prometheus config the live layer runs: the seed's global settings, scaled."""
    glob = user_global(config)
    scrape = parse_duration(glob.get("scrape_interval", "1m"), "prometheus.yaml: global")
    evaluation = parse_duration(
        glob.get("evaluation_interval", DEFAULT_EVALUATION_INTERVAL), "prometheus.yaml: global"
    )
    # One scrape per simulated minute whatever the seed's interval: a 15 s seed interval
    # scaled by 240 would be a 62 ms scrape, faster than a loaded 2-core machine keeps up.
    scrape_seconds = max(scrape, 60.0) / factor
    glob["scrape_interval"] = duration_text(scrape_seconds)
    glob["scrape_timeout"] = duration_text(scrape_seconds)
    glob["evaluation_interval"] = duration_text(evaluation / factor)
    out: dict[str, Any] = {
        "global": glob,
        "rule_files": [str(rules_file)],
        "scrape_configs": [
            {
                "job_name": SCENARIO_JOB,
                "honor_labels": True,
                "file_sd_configs": [{"files": [str(sd_dir / "*.json")], "refresh_interval": "1s"}],
            }
        ],
    }
    if alertmanager is not None:
        out["alerting"] = {
            "alertmanagers": [
                {
                    "api_version": "v2",
                    "static_configs": [{"targets": [f"{alertmanager.host}:{alertmanager.port}"]}],
                }
            ]
        }
    return out


def write_deployed_config(config: ObsConfig, workdir: Path, alertmanager: Endpoint) -> Path:
    """The config as a deployment runs it: the seed's global settings and rule files as they
    are, alerting to `alertmanager`; no scrape job (the seed's need Kubernetes). For the
    staging stand-in (obsgate/stack/standalone.py), where nothing is scaled."""
    workdir.mkdir(parents=True, exist_ok=True)
    deployed = {
        "global": user_global(config),
        "rule_files": [str(path) for path in config.rule_files()],
        "alerting": {
            "alertmanagers": [
                {
                    "api_version": "v2",
                    "static_configs": [{"targets": [f"{alertmanager.host}:{alertmanager.port}"]}],
                }
            ]
        },
    }
    require_loopback(deployed, "Prometheus", user_file(config))
    path = workdir / "prometheus.yaml"
    path.write_text(yaml.safe_dump(deployed, sort_keys=False))
    return path


def write_live_config(
    config: ObsConfig,
    factor: float,
    workdir: Path,
    alertmanager: Endpoint | None,
    alerts: Collection[str] | None = None,
) -> Path:
    """Write the scaled rules (all, or the `alerts` and every recording rule) and the
    adapted config into `workdir`; return the config path."""
    workdir.mkdir(parents=True, exist_ok=True)
    sd_dir = workdir / "file_sd"
    sd_dir.mkdir(exist_ok=True)
    rules = workdir / "rules-scaled.yaml"
    groups = scaled_rule_groups(config, factor, alerts)
    rules.write_text(yaml.safe_dump(groups, sort_keys=False))
    adapted = live_config(config, factor, rules, sd_dir, alertmanager)
    require_loopback(adapted, "Prometheus", user_file(config))
    path = workdir / "prometheus.yaml"
    path.write_text(yaml.safe_dump(adapted, sort_keys=False))
    return path


def server_args(config_path: Path, workdir: Path, port: int, factor: float) -> list[str]:
    """The flags both backends give Prometheus: 127.0.0.1 only, lookback and resend scaled; the
    remote-write receiver takes the history that a scenario may declare (scenarios/model.py)."""
    return [
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--web.enable-remote-write-receiver",
        f"--query.lookback-delta={duration_text(LOOKBACK_DELTA / factor)}",
        f"--rules.alert.resend-delay={duration_text(RESEND_DELAY / factor)}",
        # New scenario targets are scraped within half a second of their file_sd write, not
        # on the default 5 s tick: the live layer admits scenarios as earlier ones end.
        "--scrape.discovery-reload-interval=500ms",
    ]


def spec(workdir: Path, config_path: Path, factor: float) -> ServerSpec:
    """Prometheus on a free 127.0.0.1 port: the binary, or the image whose entrypoint it is;
    ready when /-/ready answers (in a container, after its own ready line)."""
    port = free_port()
    args = server_args(config_path, workdir, port, factor)
    ready = f"http://127.0.0.1:{port}/-/ready"
    return ServerSpec(
        service="prometheus",
        workdir=workdir,
        port=port,
        process=lambda: Command(argv=[prometheus_binary(), *args]),
        container=Command(argv=args),
        ready=Readiness(
            what=f"200 from {ready}",
            probe=http_ok(ready),
            log_line="Server is ready to receive web requests",
        ),
    )


def start(
    backend: Backend, workdir: Path, config_path: Path, *, factor: float, file_sd_dir: Path | None
) -> PrometheusEndpoint:
    """Start Prometheus on `backend` with the config at `config_path` (rules scaled by
    `factor`); `file_sd_dir` is where test targets go, if the config has that job."""
    started = backend.start(spec(workdir, config_path, factor))
    return PrometheusEndpoint.from_started(
        "prometheus",
        started,
        file_sd_dir=str(file_sd_dir or ""),
        time_scale=factor,
        config=str(config_path),
    )
