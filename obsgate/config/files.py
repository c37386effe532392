"""Reading the files of a config dir: text, YAML and JSON, each error one line naming file:line.

Shared by every native-format reader (rules, Alertmanager, SLOs, dashboards) and the manifest,
so they place errors the same way. Documents keep their YAML nodes: a reader that finds a rule
inside a Kubernetes object can still name the user's own line.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgate.errors import ConfigError

_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


def parse_duration(text: str, where: str | None = None) -> float:
    """Seconds in a Prometheus duration ("1h30m", "0s", "100ms"). Not one: a ConfigError
    naming `where` (the file and the setting), or without it a ValueError for the caller to
    place (the rule loader adds line and column).

    Own parser because promql_parser.parse_duration rejects "0s", which Prometheus accepts.
    A YAML number is no duration, as in Prometheus.
    """
    s = str(text).strip()
    m = _DURATION.match(s)
    if s == "0":
        return 0.0
    if not s or m is None:
        problem = f"not a Prometheus duration: {text!r} (use e.g. 30s, 5m, 1h30m)"
        if where is not None:
            raise ConfigError(f"{where}: {problem}")
        raise ValueError(problem)
    return float(sum(int(g or 0) * u for g, u in zip(m.groups(), _UNIT_SECONDS, strict=True)))


def read_text(path: Path) -> str:
    """Text of a config file, or a one-line ConfigError if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (create it or fix --obs-config)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc} (check the file)") from None


def yaml_error(path: Path | str, exc: yaml.YAMLError, line_offset: int = 0) -> ConfigError:
    """Turn a YAML error into `<path>:<line>:<col>: <problem> (<what to do>)`; `line_offset`
    places a document embedded in another file (a Secret's alertmanager.yaml)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{path}:{mark.line + 1 + line_offset}:{mark.column + 1}" if mark else str(path)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if context:
        problem = f"{problem} {context}"
    return ConfigError(f"{where}: {problem} (fix the YAML syntax)")


# libyaml reads the data ten times faster; on an error the Python loader reads the text again,
# so every message is PyYAML's own whichever loader is installed.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _data(text: str, many: bool) -> Any:
    try:
        return (
            list(yaml.load_all(text, Loader=_FAST_LOADER))
            if many
            else yaml.load(text, Loader=_FAST_LOADER)
        )
    except yaml.YAMLError:
        return list(yaml.safe_load_all(text)) if many else yaml.safe_load(text)


def load_yaml(path: Path) -> Any:
    """One YAML document; a multi-document file is an error (use load_yaml_documents)."""
    text = read_text(path)
    try:
        return _data(text, many=False)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None


def load_yaml_documents(path: Path) -> list[Any]:
    """All documents of a `---`-separated file, empty documents dropped."""
    return [d.data for d in located_documents(path)]


def load_json(path: Path) -> Any:
    """A JSON file, with the JSON error's line and column in the message."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg} (fix the JSON)") from None


@dataclass(frozen=True)
class Located:
    """A YAML document (or a part of one) with its node, so a reader can name any line of it."""

    data: Any
    node: yaml.Node
    path: Path
    text: str  # the whole file's text

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def child(self, key: str) -> Located | None:
        """The value under `key` of a mapping, located; None if absent."""
        node = value_node(self.node, key)
        if node is None or not isinstance(self.data, dict) or key not in self.data:
            return None
        return Located(self.data[key], node, self.path, self.text)

    def items(self) -> list[Located]:
        """The entries of a sequence, located."""
        if not isinstance(self.data, list) or not isinstance(self.node, yaml.SequenceNode):
            return []
        return [
            Located(d, n, self.path, self.text)
            for d, n in zip(self.data, self.node.value, strict=True)
        ]

    def error(self, what: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.path}:{self.line}: {what} ({fix})")


@functools.lru_cache(maxsize=64)
def _documents(text: str) -> tuple[tuple[Any, ...], tuple[yaml.Node, ...]]:
    """Data and nodes of every document of a YAML text. Cached by text: a run reads the same
    rule file once per check, and composing nodes in Python is most of a small run's time."""
    return tuple(_data(text, many=True)), tuple(yaml.compose_all(text))


def located_documents(path: Path) -> list[Located]:
    """Every non-empty document of a YAML file with its node (lines are the file's). The
    data is the caller's own copy; the nodes are shared and never changed."""
    text = read_text(path)
    try:
        docs, nodes = _documents(text)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    return [
        Located(copy.deepcopy(d), n, path, text)
        for d, n in zip(docs, nodes, strict=True)
        if d is not None
    ]


def value_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node for `key` in a mapping node (None if absent or not a mapping)."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def err(path: Path, node: yaml.Node | None, what: str, fix: str) -> ConfigError:
    """`<file>:<line>: <what> (<fix>)`, the line taken from the YAML node's mark."""
    line = node.start_mark.line + 1 if node is not None else 1
    return ConfigError(f"{path}:{line}: {what} ({fix})")


def kube_kind(data: Any) -> str | None:
    """`Kind (apiVersion)` of a Kubernetes object, None for anything else."""
    if isinstance(data, dict) and "kind" in data and "apiVersion" in data:
        return f"{data['kind']} ({data['apiVersion']})"
    return None


def kube_name(data: dict[str, Any]) -> str:
    """`namespace/name` (or `name`) of a Kubernetes object, for messages."""
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = str(meta.get("name") or "<unnamed>")
    return f"{meta['namespace']}/{name}" if meta.get("namespace") else name


def last_line(node: yaml.Node) -> int:
    """0-based line of a node's last character (a block collection's end mark can sit on the
    next token's line, and a block scalar's after its last line break)."""
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        if not node.value:
            return node.start_mark.line
        last = node.value[-1]
        return last_line(last[1] if isinstance(last, tuple) else last)
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        end = node.end_mark
        return end.line - 1 if end.column == 0 else end.line
    return node.end_mark.line


def block_text_offset(node: yaml.Node) -> int | None:
    """Lines to add to a line of a literal block scalar's (`|`) content to get the line of the
    file it sits in; None for any other scalar style (its lines do not map)."""
    if isinstance(node, yaml.ScalarNode) and node.style == "|":
        return node.start_mark.line + 1
    return None
