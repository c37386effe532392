"""Load the config under test (the `--obs-config` dir) and fail in one line naming file:line.

Every suite reads its artifacts through `ObsConfig`, so a user pointing the gate at their own
config repo gets the same validation and the same precise errors, never a traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from obsgate.errors import ConfigError
from obsgate.options import DEFAULT_CONFIG_DIR

APP_SETTINGS = {
    "logging": "logging/redaction.yaml",
    "tracing": "tracing/propagation.yaml",
    "metrics": "metrics/instrumentation.yaml",
}

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


def _read(path: Path) -> str:
    """Text of a config file, or a one-line ConfigError if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (create it or fix --obs-config)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc} (check the file)") from None


def _yaml_error(path: Path, exc: yaml.YAMLError) -> ConfigError:
    """Turn a YAML error into `<path>:<line>:<col>: <problem> (<what to do>)`."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if context:
        problem = f"{problem} {context}"
    return ConfigError(f"{where}: {problem} (fix the YAML syntax)")


def load_yaml(path: Path) -> Any:
    """One YAML document; a multi-document file is an error (use load_yaml_documents)."""
    text = _read(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None


def load_yaml_documents(path: Path) -> list[Any]:
    """All documents of a `---`-separated file, empty documents dropped."""
    text = _read(path)
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None


def load_json(path: Path) -> Any:
    """A JSON file, with the JSON error's line and column in the message."""
    text = _read(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg} (fix the JSON)") from None


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule with where it came from, so a failing test can point at its line."""

    group: str
    group_interval: float | None
    name: str
    expr: str
    for_seconds: float
    labels: dict[str, str] = field(hash=False)
    annotations: dict[str, str] = field(hash=False)
    file: Path
    line: int


@dataclass(frozen=True)
class RecordingRule:
    """One recording rule; the SLO suite checks those generated for SLIs."""

    group: str
    group_interval: float | None
    name: str
    expr: str
    labels: dict[str, str] = field(hash=False)
    file: Path
    line: int


def _value_node(node: yaml.Node, key: str) -> yaml.Node | None:
    """The value node for `key` in a mapping node (None if absent or not a mapping)."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _err(path: Path, node: yaml.Node | None, what: str, fix: str) -> ConfigError:
    """`<file>:<line>: <what> (<fix>)`, the line taken from the YAML node's mark."""
    line = node.start_mark.line + 1 if node is not None else 1
    return ConfigError(f"{path}:{line}: {what} ({fix})")


class ObsConfig:
    """The artifacts under test, read from one directory laid out as the seed gives them."""

    def __init__(self, root: Path) -> None:
        root = Path(root)
        if not root.is_dir():
            raise ConfigError(
                f"{root}: config dir not found (pass --obs-config DIR or set OBS_CONFIG_DIR; "
                f"default {DEFAULT_CONFIG_DIR})"
            )
        self.root = root.resolve()

    def __repr__(self) -> str:
        return f"ObsConfig({str(self.root)!r})"

    @property
    def scenarios_dir(self) -> Path:
        """Intent scenarios live beside the config they test, as promtool tests do."""
        return self.root / "scenarios"

    def path(self, rel: str) -> Path:
        """Absolute path of an artifact; ConfigError naming it if the config lacks it."""
        p = self.root / rel
        if not p.exists():
            raise ConfigError(f"{p}: file not found (the --obs-config dir must contain {rel})")
        return p

    def _mapping(self, rel: str) -> dict[str, Any]:
        data = load_yaml(self.path(rel))
        if not isinstance(data, dict):
            raise ConfigError(f"{self.root / rel}:1:1: expected a mapping (fix the file)")
        return data

    def policy(self) -> Any:
        """The conventions the checks enforce (obsgate/config/policy.py)."""
        from obsgate.config.policy import load_policy  # the policy module reads through this one

        return load_policy(self.root)

    def prometheus(self) -> dict[str, Any]:
        return self._mapping("prometheus/prometheus.yaml")

    def alertmanager(self) -> dict[str, Any]:
        return self._mapping("alertmanager/alertmanager.yaml")

    def app_settings(self, name: str) -> dict[str, Any]:
        """App-level settings the seed gives as code: "logging", "tracing" or "metrics"."""
        if name not in APP_SETTINGS:
            raise ConfigError(f"unknown app settings {name!r} (use one of {sorted(APP_SETTINGS)})")
        return self._mapping(APP_SETTINGS[name])

    def rule_files(self) -> list[Path]:
        rules_dir = self.root / "prometheus" / "rules"
        files = sorted(rules_dir.glob("*.yaml"))
        if not files:
            raise ConfigError(f"{rules_dir}: no *.yaml rule files (add prometheus rule files)")
        return files

    def alert_rules(self) -> list[AlertRule]:
        return [r for r in self._rules() if isinstance(r, AlertRule)]

    def recording_rules(self) -> list[RecordingRule]:
        return [r for r in self._rules() if isinstance(r, RecordingRule)]

    def _rules(self) -> list[AlertRule | RecordingRule]:
        out: list[AlertRule | RecordingRule] = []
        for f in self.rule_files():
            out.extend(_parse_rule_file(f))
        return out


