"""Prometheus rules wherever a team keeps them: plain rule files (any number of documents) and
prometheus-operator `PrometheusRule` objects (alone, several per file, or in a `kind: List`).

promtool and Prometheus read only plain rule files, so every group list that is not already
one whole file is materialized into a plain file whose line numbers are the user's: the
`groups:` key sits on the line before the first group and the groups' own lines follow
verbatim. Replacing the materialized path by the user's (`RuleSource.origin`) then turns any
message promtool or Prometheus gives into one about the user's file and line.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from obsgate.config.files import (
    Located,
    err,
    kube_kind,
    kube_name,
    last_line,
    located_documents,
    parse_duration,
    value_node,
)
from obsgate.errors import ConfigError

OPERATOR_API = "monitoring.coreos.com/v1"
EXPECTED = (
    "a Prometheus rule file (`groups: [...]`) or a PrometheusRule "
    f"(apiVersion: {OPERATOR_API}, spec.groups)"
)


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


@dataclass(frozen=True)
class RuleSource:
    """One plain rule file as promtool and Prometheus load it. `path` is the user's own file
    or one materialized from it; `origin` is the user's file, whose line numbers `path`
    keeps; `obj` names the Kubernetes object it came from ("" for a plain file)."""

    path: Path
    origin: Path
    obj: str = ""
    groups: Located | None = field(default=None, compare=False, hash=False, repr=False)


def materialized_dir(origin: Path, cache: Path) -> Path:
    """The cache folder for one user file's materialized rules (stable per file)."""
    digest = hashlib.sha256(str(origin).encode()).hexdigest()[:16]
    return cache / "rules" / f"{origin.stem}-{digest}"


def read_rule_file(path: Path, cache: Path) -> list[RuleSource]:
    """Every rule group list of a file, as plain rule files; one line naming file:line and what
    was expected for a document that is not rules."""
    docs = located_documents(path)
    if not docs:
        raise ConfigError(f"{path}:1: no rules in the file (expected {EXPECTED})")
    if len(docs) == 1 and _is_plain(docs[0].data):
        groups = docs[0].child("groups")
        return [RuleSource(path, path, "", groups)]
    found: list[tuple[Located, str]] = []
    for doc in docs:
        found.extend(_groups_of(doc))
    out = []
    folder = materialized_dir(path, cache)
    for i, (groups, obj) in enumerate(found):
        target = folder / f"{path.stem}.{i}.yaml"
        _write_if_changed(target, _plain_text(groups))
        out.append(RuleSource(target, path, obj, groups))
    return out


def _is_plain(data: Any) -> bool:
    return isinstance(data, dict) and "groups" in data and kube_kind(data) is None


def _groups_of(doc: Located) -> list[tuple[Located, str]]:
    """(groups, object name) of one document: plain, a PrometheusRule or a List of them."""
    data = doc.data
    if _is_plain(data):
        return [(_groups_list(doc.child("groups"), doc, "groups"), "")]
    kind = kube_kind(data)
    if kind is not None and data["kind"] == "List":
        out: list[tuple[Located, str]] = []
        items = doc.child("items")
        for item in items.items() if items is not None else []:
            out.extend(_groups_of(item))
        return out
    if kind is not None and data["kind"] == "PrometheusRule":
        obj = f"PrometheusRule {kube_name(data)}"
        if data["apiVersion"] != OPERATOR_API:
            raise doc.error(f"{obj} has apiVersion {data['apiVersion']}", f"use {OPERATOR_API}")
        spec = doc.child("spec")
        if spec is None or not isinstance(spec.data, dict):
            raise doc.error(f"{obj} has no spec", "give spec.groups: [...]")
        return [(_groups_list(spec.child("groups"), spec, f"{obj}: spec.groups"), obj)]
    what = f"a {kind}" if kind else "a document without `groups:`"
    raise doc.error(f"{what}, not rules", f"expected {EXPECTED}")


def _groups_list(groups: Located | None, parent: Located, what: str) -> Located:
    if groups is None or not isinstance(groups.data, list):
        at = groups or parent
        raise at.error(f"{what} is not a list of rule groups", "a rule file is `groups: [...]`")
    return groups


