"""Grafana dashboards as teams ship them: a plain JSON file, JSON inside a ConfigMap's data
(`*.json` keys, the Grafana sidecar's form), or a grafana-operator `GrafanaDashboard`'s
`spec.json`. Each comes back with the user's file and the line its JSON starts on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsgate.config.files import (
    Located,
    block_text_offset,
    kube_kind,
    kube_name,
    load_json,
    located_documents,
)
from obsgate.errors import ConfigError

EXPECTED = (
    "a Grafana dashboard JSON file, a ConfigMap with *.json keys, "
    "or a GrafanaDashboard with spec.json"
)


@dataclass(frozen=True)
class Dashboard:
    """One dashboard's JSON; `obj` names the object and key inside `file` ("" for a .json)."""

    file: Path
    line: int
    doc: dict[str, Any] = field(hash=False)
    obj: str = ""

    @property
    def name(self) -> str:
        """What a message calls it: the file, and the object and key inside it."""
        return f"{self.file.name} ({self.obj})" if self.obj else self.file.name


def read_dashboards(path: Path) -> list[Dashboard]:
    """The dashboards of one file: a .json file is one dashboard; a YAML file holds objects."""
    if path.suffix == ".json":
        doc = load_json(path)
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}:1: a dashboard is a JSON object (expected {EXPECTED})")
        return [Dashboard(path, 1, doc)]
    out: list[Dashboard] = []
    docs = located_documents(path)
    if not docs:
        raise ConfigError(f"{path}:1: empty file (expected {EXPECTED})")
    for d in docs:
        out.extend(_of_object(d))
    return out


def _of_object(doc: Located) -> list[Dashboard]:
    data = doc.data
    kind = kube_kind(data)
    if kind is not None and data["kind"] == "List":
        items = doc.child("items")
        return [d for item in (items.items() if items else []) for d in _of_object(item)]
    if kind is not None and data["kind"] == "ConfigMap":
        name = f"ConfigMap {kube_name(data)}"
        entries = doc.child("data")
        keys = [k for k in (data.get("data") or {}) if str(k).endswith(".json")]
        if entries is None or not keys:
            raise doc.error(f"{name} has no *.json key in data", f"expected {EXPECTED}")
        return [_parsed(entries.child(k), f'{name}, data["{k}"]') for k in keys]  # type: ignore[arg-type]
    if kind is not None and data["kind"] == "GrafanaDashboard":
        name = f"GrafanaDashboard {kube_name(data)}"
        spec = doc.child("spec")
        entry = spec.child("json") if spec is not None else None
        if entry is None:
            raise doc.error(
                f"{name} has no spec.json (spec.url, spec.grafanaCom and configMapRef are not "
                "read)",
                "inline the dashboard as spec.json",
            )
        return [_parsed(entry, f"{name}, spec.json")]
    what = f"a {kind}" if kind else "a YAML document"
    raise doc.error(f"{what}, not a dashboard", f"expected {EXPECTED}")


def _parsed(entry: Located, obj: str) -> Dashboard:
    """The JSON text of one key, parsed; its errors placed at the user's line."""
    if not isinstance(entry.data, str):
        raise entry.error(f"{obj} is not a string of JSON", "write the dashboard as a `|` block")
    offset = block_text_offset(entry.node)
    try:
        doc = json.loads(entry.data)
    except json.JSONDecodeError as exc:
        line = exc.lineno + offset if offset is not None else entry.line
        raise ConfigError(f"{entry.path}:{line}: {obj}: {exc.msg} (fix the JSON)") from None
    if not isinstance(doc, dict):
        raise entry.error(f"{obj} is not a JSON object", f"expected {EXPECTED}")
    start = (offset + 1) if offset is not None else entry.line
    return Dashboard(entry.path, start, doc, obj)
