"""Sloth SLO specs read from the config under test, each SLO with the file and line it came from.

Both of Sloth's Prometheus formats load: the plain `version: prometheus/v1` spec and the
Kubernetes `sloth.slok.dev/v1 PrometheusServiceLevel` that the seed ships. Only event SLIs
(errorQuery/totalQuery) are modelled: the suite's math is about event ratios, and a raw or
plugin SLI is refused in one line rather than silently skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsgate.config import ObsConfig, load_yaml_documents
from obsgate.errors import ConfigError

SLO_FILE = "slo/mindweave-slos.yaml"
POLICY_FILE = "slo/error-budget-policy.yaml"
DEFAULT_PERIOD_DAYS = 30
WINDOW_VAR = re.compile(r"{{ *\.window *}}")  # Sloth's own template variable (conventions.go)
NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$")  # Sloth's NameRegexp


@dataclass(frozen=True)
class AlertMeta:
    """A page or ticket alert as Sloth builds it: the alerting name, merged labels/annotations."""

    name: str
    labels: dict[str, str] = field(hash=False)
    annotations: dict[str, str] = field(hash=False)
    disabled: bool = False
    switched_off: bool = False  # `disable: true`: no alert, on purpose (no name needed)

    @property
    def name_missing(self) -> bool:
        """Not switched off, yet no alert: `alerting.name` is missing."""
        return self.disabled and not self.switched_off


@dataclass(frozen=True)
class SLO:
    """One SLO of a spec; `where` points a failing test at its line."""

    service: str
    name: str
    objective: float
    description: str
    error_query: str
    total_query: str
    labels: dict[str, str] = field(hash=False)
    page: AlertMeta = field(hash=False)
    ticket: AlertMeta = field(hash=False)
    file: Path
    line: int
    period_days: int = DEFAULT_PERIOD_DAYS

    @property
    def id(self) -> str:
        """Sloth's SLO id (`sloth_id`): service and name joined by a dash."""
        return f"{self.service}-{self.name}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}: SLO {self.id}"

    def query(self, which: str, window: str) -> str:
        """The error or total query with `{{.window}}` rendered, as Sloth renders it."""
        text = self.error_query if which == "error" else self.total_query
        return WINDOW_VAR.sub(window, text).strip()


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of labels (fix the spec)")
    return {str(k): str(v) for k, v in value.items()}


def _alert(alerting: dict[str, Any], kind: str, where: str) -> AlertMeta:
    """Sloth's merge: alerting.labels/annotations, overridden by pageAlert/ticketAlert's."""
    own = alerting.get(kind) or {}
    if not isinstance(own, dict):
        raise ConfigError(f"{where}: alerting.{kind} must be a mapping (fix the spec)")
    labels = {**_str_map(alerting.get("labels"), where), **_str_map(own.get("labels"), where)}
    notes = {
        **_str_map(alerting.get("annotations"), where),
        **_str_map(own.get("annotations"), where),
    }
    name = str(alerting.get("name") or "")
    off = bool(own.get("disable"))
    return AlertMeta(name, labels, notes, disabled=off or not name, switched_off=off)


def _slo(spec: dict[str, Any], raw: Any, node: yaml.Node, path: Path) -> SLO:
    line = node.start_mark.line + 1
    where = f"{path}:{line}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: an SLO must be a mapping (fix the spec)")
    name, service = str(raw.get("name") or ""), str(spec.get("service") or "")
    for what, value in (("service", service), ("SLO name", name)):
        if not NAME.match(value):
            raise ConfigError(f"{where}: {what} {value!r} is not a valid Sloth name (fix it)")
    try:
        objective = float(raw["objective"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{where}: SLO {name}: 'objective' must be a number") from None
    events = (raw.get("sli") or {}).get("events") if isinstance(raw.get("sli"), dict) else None
    if not isinstance(events, dict) or not events.get("errorQuery") or not events.get("totalQuery"):
        raise ConfigError(
            f"{where}: SLO {name}: only event SLIs are checked (give sli.events.errorQuery "
            "and totalQuery)"
        )
    alerting = raw.get("alerting") or {}
    if not isinstance(alerting, dict):
        raise ConfigError(f"{where}: SLO {name}: 'alerting' must be a mapping (fix the spec)")
    return SLO(
        service=service,
        name=name,
        objective=objective,
        description=str(raw.get("description") or ""),
        error_query=str(events["errorQuery"]),
        total_query=str(events["totalQuery"]),
        labels={**_str_map(spec.get("labels"), where), **_str_map(raw.get("labels"), where)},
        page=_alert(alerting, "pageAlert", where),
        ticket=_alert(alerting, "ticketAlert", where),
        file=path,
        line=line,
    )


def _spec_of(doc: Any, node: yaml.Node, path: Path) -> tuple[dict[str, Any], yaml.Node]:
    """The part holding `service` and `slos`, whichever of Sloth's two formats `doc` is."""
    where = f"{path}:{node.start_mark.line + 1}"
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: an SLO spec must be a mapping (fix the file)")
    if doc.get("kind") == "PrometheusServiceLevel":
        spec = doc.get("spec")
        spec_node = next((v for k, v in node.value if k.value == "spec"), None)
        if not isinstance(spec, dict) or spec_node is None:
            raise ConfigError(f"{where}: PrometheusServiceLevel without 'spec' (fix the file)")
        return spec, spec_node
    if doc.get("version") == "prometheus/v1":
        return doc, node
    raise ConfigError(
        f"{where}: not a Sloth spec (want 'version: prometheus/v1' or 'apiVersion: "
        "sloth.slok.dev/v1, kind: PrometheusServiceLevel')"
    )


def load_slos(path: Path) -> list[SLO]:
    """Every SLO of a multi-document Sloth spec file, in order."""
    docs = load_yaml_documents(path)
    nodes = [n for n in yaml.compose_all(path.read_text(encoding="utf-8")) if n is not None]
    out: list[SLO] = []
    for doc, node in zip(docs, nodes, strict=True):
        spec, spec_node = _spec_of(doc, node, path)
        slos = spec.get("slos")
        slos_node = next((v for k, v in spec_node.value if k.value == "slos"), None)
        if not isinstance(slos, list) or not slos or not isinstance(slos_node, yaml.SequenceNode):
            line = spec_node.start_mark.line + 1
            raise ConfigError(f"{path}:{line}: spec without an 'slos' list (add one)")
        out.extend(_slo(spec, raw, n, path) for raw, n in zip(slos, slos_node.value, strict=True))
    ids = [s.id for s in out]
    for slo in out:
        if ids.count(slo.id) > 1:
            raise ConfigError(f"{slo.where}: duplicate SLO id (rename one)")
    return out


def config_slos(config: ObsConfig) -> list[SLO]:
    return load_slos(config.path(SLO_FILE))
