"""Sloth SLO specs read from the config under test, each SLO with the file and line it came from.

Both of Sloth's Prometheus formats load, from any number of files: the plain `version:
prometheus/v1` spec (snake_case keys: `error_query`, `page_alert`) and the Kubernetes
`sloth.slok.dev/v1 PrometheusServiceLevel` (camelCase: `errorQuery`, `pageAlert`), each with
its own spelling only, as Sloth reads them (pkg/prometheus/api/v1, pkg/kubernetes/api/sloth/v1
in Sloth v0.16): a key of the other format is named with the right one, since Sloth would
ignore it. Event and raw SLIs are modelled; an SLI plugin is refused in one line (the gate
cannot run Sloth's plugins), never silently skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsgate.config import ObsConfig
from obsgate.config.files import located_documents
from obsgate.errors import ConfigError

PROM_V1 = "prometheus/v1"
K8S_API = "sloth.slok.dev/v1"
# The keys that differ between the two formats: plain prometheus/v1 -> the CRD's.
SNAKE_TO_CAMEL = {
    "error_query": "errorQuery",
    "total_query": "totalQuery",
    "error_ratio_query": "errorRatioQuery",
    "page_alert": "pageAlert",
    "ticket_alert": "ticketAlert",
    "slo_plugins": "sloPlugins",
}
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
    error_query: str  # "" for a raw SLI
    total_query: str
    labels: dict[str, str] = field(hash=False)
    page: AlertMeta = field(hash=False)
    ticket: AlertMeta = field(hash=False)
    file: Path
    line: int
    period_days: int = DEFAULT_PERIOD_DAYS
    error_ratio_query: str = ""  # a raw SLI's (sli.raw), "" for an event SLI

    @property
    def id(self) -> str:
        """Sloth's SLO id (`sloth_id`): service and name joined by a dash."""
        return f"{self.service}-{self.name}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}: SLO {self.id}"

    @property
    def is_raw(self) -> bool:
        return bool(self.error_ratio_query)

    def query(self, which: str, window: str) -> str:
        """The error or total query with `{{.window}}` rendered, as Sloth renders it."""
        if self.is_raw:
            raise ConfigError(
                f"{self.where}: a raw SLI (error_ratio_query) has no {which} query; this check "
                "needs an event SLI (sli.events)"
            )
        text = self.error_query if which == "error" else self.total_query
        return WINDOW_VAR.sub(window, text).strip()

    def ratio_query(self, window: str) -> str:
        """The error ratio over `window`, as Sloth's SLI recording rule computes it."""
        if self.is_raw:
            return f"({WINDOW_VAR.sub(window, self.error_ratio_query).strip()})"
        return f"({self.query('error', window)})\n/\n({self.query('total', window)})"


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of labels (fix the spec)")
    return {str(k): str(v) for k, v in value.items()}


def _alert(alerting: dict[str, Any], kind: str, where: str) -> AlertMeta:
    """Sloth's merge: alerting.labels/annotations, overridden by the page or ticket alert's."""
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


def _key(name: str, camel: bool) -> str:
    return SNAKE_TO_CAMEL.get(name, name) if camel else name


def _foreign_keys(value: Any, camel: bool, where: str, at: str) -> None:
    """A key spelled as the other format spells it: Sloth ignores it, so name the right one."""
    if not isinstance(value, dict):
        return
    foreign = SNAKE_TO_CAMEL if camel else {v: k for k, v in SNAKE_TO_CAMEL.items()}
    for key in value:
        if key in foreign:
            fmt = "a PrometheusServiceLevel" if camel else f"a {PROM_V1} spec"
            raise ConfigError(
                f"{where}: {at}{key} is not a key of {fmt}, and Sloth would ignore it "
                f"(write {at}{foreign[key]})"
            )


def _sli(raw: dict[str, Any], name: str, camel: bool, where: str) -> tuple[str, str, str]:
    """(error query, total query, error ratio query) of an SLO's events or raw SLI."""
    sli = raw.get("sli")
    if not isinstance(sli, dict):
        raise ConfigError(f"{where}: SLO {name}: 'sli' must be a mapping (give sli.events)")
    kinds = [k for k in ("events", "raw", "plugin") if sli.get(k) is not None]
    if len(kinds) != 1:
        raise ConfigError(
            f"{where}: SLO {name}: an SLI is exactly one of sli.events, sli.raw or sli.plugin "
            f"(found {', '.join(kinds) or 'none'})"
        )
    body = sli[kinds[0]]
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: SLO {name}: sli.{kinds[0]} must be a mapping (fix it)")
    _foreign_keys(body, camel, f"{where}: SLO {name}", f"sli.{kinds[0]}.")
    if kinds[0] == "plugin":
        raise ConfigError(
            f"{where}: SLO {name}: SLI plugins (sli.plugin id {body.get('id')!r}) are not "
            "supported yet: the gate cannot run Sloth's plugins (write the queries as "
            "sli.events or sli.raw)"
        )
    if kinds[0] == "raw":
        key = _key("error_ratio_query", camel)
        if not body.get(key):
            raise ConfigError(f"{where}: SLO {name}: sli.raw needs {key} (give it)")
        return "", "", str(body[key])
    error_key, total_key = _key("error_query", camel), _key("total_query", camel)
    if not body.get(error_key) or not body.get(total_key):
        raise ConfigError(
            f"{where}: SLO {name}: sli.events needs {error_key} and {total_key} (give both)"
        )
    return str(body[error_key]), str(body[total_key]), ""


