"""The metrics intent of a config dir: `scenarios/metrics/exposition.yaml` and `paths.yaml`.

Intent is written from the seed by hand, apart from the app settings the app reads, so a
changed metric name, label, bucket or normalizePath rule in the settings is a difference
the suite sees. The format is documented at the top of each shipped file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError
from obsgate.refapp.settings import METRIC_TYPES

EXPOSITION = "scenarios/metrics/exposition.yaml"
PATHS = "scenarios/metrics/paths.yaml"
SHAPES = ("uuid", "uuid-uppercase", "integer", "mindweave-key", "date", "digit-led-hex")


@dataclass(frozen=True)
class MetricIntent:
    name: str
    type: str
    labels: frozenset[str]
    buckets: tuple[float, ...] | None
    needs: str | None


@dataclass(frozen=True)
class PathExample:
    path: str
    label: str


@dataclass(frozen=True)
class IdentifierIntent:
    shape: str
    placeholder: str | None
    finding: str | None  # "id: text", as the xfail reason carries it


def _load(config: ObsConfig, rel: str) -> dict[str, Any]:
    data = load_yaml(config.path(rel))
    if not isinstance(data, dict):
        raise ConfigError(f"{config.locate(rel)}:1:1: expected a mapping (see the shipped file)")
    return data


def content_type(config: ObsConfig) -> str:
    return str(_load(config, EXPOSITION).get("content_type", ""))


def not_app_metrics(config: ObsConfig) -> list[str]:
    """Shell patterns of metrics that exporters serve (the consumers check skips them)."""
    return [str(p) for p in _load(config, EXPOSITION).get("not_app_metrics") or []]


def metric_intents(config: ObsConfig) -> list[MetricIntent]:
    out = []
    for name, spec in (_load(config, EXPOSITION).get("metrics") or {}).items():
        where = f"{config.locate(EXPOSITION)}: metric {name}"
        if not isinstance(spec, dict) or spec.get("type") not in METRIC_TYPES:
            raise ConfigError(f"{where}: give type (one of {METRIC_TYPES}) and labels")
        buckets = spec.get("buckets")
        if (spec["type"] == "histogram") != (buckets is not None):
            raise ConfigError(f"{where}: buckets are given for histograms, and only for them")
        out.append(
            MetricIntent(
                str(name),
                spec["type"],
                frozenset(spec.get("labels") or []),
                tuple(float(b) for b in buckets) if buckets is not None else None,
                spec.get("needs"),
            )
        )
    return out


def path_examples(config: ObsConfig) -> list[PathExample]:
    examples = _load(config, PATHS).get("examples") or []
    if not all(isinstance(e, dict) and {"path", "label"} <= set(e) for e in examples):
        raise ConfigError(f"{config.locate(PATHS)}: every example needs `path` and `label`")
    return [PathExample(str(e["path"]), str(e["label"])) for e in examples]


def identifier_intents(config: ObsConfig) -> list[IdentifierIntent]:
    out = []
    for spec in _load(config, PATHS).get("identifiers") or []:
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if shape not in SHAPES:
            raise ConfigError(f"{config.locate(PATHS)}: identifier shape {shape!r} (use {SHAPES})")
        if not spec.get("placeholder") and not spec.get("finding"):
            raise ConfigError(f"{config.locate(PATHS)}: {shape}: give a placeholder or a finding")
        finding = " ".join(str(spec["finding"]).split()) if spec.get("finding") else None
        out.append(IdentifierIntent(shape, spec.get("placeholder"), finding))
    return out
