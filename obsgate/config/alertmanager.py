"""The Alertmanager config as a team deploys it: a plain file, or inside the Kubernetes Secret
prometheus-operator reads (`stringData` or base64 `data`, key `alertmanager.yaml`), or inside
a ConfigMap.

An embedded config written as a literal block (`alertmanager.yaml: |`) keeps its lines: the
text handed on is padded so each of its lines has the number it has in the user's file, and
amtool's or the loader's "line N" is then the user's line N.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgate.config.files import (
    Located,
    block_text_offset,
    kube_kind,
    kube_name,
    last_line,
    located_documents,
    yaml_error,
)
from obsgate.errors import ConfigError

KEY = "alertmanager.yaml"  # the key prometheus-operator reads from the Secret
EXPECTED = (
    f"a plain Alertmanager config (route:, receivers:), or a Secret or ConfigMap with key {KEY}"
)


@dataclass(frozen=True)
class AlertmanagerSource:
    """The plain Alertmanager config text and where it came from. `lines_kept`: each line of
    `text` has the number it has in `origin` (a plain file, or a literal block)."""

    origin: Path
    text: str
    obj: str = ""  # e.g. 'Secret monitoring/alertmanager-main, stringData["alertmanager.yaml"]'
    lines_kept: bool = True

    def describe(self) -> str:
        """How a message names the config: the file, and the object and key inside it."""
        if not self.obj:
            return str(self.origin)
        lines = "" if self.lines_kept else "; lines are the decoded config's"
        return f"{self.origin} ({self.obj}{lines})"

    def load(self) -> dict[str, Any]:
        """The config as a mapping; one line naming the user's file and line if it is not."""
        try:
            data = yaml.safe_load(self.text)
        except yaml.YAMLError as exc:
            raise yaml_error(self.describe() if not self.lines_kept else self.origin, exc) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.describe()}: expected a mapping (fix the file)")
        return data


def read_alertmanager(path: Path) -> AlertmanagerSource:
    """The one Alertmanager config of `path`, whichever of the supported forms it has."""
    docs = located_documents(path)
    if not docs:
        raise ConfigError(f"{path}:1: empty file (expected {EXPECTED})")
    found = [_source_of(doc) for doc in docs]
    if len(found) > 1:
        raise docs[1].error(f"a second Alertmanager config in {path.name}", "keep one per file")
    return found[0]


def _source_of(doc: Located) -> AlertmanagerSource:
    data = doc.data
    kind = kube_kind(data)
    if kind is None:
        if isinstance(data, dict) and ("route" in data or "receivers" in data):
            return AlertmanagerSource(doc.path, _padded(doc))
        raise doc.error("not an Alertmanager config", f"expected {EXPECTED}")
    name = f"{data['kind']} {kube_name(data)}"
    if data["kind"] == "AlertmanagerConfig":
        raise doc.error(
            f"{name}: the AlertmanagerConfig CRD is not supported yet",
            f"give the Alertmanager config itself: plain, or the Secret with key {KEY}",
        )
    if data["kind"] not in ("Secret", "ConfigMap"):
        raise doc.error(f"a {kind}, not an Alertmanager config", f"expected {EXPECTED}")
    if data["kind"] == "Secret":
        string_data = doc.child("stringData")
        entry = string_data.child(KEY) if string_data is not None else None
        if entry is not None:
            return _embedded(entry, f'{name}, stringData["{KEY}"]')
        data_field = doc.child("data")
        entry = data_field.child(KEY) if data_field is not None else None
        if entry is not None:
            return _decoded(entry, f'{name}, data["{KEY}"]')
        keys = sorted({str(k) for f in ("stringData", "data") for k in (data.get(f) or {})})
        raise doc.error(
            f"{name} has no {KEY!r} in stringData or data (keys: {', '.join(keys) or 'none'})",
            f"prometheus-operator reads the config from key {KEY}",
        )
    data_field = doc.child("data")
    entry = data_field.child(KEY) if data_field is not None else None
    if entry is None:
        keys = sorted(str(k) for k in (data.get("data") or {}))
        raise doc.error(
            f"{name} has no {KEY!r} in data (keys: {', '.join(keys) or 'none'})",
            f"put the Alertmanager config under data.{KEY}",
        )
    return _embedded(entry, f'{name}, data["{KEY}"]')


def _padded(doc: Located) -> str:
    """One document of a multi-document file, its lines kept."""
    lines = doc.text.splitlines()
    start, end = doc.node.start_mark.line, last_line(doc.node)
    return "\n" * start + "\n".join(lines[start : end + 1]) + "\n"


def _embedded(entry: Located, obj: str) -> AlertmanagerSource:
    if not isinstance(entry.data, str):
        raise entry.error(f"{obj} is not a string", "write the config as a `|` block")
    offset = block_text_offset(entry.node)
    if offset is None:
        return AlertmanagerSource(entry.path, entry.data, obj, lines_kept=False)
    return AlertmanagerSource(entry.path, "\n" * offset + entry.data, obj, lines_kept=True)


def _decoded(entry: Located, obj: str) -> AlertmanagerSource:
    try:
        text = base64.b64decode(str(entry.data), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise entry.error(f"{obj} is not base64 text", "encode it, or use stringData") from None
    return AlertmanagerSource(entry.path, text, f"{obj}, base64", lines_kept=False)


# `${VAR}`, which Alertmanager never expands (the gate's adapter substitutes each, by name).
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_references(node: Any, path: str = "") -> list[str]:
    """`<setting>: ${VAR}` for every environment variable a config writes; Alertmanager
    expands none, so each is used as the literal text. A list item with a `name` is named by
    it: `receivers[pagerduty-critical].pagerduty_configs[0].service_key`."""
    if isinstance(node, dict):
        return [
            r for k, v in node.items() for r in env_references(v, f"{path}.{k}" if path else str(k))
        ]
    if isinstance(node, list):
        return [
            r
            for i, item in enumerate(node)
            for r in env_references(
                item, f"{path}[{item['name'] if isinstance(item, dict) and 'name' in item else i}]"
            )
        ]
    if isinstance(node, str) and (found := [m[0] for m in ENV_REFERENCE.finditer(node)]):
        return [f"{path}: {' '.join(found)}"]
    return []
