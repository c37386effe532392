"""The conventions a config's checks enforce, declared in `policy:` of `<config>/obs-gate.yaml`.

Without a declaration the defaults are Prometheus' and Alertmanager's own: no label is
required, any severity value is fine, a runbook is optional, and any route timing is
accepted. A team states its own conventions here rather than inheriting MindWeave's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsgate.config import load_yaml, parse_duration
from obsgate.config.files import value_node
from obsgate.errors import ConfigError

MANIFEST = "obs-gate.yaml"
ROUTE_TIMINGS = ("group_wait", "group_interval", "repeat_interval")
_KEYS = {"required_alert_labels", "severities", "runbook", "route_timings"}
_RUNBOOK_KEYS = {"annotation", "scheme", "required_for"}
_BOUND_KEYS = {"min", "max"}


@dataclass(frozen=True)
class Runbook:
    """Where an alert's runbook link lives, its URL scheme, and which severities need one."""

    annotation: str = "runbook_url"
    scheme: str | None = None  # e.g. "https"; None: any link
    required_for: tuple[str, ...] = ()  # severities that must carry one

    def problem(self, annotations: dict[str, str], severity: str | None) -> str | None:
        """Why an alert's runbook breaks the policy, or None."""
        link = annotations.get(self.annotation, "").strip()
        if not link:
            if severity in self.required_for:
                return f"no {self.annotation!r} annotation (required for severity {severity})"
            return None
        if self.scheme and not link.startswith(f"{self.scheme}://"):
            return f"{self.annotation} {link!r} is not an {self.scheme}:// link"
        return None


@dataclass(frozen=True)
class TimingBound:
    """Inclusive bounds, in seconds, on one route timing as Alertmanager applies it."""

    min: float | None = None
    max: float | None = None

    def allows(self, seconds: float) -> bool:
        return (self.min is None or seconds >= self.min) and (
            self.max is None or seconds <= self.max
        )

    def __str__(self) -> str:
        if self.min is not None and self.min == self.max:
            return f"= {self.min:g} s"
        parts = [f">= {self.min:g} s" if self.min is not None else ""]
        parts.append(f"<= {self.max:g} s" if self.max is not None else "")
        return " and ".join(p for p in parts if p)


@dataclass(frozen=True)
class Policy:
    """The declared conventions; `source` is the file that declared them (None: defaults)."""

    required_alert_labels: tuple[str, ...] = ()
    severities: tuple[str, ...] | None = None  # None: any value
    runbook: Runbook = Runbook()
    route_timings: dict[str, TimingBound] = field(default_factory=dict, hash=False)
    source: Path | None = None

    def where(self) -> str:
        return f"{self.source} (policy)" if self.source else "the default policy"


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


class _Reader:
    """Validates the `policy:` mapping, each error one line at the offending YAML line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node | None, what: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.path}:{_line(node)}: policy: {what} ({fix})")

    def mapping(self, value: Any, node: yaml.Node | None, what: str, keys: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(node, f"{what} is not a mapping", f"give {', '.join(sorted(keys))}")
        unknown = sorted(str(k) for k in value if k not in keys)
        if unknown:
            key_node = value_node(node, unknown[0])
            raise self.fail(
                key_node or node,
                f"unknown key {unknown[0]!r} in {what}",
                f"use {', '.join(sorted(keys))}",
            )
        return value

    def names(self, value: Any, node: yaml.Node | None, what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(node, f"{what} is not a list of names", f"e.g. {what}: [a, b]")
        return tuple(value)

    def text(self, value: Any, node: yaml.Node | None, what: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(node, f"{what} is not a non-empty string", "give a name")
        return value

    def duration(self, value: Any, node: yaml.Node | None, what: str) -> float:
        try:
            if not isinstance(value, str):
                raise ValueError(f"not a Prometheus duration: {value!r} (use e.g. 30s, 5m, 4h)")
            return parse_duration(value)
        except ValueError as exc:
            raise self.fail(node, f"{what}: {exc}", "fix the duration") from None

    def runbook(self, value: Any, node: yaml.Node | None) -> Runbook:
        raw = self.mapping(value, node, "runbook", _RUNBOOK_KEYS)
        out = Runbook()
        if "annotation" in raw:
            annotation = self.text(raw["annotation"], value_node(node, "annotation"), "annotation")
            out = Runbook(annotation, out.scheme, out.required_for)
        if raw.get("scheme") is not None:
            scheme = self.text(raw["scheme"], value_node(node, "scheme"), "runbook.scheme")
            out = Runbook(out.annotation, scheme.removesuffix("://"), out.required_for)
        if "required_for" in raw:
            required = self.names(
                raw["required_for"], value_node(node, "required_for"), "runbook.required_for"
            )
            out = Runbook(out.annotation, out.scheme, required)
        return out

    def timings(self, value: Any, node: yaml.Node | None) -> dict[str, TimingBound]:
        raw = self.mapping(value, node, "route_timings", set(ROUTE_TIMINGS))
        out = {}
        for key, bound in raw.items():
            where = value_node(node, key)
            if isinstance(bound, dict):
                limits = self.mapping(bound, where, f"route_timings.{key}", _BOUND_KEYS)
                lo, hi = (
                    self.duration(limits[k], value_node(where, k), f"route_timings.{key}.{k}")
                    if limits.get(k) is not None
                    else None
                    for k in ("min", "max")
                )
                if lo is not None and hi is not None and lo > hi:
                    raise self.fail(where, f"route_timings.{key}: min above max", "swap them")
                out[key] = TimingBound(lo, hi)
            else:
                exact = self.duration(bound, where, f"route_timings.{key}")
                out[key] = TimingBound(exact, exact)
        return out

    def policy(self, value: Any, node: yaml.Node | None) -> Policy:
        raw = self.mapping(value, node, "the policy", _KEYS)
        severities = raw.get("severities")
        return Policy(
            required_alert_labels=self.names(
                raw.get("required_alert_labels") or [],
                value_node(node, "required_alert_labels"),
                "required_alert_labels",
            ),
            severities=None
            if severities is None
            else self.names(severities, value_node(node, "severities"), "severities"),
            runbook=self.runbook(raw["runbook"], value_node(node, "runbook"))
            if raw.get("runbook") is not None
            else Runbook(),
            route_timings=self.timings(raw["route_timings"], value_node(node, "route_timings"))
            if raw.get("route_timings") is not None
            else {},
            source=self.path,
        )


def load_policy(root: Path) -> Policy:
    """`policy:` of `root/obs-gate.yaml`, validated; the defaults without the file or key."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return Policy()
    data = load_yaml(path)  # a YAML syntax error is already one line with file:line
    if data is None:
        return Policy()
    root_node = yaml.compose(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping of sections (e.g. policy:)")
    if data.get("policy") is None:
        return Policy()
    return _Reader(path).policy(data["policy"], value_node(root_node, "policy"))
