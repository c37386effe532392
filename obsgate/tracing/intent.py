"""The tracing intent of a config dir: `scenarios/tracing/trace.yaml` (what a request must
leave in Jaeger and the logs) and the seed's span catalogue in `tracing/propagation.yaml`.

The catalogue is the seed's spans.ts as data: a name like `db.<queryType>` is a pattern
whose placeholder stands for one value, so `db.select` matches and `db.` does not.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError

TRACE_INTENT = "scenarios/tracing/trace.yaml"
KINDS = ("server", "client", "producer", "consumer", "internal")
PLACEHOLDER = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")


@dataclass(frozen=True)
class TraceIntent:
    caller_propagation: str
    health_routes: tuple[str, ...]
    gateway: str
    usage_tracker: str
    trace_id_field: str
    span_id_field: str
    secret_path: str | None = None
    secret_finding: str | None = None  # "id: text", as the xfail reason carries it
    secret_finding_attributes: tuple[str, ...] = ()
    pod_namespace: str | None = None
    enriched_line_finding: str | None = None  # "id: text"


@dataclass(frozen=True)
class SpanSpec:
    """One span of the seed's spans.ts: name pattern, kind, attribute keys, fixed values."""

    name: str
    kind: str
    attributes: tuple[str, ...]
    constant_attributes: dict[str, Any] = field(default_factory=dict)

    def name_pattern(self) -> re.Pattern[str]:
        parts = PLACEHOLDER.split(self.name)
        # split() alternates literal text and placeholder names
        regex = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^./ ]+)" for i, p in enumerate(parts)
        )
        return re.compile(regex)


def trace_intent(config: ObsConfig) -> TraceIntent:
    path = config.path(TRACE_INTENT)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: expected a mapping (see the shipped file)")
    services = data.get("services") or {}
    fields = data.get("log_fields") or {}
    routes = data.get("health_routes")
    if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
        raise ConfigError(f"{path}: health_routes must be a list of paths")
    missing = [k for k in ("gateway", "usage_tracker") if not services.get(k)]
    if missing or not data.get("caller_propagation"):
        raise ConfigError(f"{path}: give caller_propagation and services {missing or ''}")
    secret = data.get("secret_in_path") or {}
    if secret and "{key}" not in str(secret.get("path", "")):
        raise ConfigError(f"{path}: secret_in_path.path must hold {{key}}")
    return TraceIntent(
        str(data["caller_propagation"]),
        tuple(routes),
        str(services["gateway"]),
        str(services["usage_tracker"]),
        str(fields.get("trace_id", "trace_id")),
        str(fields.get("span_id", "span_id")),
        str(secret["path"]) if secret else None,
        " ".join(str(secret["finding"]).split()) if secret.get("finding") else None,
        tuple(str(a) for a in secret.get("finding_attributes") or []),
        str(data["pod_namespace"]) if data.get("pod_namespace") else None,
        " ".join(str(data["enriched_line_finding"]).split())
        if data.get("enriched_line_finding")
        else None,
    )


def span_specs(config: ObsConfig) -> list[SpanSpec]:
    where = config.app_settings_file("tracing")
    out = []
    for i, spec in enumerate(config.app_settings("tracing").get("spans") or []):
        if not isinstance(spec, dict) or not spec.get("name") or spec.get("kind") not in KINDS:
            raise ConfigError(f"{where}: spans[{i}]: give name and kind (one of {KINDS})")
        out.append(
            SpanSpec(
                str(spec["name"]),
                str(spec["kind"]),
                tuple(str(a) for a in spec.get("attributes") or []),
                dict(spec.get("constant_attributes") or {}),
            )
        )
    return out


def expected_resource(config: ObsConfig, service: str) -> dict[str, str]:
    """Resource attributes the config promises for `service` ({env, default} read here, as
    the app reads them from the same environment; SERVICE_NAME is the service's own)."""
    env = {**os.environ, "SERVICE_NAME": service}
    out = {}
    for key, value in (config.app_settings("tracing").get("resource") or {}).items():
        if isinstance(value, dict):
            out[str(key)] = str(env.get(value.get("env", "")) or value.get("default", ""))
        else:
            out[str(key)] = str(value)
    return out
