"""Which paths carry container logs to which destination, and what masks them on the way.

Two collectors may read the same container logs: Fluent Bit (its tail input, its outputs)
and the Datadog agent (`logCollection.containerCollectAll` of a DatadogAgent resource, or
`DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL`). A destination reached by two paths stores every
line twice, and a path that skips the other's masking stores what it masked in clear.
Masking steps are what removes or rewrites a record's content: Fluent Bit's lua and wasm
filters, modify's Remove*/Set and record_modifier's Remove_key/Allowlist_key entries on
the path; the agent's `mask_sequences` processing rules (DD_LOGS_CONFIG_PROCESSING_RULES).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig, load_yaml_documents
from obsgate.errors import ConfigError
from obsgate.logship.fluentbit_conf import Section, is_on, plugins

AGENT_FILE = "k8s/monitoring/datadog-agent.yaml"
DATADOG_DEFAULT_SITE = "datadoghq.com"
DATADOG_DEFAULT_HOST = f"http-intake.logs.{DATADOG_DEFAULT_SITE}"
MASKING_FILTERS = ("lua", "wasm")
MASKING_ENTRIES = {
    "modify": ("remove", "remove_wildcard", "remove_regex", "set"),
    "record_modifier": ("remove_key", "allowlist_key", "whitelist_key"),
}
# A container's log file as the tail input tags it (in_tail: the Tag's `*` is the path).
SAMPLE_CONTAINER_LOG = "var.log.containers.app-5d8f7c9b4-x2k4q_default_app-0123abcd.log"


@dataclass(frozen=True)
class LogPath:
    source: str  # "fluent-bit [OUTPUT] datadog", "datadog-agent containerCollectAll"
    destination: str  # "datadog (datadoghq.com)", "elasticsearch (host:port)"
    external: bool
    masking: frozenset[str]


def in_cluster(host: str) -> bool:
    """A Kubernetes service name (`svc`, `svc.ns`, `*.svc`, `*.cluster.local`), or loopback."""
    host = host.strip().lower()
    return (
        host.count(".") <= 1
        or host.endswith((".svc", ".cluster.local", ".svc.cluster.local"))
        or host in ("localhost", "127.0.0.1")
    )


def output_destination(output: Section) -> tuple[str, bool]:
    """(name, external) of where a Fluent Bit output sends."""
    host = output.get("Host") or ""
    if output.name == "datadog":
        host = host or DATADOG_DEFAULT_HOST
        site = host.removeprefix("http-intake.logs.")
        return f"datadog ({site})", not in_cluster(host)
    where = f"{host}:{output.get('Port')}" if output.get("Port") else host
    return f"{output.name} ({where or 'no host'})", bool(host) and not in_cluster(host)


def masking_steps(filters: list[Section]) -> frozenset[str]:
    steps = set()
    for f in filters:
        if f.name in MASKING_FILTERS:
            steps.add(f"fluent-bit [FILTER] {f.name} (line {f.line})")
        for key, value, _ in f.entries:
            if key.lower() in MASKING_ENTRIES.get(f.name, ()):
                steps.add(f"fluent-bit [FILTER] {f.name} {key} {value}")
    return frozenset(steps)


def fluent_bit_paths(sections: list[Section]) -> list[LogPath]:
    """One path per output that the tail inputs' container logs reach, with the masking
    filters they pass on the way (filters whose Match takes the same tag)."""
    tags = [
        (tail.get("Tag") or "").replace("*", SAMPLE_CONTAINER_LOG)
        for tail in plugins(sections, "INPUT", "tail")
        if "/var/log/containers" in (tail.get("Path") or "")
    ]
    filters = [s for s in sections if s.kind == "FILTER"]
    out = []
    for output in (s for s in sections if s.kind == "OUTPUT"):
        for tag in tags:
            if output.matches(tag):
                destination, external = output_destination(output)
                masking = masking_steps([f for f in filters if f.matches(tag)])
                out.append(LogPath(f"fluent-bit [OUTPUT] {output.name}", destination,
                                   external, masking))  # fmt: skip
                break
    return out


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", ""))
        for e in container.get("env") or []
        if isinstance(e, dict)
    }


def agent_paths(doc: dict[str, Any], where: str) -> list[LogPath]:
    """The Datadog agent's path for container logs: collect-all by the feature or by the
    node agent's env (an env var the operator sets wins over the feature)."""
    if doc.get("kind") != "DatadogAgent":
        return []
    spec = doc.get("spec") or {}
    logs = ((spec.get("features") or {}).get("logCollection")) or {}
    env = _env(((spec.get("override") or {}).get("nodeAgent")) or {})
    enabled = is_on(str(env.get("DD_LOGS_ENABLED", logs.get("enabled", False))))
    collect_all = env.get("DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL")
    if collect_all is None:
        collect_all = str(logs.get("containerCollectAll", False))
    if not (enabled and is_on(collect_all)):
        return []
    rules = env.get("DD_LOGS_CONFIG_PROCESSING_RULES")
    masking = set()
    if rules:
        try:
            parsed = json.loads(rules)
        except ValueError:
            raise ConfigError(
                f"{where}: DD_LOGS_CONFIG_PROCESSING_RULES is not JSON (give a JSON list)"
            ) from None
        for rule in parsed if isinstance(parsed, list) else []:
            if isinstance(rule, dict) and rule.get("type") == "mask_sequences":
                masking.add(f"datadog-agent processing rule {rule.get('name', '?')}")
    site = ((spec.get("global") or {}).get("site")) or DATADOG_DEFAULT_SITE
    return [LogPath("datadog-agent containerCollectAll", f"datadog ({site})", True,
                    frozenset(masking))]  # fmt: skip


def config_paths(config: ObsConfig, sections: list[Section]) -> list[LogPath]:
    """Every path of the config: Fluent Bit's, and the agent's where the config has one."""
    paths = fluent_bit_paths(sections)
    agent = config.locate(AGENT_FILE)
    if agent.exists():
        for doc in load_yaml_documents(Path(agent)):
            if isinstance(doc, dict):
                paths += agent_paths(doc, str(agent))
    return paths


def topology_problems(paths: list[LogPath]) -> list[str]:
    """A destination reached by more than one path (`dest: source; source`), and an external
    path that masks nothing while another external path masks (`source -> dest: no masking
    (...)`). Masking in two tools cannot be compared step by step, so a path counts as
    masked if it passes any masking step."""
    out = []
    by_destination: dict[str, list[str]] = {}
    for p in paths:
        by_destination.setdefault(p.destination, []).append(p.source)
    for destination, sources in sorted(by_destination.items()):
        if len(sources) > 1:
            out.append(f"{destination}: {'; '.join(sorted(sources))}")
    external = [p for p in paths if p.external]
    applied = sorted({step for p in external for step in p.masking})
    for p in external:
        if applied and not p.masking:
            out.append(f"{p.source} -> {p.destination}: no masking (the other paths pass "
                       f"{', '.join(applied)})")  # fmt: skip
    return out