def _slo(spec: dict[str, Any], raw: Any, node: yaml.Node, path: Path, camel: bool) -> SLO:
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
    error_query, total_query, ratio_query = _sli(raw, name, camel, where)
    alerting = raw.get("alerting") or {}
    if not isinstance(alerting, dict):
        raise ConfigError(f"{where}: SLO {name}: 'alerting' must be a mapping (fix the spec)")
    _foreign_keys(alerting, camel, f"{where}: SLO {name}", "alerting.")
    return SLO(
        service=service,
        name=name,
        objective=objective,
        description=str(raw.get("description") or ""),
        error_query=error_query,
        total_query=total_query,
        labels={**_str_map(spec.get("labels"), where), **_str_map(raw.get("labels"), where)},
        page=_alert(alerting, _key("page_alert", camel), where),
        ticket=_alert(alerting, _key("ticket_alert", camel), where),
        file=path,
        line=line,
        error_ratio_query=ratio_query,
    )


def _spec_of(doc: Any, node: yaml.Node, path: Path) -> tuple[dict[str, Any], yaml.Node, bool]:
    """The part holding `service` and `slos`, whichever of Sloth's two formats `doc` is, and
    whether its keys are camelCase (the CRD) or snake_case (prometheus/v1)."""
    where = f"{path}:{node.start_mark.line + 1}"
    expected = f"want 'version: {PROM_V1}' or 'apiVersion: {K8S_API}, kind: PrometheusServiceLevel'"
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: an SLO spec must be a mapping ({expected})")
    kind, api = doc.get("kind"), doc.get("apiVersion")
    if kind == "PrometheusServiceLevel":
        if api != K8S_API:
            raise ConfigError(f"{where}: PrometheusServiceLevel of apiVersion {api!r} ({expected})")
        spec = doc.get("spec")
        spec_node = next((v for k, v in node.value if k.value == "spec"), None)
        if not isinstance(spec, dict) or spec_node is None:
            raise ConfigError(f"{where}: PrometheusServiceLevel without 'spec' (fix the file)")
        _foreign_keys(spec, True, where, "spec.")
        return spec, spec_node, True
    if kind is not None or api is not None:
        if str(api or "").startswith("openslo/"):
            raise ConfigError(f"{where}: OpenSLO specs are not supported yet ({expected})")
        raise ConfigError(f"{where}: a {kind} ({api}), not a Sloth spec ({expected})")
    if "version" in doc:
        if doc["version"] != PROM_V1:
            raise ConfigError(
                f"{where}: unknown Sloth spec version {doc['version']!r} ({expected})"
            )
        _foreign_keys(doc, False, where, "")
        return doc, node, False
    raise ConfigError(f"{where}: not a Sloth spec, no 'version' ({expected})")


def load_slos(path: Path) -> list[SLO]:
    """Every SLO of a multi-document Sloth spec file, in order."""
    out: list[SLO] = []
    docs = located_documents(path)
    if not docs:
        raise ConfigError(f"{path}:1: empty file (want a Sloth spec)")
    for located in docs:
        doc, node = located.data, located.node
        spec, spec_node, camel = _spec_of(doc, node, path)
        slos = spec.get("slos")
        slos_node = next((v for k, v in spec_node.value if k.value == "slos"), None)
        if not isinstance(slos, list) or not slos or not isinstance(slos_node, yaml.SequenceNode):
            line = spec_node.start_mark.line + 1
            raise ConfigError(f"{path}:{line}: spec without an 'slos' list (add one)")
        out.extend(
            _slo(spec, raw, n, path, camel) for raw, n in zip(slos, slos_node.value, strict=True)
        )
    _unique(out)
    return out


def _unique(slos: list[SLO]) -> None:
    seen: dict[str, SLO] = {}
    for slo in slos:
        if slo.id in seen:
            raise ConfigError(
                f"{slo.where}: duplicate SLO id, also at {seen[slo.id].file}:{seen[slo.id].line} "
                "(rename one)"
            )
        seen[slo.id] = slo


def config_slos(config: ObsConfig) -> list[SLO]:
    """Every SLO of every spec file of the config (the manifest's `slos`, or slo/)."""
    files = config.slo_files()
    if not files:
        raise ConfigError(
            f"{config.missing('slos')}: add Sloth specs, or name them in obs-gate.yaml"
        )
    out = [slo for path in files for slo in load_slos(path)]
    _unique(out)
    return out
