"""The alerting stack, assembled once: the capture sink, Alertmanager running the config
under test adapted to notify the sink, and Prometheus alerting to that Alertmanager.

The session fixtures, the load gate and the staging stand-in all start it through here;
they differ only in the Prometheus config they write (`write_config`) and in the names
their servers have in the run's registry (`prefix`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from obsgate.config import ObsConfig
from obsgate.sinks import service as sink_service
from obsgate.stack import alertmanager as am
from obsgate.stack import prometheus as prom
from obsgate.stack.alertmanager_config import AlertmanagerConfigAdapter
from obsgate.stack.endpoint import AlertmanagerEndpoint, Endpoint, PrometheusEndpoint
from obsgate.stack.registry import StackRegistry
from obsgate.stack.spec import Backend

# Writes the Prometheus config into a work dir, alerting to the given Alertmanager address.
ConfigWriter = Callable[[ObsConfig, float, Path, Endpoint], Path]


@dataclass(frozen=True, kw_only=True)
class AlertingStack:
    sink: Endpoint
    alertmanager: AlertmanagerEndpoint
    prometheus: PrometheusEndpoint


@dataclass(frozen=True, kw_only=True)
class AlertingStackSettings:
    """What the three servers run: the config under test, the time factor its durations are
    divided by (1: as deployed), and how Prometheus' config is written."""

    config: ObsConfig
    factor: float
    write_config: ConfigWriter = prom.write_live_config
    prefix: str = ""
    # A time-scale lane notifies the run's one sink (its servers have the prefix, not it).
    shared_sink: bool = False


def start_sink(registry: StackRegistry, settings: AlertingStackSettings) -> Endpoint:
    name = "sink" if settings.shared_sink else f"{settings.prefix}sink"
    return registry.get_or_start(name, sink_service.start)


def start_alertmanager(
    registry: StackRegistry,
    backend: Backend,
    settings: AlertingStackSettings,
    port: int | None = None,
) -> AlertmanagerEndpoint:
    """Alertmanager on `port` (free if None), notifying the stack's sink (started first)."""
    sink = start_sink(registry, settings)
    config = settings.config

    def start(workdir: Path) -> AlertmanagerEndpoint:
        adapter = AlertmanagerConfigAdapter(config, sink.url, settings.factor)
        source = config.alertmanager_source().describe()
        return am.start(
            backend,
            workdir,
            am.AdaptedConfig(
                config=adapter.adapted(), source=source, changes=tuple(adapter.changes)
            ),
            port=port,
        )

    return registry.get_or_start(f"{settings.prefix}alertmanager", start)


def start_prometheus(
    registry: StackRegistry,
    backend: Backend,
    settings: AlertingStackSettings,
    alertmanager: Endpoint,
) -> PrometheusEndpoint:
    """Prometheus alerting to `alertmanager` (only its address is needed: it may still be
    starting, and Prometheus retries)."""

    def start(workdir: Path) -> PrometheusEndpoint:
        path = settings.write_config(settings.config, settings.factor, workdir, alertmanager)
        sd_dir = workdir / "file_sd"
        return prom.start(
            backend,
            workdir,
            path,
            factor=settings.factor,
            file_sd_dir=sd_dir if sd_dir.is_dir() else None,
        )

    return registry.get_or_start(f"{settings.prefix}prometheus", start)


def start_alerting_stack(
    registry: StackRegistry, backend: Backend, settings: AlertingStackSettings
) -> AlertingStack:
    """Sink, then Alertmanager, then Prometheus, each once per run (or joined)."""
    alertmanager = start_alertmanager(registry, backend, settings)
    prometheus = start_prometheus(registry, backend, settings, alertmanager)
    return AlertingStack(
        sink=start_sink(registry, settings), alertmanager=alertmanager, prometheus=prometheus
    )