def _parse_rule_file(path: Path) -> list[AlertRule | RecordingRule]:
    """Validate a Prometheus rule file as Prometheus would, keeping each rule's line."""
    data = load_yaml(path)
    root = yaml.compose(path.read_text(encoding="utf-8"))  # same text, so nodes align with data
    groups = data.get("groups") if isinstance(data, dict) else None
    groups_node = _value_node(root, "groups") if root is not None else None
    if not isinstance(groups, list) or not isinstance(groups_node, yaml.SequenceNode):
        raise _err(path, groups_node or root, "no 'groups:' list", "a rule file is `groups: [...]`")
    out: list[AlertRule | RecordingRule] = []
    for gdata, gnode in zip(groups, groups_node.value, strict=True):
        gname = gdata.get("name") if isinstance(gdata, dict) else None
        rules = gdata.get("rules") if isinstance(gdata, dict) else None
        rules_node = _value_node(gnode, "rules")
        if not gname or not isinstance(rules, list) or rules_node is None:
            raise _err(path, gnode, "rule group without 'name' or 'rules' list", "give both")
        interval = None
        if gdata.get("interval") is not None:
            try:
                interval = parse_duration(gdata["interval"])
            except ValueError as exc:
                node = _value_node(gnode, "interval")
                raise _err(path, node, f"group {gname}: {exc}", "fix the interval") from None
        for rdata, rnode in zip(rules, rules_node.value, strict=True):
            out.append(_parse_rule(path, str(gname), interval, rdata, rnode))
    return out


def _str_map(
    path: Path, rnode: yaml.Node, rdata: dict[str, Any], key: str, who: str
) -> dict[str, str]:
    """A rule's labels or annotations as str -> str; a non-mapping is a ConfigError."""
    value = rdata.get(key) or {}
    if not isinstance(value, dict):
        raise _err(path, _value_node(rnode, key), f"{who}: '{key}' is not a mapping", "fix it")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _parse_rule(
    path: Path, group: str, interval: float | None, rdata: Any, rnode: yaml.Node
) -> AlertRule | RecordingRule:
    """One rule entry: exactly one of alert/record, an expr that parses, durations that parse."""
    if not isinstance(rdata, dict):
        raise _err(
            path, rnode, f"group {group}: rule is not a mapping", "each rule is `- alert: ...`"
        )
    name = rdata.get("alert") or rdata.get("record")
    if not name or ("alert" in rdata and "record" in rdata):
        raise _err(
            path,
            rnode,
            f"group {group}: rule needs exactly one of 'alert' or 'record'",
            "name the rule",
        )
    kind = "alert" if "alert" in rdata else "record"
    expr = rdata.get("expr")
    if isinstance(expr, int | float) and not isinstance(expr, bool):
        expr = str(expr)  # Prometheus reads `expr: 1` as the string "1"
    if not isinstance(expr, str) or not expr.strip():
        raise _err(path, rnode, f"{kind} {name}: missing 'expr'", "give a PromQL expression")
    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        raise _err(
            path, _value_node(rnode, "expr"), f"{kind} {name}: bad PromQL: {exc}", "fix the expr"
        ) from None
    labels = _str_map(path, rnode, rdata, "labels", f"{kind} {name}")
    line = rnode.start_mark.line + 1
    if kind == "record":
        return RecordingRule(group, interval, str(name), expr, labels, path, line)
    try:
        for_seconds = parse_duration(rdata["for"]) if rdata.get("for") is not None else 0.0
    except ValueError as exc:
        raise _err(
            path, _value_node(rnode, "for"), f"alert {name}: bad 'for': {exc}", "fix the duration"
        ) from None
    annotations = _str_map(path, rnode, rdata, "annotations", f"alert {name}")
    return AlertRule(group, interval, str(name), expr, for_seconds, labels, annotations, path, line)