def _plain_text(groups: Located) -> str:
    """A plain rule file holding `groups`, each line at the line number it has in its file."""
    node = groups.node
    first = node.start_mark.line  # 0-based line of the first group
    end = last_line(node)
    header = f"# materialized by obs-gate from {groups.path}; line numbers are that file's"
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and first >= 1 and node.value:
        lines = groups.text.splitlines()
        body = lines[first : end + 1]
        pad = [header] + [""] * (first - 2) if first >= 2 else []
        return "\n".join([*pad, "groups:", *body]) + "\n"
    # Flow style or empty: same content, lines not kept (errors then point at the list).
    key_line = max(first, 1)
    dumped = yaml.safe_dump({"groups": groups.data}, sort_keys=False)
    return "\n".join([header] + [""] * (key_line - 2)) + "\n" + dumped


def _write_if_changed(target: Path, text: str) -> None:
    """Atomic, and untouched when unchanged, so concurrent workers and threads can share
    the cache: each write goes through a temp file of its own (a name from the pid alone
    was shared by two threads of one run, and the second rename found it gone)."""
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, target)


def parse_groups(source: RuleSource) -> list[AlertRule | RecordingRule]:
    """Validate a rule group list as Prometheus would, keeping each rule's line in the
    user's file."""
    path, groups = source.origin, source.groups
    if groups is None or not isinstance(groups.data, list):
        node = groups.node if groups is not None else None
        raise err(path, node, "no 'groups:' list", "a rule file is `groups: [...]`")
    out: list[AlertRule | RecordingRule] = []
    for g in groups.items():
        gdata, gnode = g.data, g.node
        gname = gdata.get("name") if isinstance(gdata, dict) else None
        rules = gdata.get("rules") if isinstance(gdata, dict) else None
        rules_node = value_node(gnode, "rules")
        if not gname or not isinstance(rules, list) or rules_node is None:
            raise err(path, gnode, "rule group without 'name' or 'rules' list", "give both")
        interval = None
        if gdata.get("interval") is not None:
            try:
                interval = parse_duration(gdata["interval"])
            except ValueError as exc:
                node = value_node(gnode, "interval")
                raise err(path, node, f"group {gname}: {exc}", "fix the interval") from None
        for rdata, rnode in zip(rules, rules_node.value, strict=True):
            out.append(_parse_rule(path, str(gname), interval, rdata, rnode))
    return out


def _str_map(
    path: Path, rnode: yaml.Node, rdata: dict[str, Any], key: str, who: str
) -> dict[str, str]:
    """A rule's labels or annotations as str -> str; a non-mapping is a ConfigError."""
    value = rdata.get(key) or {}
    if not isinstance(value, dict):
        raise err(path, value_node(rnode, key), f"{who}: '{key}' is not a mapping", "fix it")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _parse_rule(
    path: Path, group: str, interval: float | None, rdata: Any, rnode: yaml.Node
) -> AlertRule | RecordingRule:
    """One rule entry: exactly one of alert/record, an expr that parses, durations that parse."""
    if not isinstance(rdata, dict):
        raise err(
            path, rnode, f"group {group}: rule is not a mapping", "each rule is `- alert: ...`"
        )
    name = rdata.get("alert") or rdata.get("record")
    if not name or ("alert" in rdata and "record" in rdata):
        raise err(
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
        raise err(path, rnode, f"{kind} {name}: missing 'expr'", "give a PromQL expression")
    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        raise err(
            path, value_node(rnode, "expr"), f"{kind} {name}: bad PromQL: {exc}", "fix the expr"
        ) from None
    labels = _str_map(path, rnode, rdata, "labels", f"{kind} {name}")
    line = rnode.start_mark.line + 1
    if kind == "record":
        return RecordingRule(group, interval, str(name), expr, labels, path, line)
    try:
        for_seconds = parse_duration(rdata["for"]) if rdata.get("for") is not None else 0.0
    except ValueError as exc:
        raise err(
            path, value_node(rnode, "for"), f"alert {name}: bad 'for': {exc}", "fix the duration"
        ) from None
    annotations = _str_map(path, rnode, rdata, "annotations", f"alert {name}")
    return AlertRule(group, interval, str(name), expr, for_seconds, labels, annotations, path, line)
