"""The reference app's instrumentation settings, read from the config dir under test.

The seed gives these as code (normalizePath, histogram buckets, pino redact paths,
propagators, untraced routes); the gate keeps them as YAML in the config dir, and the app
reads them at start, so a broken line there changes what the app serves and the gate sees it.
Each service finds the dir in MW_OBS_CONFIG_DIR (the fixture passes the run's --obs-config).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import ConfigError

METRIC_TYPES = ("counter", "gauge", "histogram")


@dataclass(frozen=True)
class PathRule:
    """One `.replace(/pattern/flags, replacement)` of the seed's normalizePath."""

    pattern: re.Pattern[str]
    replace_all: bool
    replacement: str


@dataclass(frozen=True)
class MetricDef:
    name: str
    type: str
    label_names: tuple[str, ...]
    buckets: tuple[float, ...] | None = None


@dataclass(frozen=True)
class AppSettings:
    config_dir: Path
    path_rules: tuple[PathRule, ...]
    metrics: dict[str, MetricDef]
    tracing: dict[str, Any]
    redact_paths: tuple[str, ...]
    censor: str
    email_hash: dict[str, Any] = field(default_factory=dict)


def _fail(config: ObsConfig, name: str, what: str, fix: str) -> ConfigError:
    return ConfigError(f"{config.app_settings_file(name)}: {what} ({fix})")


def js_regex(config: ObsConfig, pattern: str, flags: str) -> tuple[re.Pattern[str], bool]:
    """A JavaScript regex literal as Python: `g` replaces all, `i` ignores case.

    re.ASCII because JavaScript's `\\d` and `\\w` are ASCII-only, Python's match any digit.
    """
    unknown = set(flags) - {"g", "i"}
    if unknown:
        raise _fail(config, "metrics", f"regex flags {flags!r}", "only g and i are supported")
    try:
        compiled = re.compile(pattern, re.ASCII | (re.IGNORECASE if "i" in flags else 0))
    except re.error as exc:
        raise _fail(config, "metrics", f"bad pattern {pattern!r}: {exc}", "fix the regex") from None
    return compiled, "g" in flags


def _path_rules(config: ObsConfig, data: dict[str, Any]) -> tuple[PathRule, ...]:
    rules = []
    for i, rule in enumerate(data.get("normalize_path") or []):
        if not isinstance(rule, dict) or "pattern" not in rule or "replacement" not in rule:
            raise _fail(
                config, "metrics", f"normalize_path[{i}]", "give pattern, flags, replacement"
            )
        compiled, replace_all = js_regex(config, str(rule["pattern"]), str(rule.get("flags", "")))
        rules.append(PathRule(compiled, replace_all, str(rule["replacement"])))
    return tuple(rules)


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


def load_settings(config_dir: Path | None = None) -> AppSettings:
    """The app's settings from `config_dir` (default: MW_OBS_CONFIG_DIR, else the seed's)."""
    root = config_dir or Path(os.environ.get("MW_OBS_CONFIG_DIR") or DEFAULT_CONFIG_DIR)
    config = ObsConfig(root)
    metrics = config.app_settings("metrics")
    logging = config.app_settings("logging")
    tracing = config.app_settings("tracing")
    paths = logging.get("paths")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise _fail(config, "logging", "paths must be a list of strings", "pino redact paths")
    return AppSettings(
        config_dir=config.root,
        path_rules=_path_rules(config, metrics),
        metrics=_metrics(config, metrics),
        tracing=tracing,
        redact_paths=tuple(paths),
        censor=str(logging.get("censor", "[Redacted]")),  # pino's default censor
        email_hash=dict(logging.get("email_hash") or {}),
    )
