"""Runbooks of a runbook operator (the seed's `k8s/monitoring/runbook-operator.yaml`): a
ConfigMap whose `*.yaml` data keys each hold one runbook, or runbook documents as they are.
A runbook names the alert that triggers it (`trigger.alert`, `trigger.severity`) and steps
whose strings are Go templates the operator renders with that alert (`.Labels`,
`.Annotations`). Each string comes back with the user's file and the line it starts on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgate.config.files import Located, block_text_offset, kube_kind, located_documents
from obsgate.errors import ConfigError

EXPECTED = "a ConfigMap whose *.yaml keys hold runbooks, or runbook documents (name, trigger)"
_STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class RunbookTemplate:
    """One string of a runbook, as the operator hands it to text/template."""

    where: str  # its path inside the runbook, e.g. steps[scale-up].condition
    text: str
    file: Path
    line: int  # the file's line of the string's first line
    block: bool  # a literal block: its n-th line is the file's line + n - 1

    def file_line(self, template_line: int) -> int:
        """The file's line of a line of the template (a flow scalar's lines do not map; an
        error at the end of a block's text is placed on its last line)."""
        last = self.text.rstrip("\n").count("\n") + 1
        return self.line + min(template_line, last) - 1 if self.block else self.line


@dataclass(frozen=True)
class Runbook:
    name: str
    alert: str | None
    severity: str | None
    file: Path
    line: int
    templates: tuple[RunbookTemplate, ...]


def read_runbooks(path: Path) -> list[Runbook]:
    """Every runbook of one file; a document that is neither form is an error naming it."""
    out: list[Runbook] = []
    for doc in located_documents(path):
        data = doc.data
        if kube_kind(data) is not None and data["kind"] == "ConfigMap":
            entries = doc.child("data")
            keys = [k for k in (data.get("data") or {}) if str(k).endswith((".yaml", ".yml"))]
            if entries is None or not keys:
                raise doc.error("a ConfigMap with no *.yaml key in data", f"expected {EXPECTED}")
            out.extend(_embedded(entries.child(k), k) for k in keys)  # type: ignore[arg-type]
        elif isinstance(data, dict) and "trigger" in data:
            out.append(_runbook(data, doc.node, str(data.get("name") or path.stem), _Place(path)))
        else:
            raise doc.error("not a runbook", f"expected {EXPECTED}")
    return out


def _embedded(entry: Located, key: str) -> Runbook:
    """A runbook held as YAML text in a ConfigMap key; its lines placed in the user's file."""
    where = f"{entry.path}:{entry.line}: data[{key!r}]"
    if not isinstance(entry.data, str):
        raise ConfigError(f"{where} is not a string of YAML (write the runbook as a `|` block)")
    offset = block_text_offset(entry.node)
    try:
        data = yaml.safe_load(entry.data)
        node = yaml.compose(entry.data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 + offset if mark is not None and offset is not None else entry.line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{entry.path}:{line}: data[{key!r}]: {problem} (fix the YAML)") from None
    if not isinstance(data, dict) or node is None:
        raise ConfigError(f"{where} is not a runbook mapping (expected name, trigger, steps)")
    name = str(data.get("name") or key.rsplit(".", 1)[0])
    # a flow scalar's lines do not map: everything in it is placed at the key's line
    place = _Place(entry.path, offset or 0, entry.line if offset is None else None)
    return _runbook(data, node, name, place)


@dataclass(frozen=True)
class _Place:
    """Where a runbook's text sits in the user's file: `offset` lines to add to its 1-based
    lines; or `flow_line`, the one line everything is placed at where its lines do not map."""

    path: Path
    offset: int = 0
    flow_line: int | None = None

    def line(self, line0: int) -> int:
        """The file's line of the runbook text's 0-based line."""
        return self.flow_line or self.offset + line0 + 1


def _runbook(data: dict[str, Any], node: yaml.Node, name: str, place: _Place) -> Runbook:
    trigger = data.get("trigger") if isinstance(data.get("trigger"), dict) else {}
    templates = [
        RunbookTemplate(
            where,
            scalar.value,
            place.path,
            place.line(_first_line(scalar)),
            place.flow_line is None and scalar.style == "|",
        )
        for where, scalar in _strings(node, "")
    ]
    alert, severity = trigger.get("alert"), trigger.get("severity")
    return Runbook(
        name,
        str(alert) if alert is not None else None,
        str(severity) if severity is not None else None,
        place.path,
        place.line(node.start_mark.line),
        tuple(templates),
    )


def _first_line(scalar: yaml.ScalarNode) -> int:
    """0-based line of a scalar's first line of text (a block's starts after its `|`)."""
    return scalar.start_mark.line + (1 if scalar.style in ("|", ">") else 0)


def _strings(node: yaml.Node, where: str) -> list[tuple[str, yaml.ScalarNode]]:
    """Every string value under `node` with its path; a list item with a `name` is named."""
    if isinstance(node, yaml.ScalarNode):
        return [(where, node)] if node.tag == _STR else []
    out: list[tuple[str, yaml.ScalarNode]] = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out.extend(_strings(value, f"{where}.{key.value}" if where else str(key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.extend(_strings(item, f"{where}[{_item_name(item) or i}]"))
    return out


def _item_name(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "name" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None
