"""The app's instrumentation settings as the config dir states them (`app_settings` in
obs-gate.yaml): the metrics the code defines, its redact paths and censor, its spans.

The services read their own code, not these files. The suites read them where a check
concerns what the code is meant to define: the queries and panels that read a metric the
code does not define, the redact list against the never-logged intent, the span catalogue
the running services are judged against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError

METRIC_TYPES = ("counter", "gauge", "histogram")


@dataclass(frozen=True)
class MetricDef:
    name: str
    type: str
    label_names: tuple[str, ...]
    buckets: tuple[float, ...] | None = None


@dataclass(frozen=True)
class AppSettings:
    config_dir: Path
    metrics: dict[str, MetricDef]
    tracing: dict[str, Any]
    redact_paths: tuple[str, ...]
    censor: str


def _fail(config: ObsConfig, name: str, what: str, fix: str) -> ConfigError:
    return ConfigError(f"{config.app_settings_file(name)}: {what} ({fix})")


def _metrics(config: ObsConfig, data: dict[str, Any]) -> dict[str, MetricDef]:
    buckets = data.get("histograms") or {}
    out = {}
    for name, spec in (data.get("metrics") or {}).items():
        kind = (spec or {}).get("type")
        if kind not in METRIC_TYPES:
            raise _fail(config, "metrics", f"metric {name}: type {kind!r}", f"use {METRIC_TYPES}")
        labels = tuple(str(x) for x in spec.get("labelNames") or [])
        hist = None
        if kind == "histogram":
            if name not in buckets:
                raise _fail(config, "metrics", f"histogram {name} has no buckets", "add them")
            hist = tuple(float(b) for b in buckets[name])
        out[str(name)] = MetricDef(str(name), kind, labels, hist)
    return out


def load_settings(config_dir: Path) -> AppSettings:
    """The app's settings from the config dir `config_dir`."""
    config = ObsConfig(config_dir)
    metrics = config.app_settings("metrics")
    logging = config.app_settings("logging")
    tracing = config.app_settings("tracing")
    paths = logging.get("paths")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise _fail(config, "logging", "paths must be a list of strings", "pino redact paths")
    return AppSettings(
        config_dir=config.root,
        metrics=_metrics(config, metrics),
        tracing=tracing,
        redact_paths=tuple(paths),
        censor=str(logging.get("censor", "[Redacted]")),  # pino's default censor
    )
