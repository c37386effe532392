"""One-line mutants of a config under test: rules, the Alertmanager config (routes,
receivers, inhibit rules) and SLO specs here; the services' instrumentation and the
dashboards in obsgate/selftest/appmutants.py.

A mutant is a single line of one of the user's files replaced by another, so the report can
show it as a one-line diff and a team can reproduce it by hand. Positions come from the YAML
nodes (so a CRD or a Sloth spec is read as such); edits are text, and a mutant is kept only
if the file still loads as YAML and every query in it still parses.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser as pp
import yaml

from obsgate.config import ObsConfig
from obsgate.config.files import parse_duration, read_text
from obsgate.dashboards import promql_of
from obsgate.selftest.appmutants import (
    DASHBOARD_OPERATORS,
    INSTRUMENTATION_OPERATORS,
    PROPAGATION_OPERATORS,
    REDACTION_OPERATORS,
    dashboard_mutants,
    dashboard_queries,
    service_mutants,
)
from obsgate.selftest.exprops import Edit, expr_edits, matchers, nudged
from obsgate.selftest.mutant import Mutant

RULE_OPERATORS = ("comparison", "threshold", "for", "matcher-drop", "matcher-negate",
                  "matcher-widen", "by-label", "range", "routing-label", "annotation")  # fmt: skip
ALERTMANAGER_OPERATORS = ("am-matcher", "continue", "receiver", "group-by", "timing",
                          "integration", "inhibit-matcher", "inhibit-equal")  # fmt: skip
SLO_OPERATORS = ("slo-objective", "slo-query", "slo-label")
APP_OPERATORS = (*REDACTION_OPERATORS, *PROPAGATION_OPERATORS, *INSTRUMENTATION_OPERATORS)
_ALL = (*RULE_OPERATORS, *ALERTMANAGER_OPERATORS, *SLO_OPERATORS, *APP_OPERATORS)
OPERATORS = tuple(dict.fromkeys((*_ALL, *DASHBOARD_OPERATORS)))
QUERY_KEYS = ("expr", "errorQuery", "totalQuery")
_TIMINGS = ("group_wait", "group_interval", "repeat_interval", "resolve_timeout")
RESOLVE_TIMEOUT_EQUIVALENT = (
    "Alertmanager applies resolve_timeout only to alerts that arrive without an end time; "
    "Prometheus sends one with every alert (4 x the larger of its evaluation interval and "
    "resend delay ahead), so alerts from the config's rules resolve the same"
)
_INHIBIT_MATCHES = ("source_match", "target_match", "source_match_re", "target_match_re")


@dataclass
class Vocabulary:
    """Values the config itself uses, so a changed value is one a real typo could give."""

    labels: dict[str, set[str]] = field(default_factory=dict)
    receivers: list[str] = field(default_factory=list)
    channels: set[str] = field(default_factory=set)
    alerts: set[str] = field(default_factory=set)

    def add(self, key: str, value: Any) -> None:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            self.labels.setdefault(key, set()).add(str(value))

    def other(self, key: str, value: str) -> str | None:
        """The next value after `value` (sorted, cyclic) of the same key, None if none."""
        pool = sorted(self.alerts if key == "alertname" else self.labels.get(key, set()))
        others = [v for v in pool if v != value]
        if not others:
            return None
        later = [v for v in others if v > value]
        return (later or others)[0]


# -- YAML helpers -------------------------------------------------------------------------


def _items(node: yaml.Node) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                yield k.value, k, v


def _get(node: yaml.Node | None, *keys: str) -> yaml.Node | None:
    for key in keys:
        node = next((v for k, _, v in _items(node) if k == key), None) if node else None
    return node


def _mappings(node: yaml.Node) -> Iterator[yaml.MappingNode]:
    if isinstance(node, yaml.MappingNode):
        yield node
        for _, _, v in _items(node):
            yield from _mappings(v)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            yield from _mappings(v)


def _one_line(node: yaml.Node) -> bool:
    return node.start_mark.line == node.end_mark.line


def _scalar_text(value: str, like: yaml.ScalarNode) -> str:
    """`value` written in the quoting style of `like`, quoted if plain would change it."""
    if like.style is None:  # plain: keep it plain when it still loads as the same type
        before, after = yaml.safe_load(f"k: {like.value}"), yaml.safe_load(f"k: {value}")
        if isinstance(after, dict) and type(after.get("k")) is type(before.get("k")):
            return value
    if like.style == "'":
        return "'" + value.replace("'", "''") + "'"
    if like.style == '"':
        return json.dumps(value)
    if yaml.safe_load(f"k: {value}") == {"k": value}:
        return value
    return "'" + value.replace("'", "''") + "'"


class FileMutator:
    """The mutants of one file; `text` is the YAML read (a whole file, or an Alertmanager
    config embedded in a Kubernetes object, whose lines keep their numbers)."""

    def __init__(self, part: str, path: Path, root: Path, text: str | None = None) -> None:
        self.part = part
        self.path = path
        self.rel = str(path.relative_to(root))
        self.file_lines = read_text(path).split("\n")
        self.text = text if text is not None else "\n".join(self.file_lines)
        self.text_lines = self.text.split("\n")
        self.found: list[Mutant] = []

    def edit(self, line0: int, e: Edit, subject: str = "") -> None:
        """Apply edit `e` at (line0, e.col) of the read text, mapped onto the user's file line."""
        text_line = self.text_lines[line0]
        file_line = self.file_lines[line0]
        if not file_line.endswith(text_line) or text_line[e.col : e.col + len(e.old)] != e.old:
            return
        at = e.col + len(file_line) - len(text_line)
        changed = file_line[:at] + e.new + file_line[at + len(e.old) :]
        if changed == file_line:
            return
        self.found.append(Mutant(self.part, self.rel, line0 + 1, file_line, changed, e.operator,
                                 e.description, subject, e.equivalent))  # fmt: skip

    def scalar(self, node: yaml.Node, new: str, operator: str, description: str,
               subject: str = "") -> None:  # fmt: skip
        """Replace a one-line scalar's written text with `new` (a plain value, quoted alike)."""
        if not isinstance(node, yaml.ScalarNode) or not _one_line(node):
            return
        line, start, end = node.start_mark.line, node.start_mark.column, node.end_mark.column
        written = self.text_lines[line][start:end]
        self.edit(
            line, Edit(start, written, _scalar_text(new, node), operator, description), subject
        )

    def flow_list(self, node: yaml.Node, operator: str, what: str, subject: str) -> None:
        """Each item of a one-line flow list removed, and the list emptied."""
        if not isinstance(node, yaml.SequenceNode) or not node.flow_style or not _one_line(node):
            return
        line, start, end = node.start_mark.line, node.start_mark.column, node.end_mark.column
        written = self.text_lines[line][start:end]
        items = [n for n in node.value if isinstance(n, yaml.ScalarNode)]
        texts = [self.text_lines[line][n.start_mark.column : n.end_mark.column] for n in items]
        for i, item in enumerate(items):
            kept = ", ".join(t for j, t in enumerate(texts) if j != i)
            removed = f"{item.value!r} removed from {what}"
            self.edit(line, Edit(start, written, f"[{kept}]", operator, removed), subject)
        if len(items) > 1:
            self.edit(line, Edit(start, written, "[]", operator, f"{what} emptied"), subject)

    def lines_of(self, node: yaml.Node) -> list[int]:
        """The read text's lines (0-based) holding a scalar's content."""
        if node.style in ("|", ">"):
            return [i for i in range(node.start_mark.line + 1, node.end_mark.line + 1)
                    if i < len(self.text_lines) and self.text_lines[i].strip()]  # fmt: skip
        return list(range(node.start_mark.line, node.end_mark.line + 1))

    def query(self, node: yaml.Node, subject: str, ops: Callable[[str, str], Iterator[Edit]],
              rename: str | None = None) -> None:  # fmt: skip
        """Line operators over every line of a query scalar."""
        if not isinstance(node, yaml.ScalarNode):
            return
        for i in self.lines_of(node):
            for e in ops(self.text_lines[i], node.value):
                self.edit(i, e._replace(operator=rename or e.operator), subject)


# -- rules --------------------------------------------------------------------------------


def _duration_text(seconds: float) -> str:
    out, rest = "", int(seconds)
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out or "0s"


def _rule_mutants(m: FileMutator, vocab: Vocabulary) -> None:
    for doc in yaml.compose_all(m.text):
        for rule in _mappings(doc):
            alert, expr = _get(rule, "alert"), _get(rule, "expr")
            if not isinstance(alert, yaml.ScalarNode) or expr is None:
                continue
            name = alert.value
            m.query(expr, name, expr_edits)
            _durations(m, _get(rule, "for"), "for", name)
            for key, _, value in _items(_get(rule, "labels")):
                other = (
                    vocab.other(key, value.value) if isinstance(value, yaml.ScalarNode) else None
                )
                if other is not None and len(vocab.labels.get(key, ())) > 1:
                    m.scalar(value, other, "routing-label", f"label {key} {value.value} -> {other}",
                             name)  # fmt: skip
            for key, _, value in _items(_get(rule, "annotations")):
                _annotation(m, key, value, name)


def _durations(m: FileMutator, node: yaml.Node | None, operator: str, subject: str,
               equivalent: str | None = None) -> None:  # fmt: skip
    """A duration halved and doubled; `0s` stays (halving or doubling it changes nothing)."""
    if not isinstance(node, yaml.ScalarNode):
        return
    try:
        seconds = parse_duration(node.value)
    except ValueError:
        return
    if seconds == 0:
        return
    key = "for" if operator == "for" else operator
    before = len(m.found)
    for factor, how in ((0.5, "halved"), (2, "doubled")):
        new = _duration_text(seconds * factor)
        m.scalar(node, new, operator, f"{key} {node.value} {how} to {new}", subject)
    if equivalent:  # the two just made, with why they behave as the original
        m.found[before:] = [dataclasses.replace(x, equivalent=equivalent) for x in m.found[before:]]


def _annotation(m: FileMutator, key: str, node: yaml.Node, subject: str) -> None:
    if not isinstance(node, yaml.ScalarNode) or not _one_line(node):
        return
    line = node.start_mark.line
    text = m.text_lines[line]
    found = re.search(r"\$labels\.(\w+)", text[node.start_mark.column :])
    if found:
        col = node.start_mark.column + found.start()
        typo = found.group(0) + "_typo"
        what = f"{key}: {found.group(0)} -> {typo}"
        m.edit(line, Edit(col, found.group(0), typo, "annotation", what), subject)
    value = re.search(r"\$value\b", text[node.start_mark.column :])
    if value:
        col = node.start_mark.column + value.start()
        m.edit(line, Edit(col, "$value", "0", "annotation", f"{key}: $value -> 0"), subject)


# -- Alertmanager -------------------------------------------------------------------------


def _route_mutants(m: FileMutator, route: yaml.Node, vocab: Vocabulary, where: str) -> None:
    receiver = _get(route, "receiver")
    if isinstance(receiver, yaml.ScalarNode):
        other = next((r for r in vocab.receivers if r != receiver.value), None)
        if other:
            m.scalar(receiver, other, "receiver", f"receiver {receiver.value} -> {other}", where)
    cont = _get(route, "continue")
    if isinstance(cont, yaml.ScalarNode) and cont.value in ("true", "false"):
        flipped = "false" if cont.value == "true" else "true"
        m.scalar(cont, flipped, "continue", f"continue {cont.value} -> {flipped}", where)
    group_by = _get(route, "group_by")
    if group_by is not None:
        m.flow_list(group_by, "group-by", "group_by", where)
    for timing in _TIMINGS:
        _durations(m, _get(route, timing), "timing", where)
    for key in ("match", "match_re"):
        for label, _, value in _items(_get(route, key)):
            other = vocab.other(label, value.value) if isinstance(value, yaml.ScalarNode) else None
            if other:
                m.scalar(value, other, "am-matcher", f"{key} {label}: {value.value} -> {other}",
                         where)  # fmt: skip
    for item in getattr(_get(route, "matchers"), "value", None) or []:
        _matcher_string(m, item, vocab, "am-matcher", where)
    for i, child in enumerate(getattr(_get(route, "routes"), "value", None) or []):
        _route_mutants(m, child, vocab, f"{where}.routes[{i}]")


def _matcher_string(m: FileMutator, node: yaml.Node, vocab: Vocabulary, operator: str,
                    where: str) -> None:  # fmt: skip
    """`label="value"` in a `matchers` list: the value swapped for another of the label's."""
    if not isinstance(node, yaml.ScalarNode):
        return
    found = re.fullmatch(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"?([^"]*)"?\s*', node.value)
    if not found:
        return
    other = vocab.other(found.group(1), found.group(3))
    if other:
        new = node.value.replace(found.group(3), other, 1)
        m.scalar(node, new, operator, f"matcher {node.value} -> {new}", where)


def _receiver_mutants(m: FileMutator, receiver: yaml.Node, vocab: Vocabulary) -> None:
    name = getattr(_get(receiver, "name"), "value", "?")
    for key, _, configs in _items(receiver):
        if not key.endswith("_configs") or not isinstance(configs, yaml.SequenceNode):
            continue
        for conf in configs.value:
            channel = _get(conf, "channel")
            if isinstance(channel, yaml.ScalarNode):
                other = next((c for c in sorted(vocab.channels) if c != channel.value), None)
                if other:
                    m.scalar(channel, other, "integration", f"channel {channel.value} -> {other}",
                             name)  # fmt: skip
            severity = _get(conf, "severity")
            if isinstance(severity, yaml.ScalarNode):
                new = "warning" if severity.value != "warning" else "critical"
                m.scalar(severity, new, "integration", f"{key} severity -> {new}", name)
            resolved = _get(conf, "send_resolved")
            if isinstance(resolved, yaml.ScalarNode) and resolved.value in ("true", "false"):
                new = "false" if resolved.value == "true" else "true"
                m.scalar(resolved, new, "integration", f"send_resolved -> {new}", name)


def _alertmanager_mutants(m: FileMutator, vocab: Vocabulary) -> None:
    doc = yaml.compose(m.text)
    for timing in _TIMINGS:
        same = RESOLVE_TIMEOUT_EQUIVALENT if timing == "resolve_timeout" else None
        _durations(m, _get(doc, "global", timing), "timing", "global", same)
    route = _get(doc, "route")
    if route is not None:
        _route_mutants(m, route, vocab, "route")
    for receiver in getattr(_get(doc, "receivers"), "value", None) or []:
        _receiver_mutants(m, receiver, vocab)
    for i, rule in enumerate(getattr(_get(doc, "inhibit_rules"), "value", None) or []):
        where = f"inhibit_rules[{i}]"
        for key in _INHIBIT_MATCHES:
            for label, _, value in _items(_get(rule, key)):
                if not isinstance(value, yaml.ScalarNode):
                    continue
                if key.endswith("_re"):
                    new = ".*" if value.value != ".*" else None
                else:
                    new = vocab.other(label, value.value)
                if new:
                    m.scalar(value, new, "inhibit-matcher",
                             f"{key} {label}: {value.value} -> {new}", where)  # fmt: skip
        for key in ("source_matchers", "target_matchers"):
            for item in getattr(_get(rule, key), "value", None) or []:
                _matcher_string(m, item, vocab, "inhibit-matcher", where)
        equal = _get(rule, "equal")
        if equal is not None:
            m.flow_list(equal, "inhibit-equal", "equal", where)


# -- SLOs ---------------------------------------------------------------------------------


def _objective(value: str) -> str | None:
    """An objective with ten times the error budget: 99.9 -> 99.0, 99.99 -> 99.9."""
    try:
        objective = float(value)
    except ValueError:
        return None
    new = 100 - (100 - objective) * 10
    if new <= 0 or objective >= 100:
        return None
    decimals = max(1, len(value.split(".")[1]) - 1 if "." in value else 1)
    return f"{new:.{decimals}f}"


def _slo_mutants(m: FileMutator, vocab: Vocabulary) -> None:
    for doc in yaml.compose_all(m.text):
        for slo in _mappings(doc):
            objective = _get(slo, "objective")
            if not isinstance(objective, yaml.ScalarNode) or _get(slo, "sli") is None:
                continue
            name = getattr(_get(slo, "name"), "value", "?")
            new = _objective(objective.value)
            if new:
                m.scalar(objective, new, "slo-objective", f"objective {objective.value} -> {new}",
                         name)  # fmt: skip
            events = _get(slo, "sli", "events")
            error, total = _get(events, "errorQuery"), _get(events, "totalQuery")
            if isinstance(error, yaml.ScalarNode) and isinstance(total, yaml.ScalarNode):
                e_lines, t_lines = m.lines_of(error), m.lines_of(total)
                if len(e_lines) == 1 and len(t_lines) == 1:
                    e, t = m.text_lines[e_lines[0]], m.text_lines[t_lines[0]]
                    e_query, t_query = error.value.strip(), total.value.strip()
                    col = e.find(e_query)
                    if col >= 0 and t_query in t:
                        what = "errorQuery replaced by the totalQuery"
                        m.edit(e_lines[0], Edit(col, e_query, t_query, "slo-query", what), name)
            for query in (error, total):
                if query is not None:
                    m.query(query, name, lambda line, _q: matchers(line), "slo-query")
            alerting = _get(slo, "alerting")
            for labels in (_get(alerting, "labels"), _get(alerting, "pageAlert", "labels"),
                           _get(alerting, "ticketAlert", "labels")):  # fmt: skip
                for key, _, value in _items(labels):
                    other = (
                        vocab.other(key, value.value)
                        if isinstance(value, yaml.ScalarNode)
                        else None
                    )
                    if other:
                        m.scalar(
                            value, other, "slo-label", f"alerting label {key} -> {other}", name
                        )


# -- driver -------------------------------------------------------------------------------


def vocabulary(config: ObsConfig) -> Vocabulary:
    """The label values, receivers, channels and alert names the config uses."""
    vocab = Vocabulary()
    if config.has("rules"):
        for rule in config.alert_rules():
            vocab.alerts.add(rule.name)
            for key, value in rule.labels.items():
                vocab.add(key, value)
    if config.has("alertmanager"):
        am = config.alertmanager()
        vocab.receivers = sorted(str(r.get("name")) for r in am.get("receivers") or [])

        def routes(route: dict[str, Any]) -> Iterator[dict[str, Any]]:
            yield route
            for child in route.get("routes") or []:
                yield from routes(child)

        for route in routes(am.get("route") or {}):
            for key, value in (route.get("match") or {}).items():
                vocab.add(key, value)
        for receiver in am.get("receivers") or []:
            for key, confs in receiver.items():
                for conf in confs if key.endswith("_configs") and isinstance(confs, list) else []:
                    if isinstance(conf, dict) and conf.get("channel"):
                        vocab.channels.add(str(conf["channel"]))
    return vocab


def _queries(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in QUERY_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _queries(value)
    elif isinstance(data, list):
        for value in data:
            yield from _queries(value)


def still_valid(mutant: Mutant, root: Path) -> bool:
    """The mutated file still loads (as YAML, or JSON for a dashboard) and each of its
    queries still parses. TypeScript is left to the services' build: a mutant that does not
    compile is refused by the gate, which names tsc's first error."""
    if mutant.file.endswith(".ts"):
        return True
    lines = read_text(root / mutant.file).split("\n")
    lines[mutant.line - 1] = mutant.new
    try:
        if mutant.file.endswith(".json"):
            docs = [json.loads("\n".join(lines))]
        else:
            docs = list(yaml.safe_load_all("\n".join(lines)))
    except (yaml.YAMLError, json.JSONDecodeError):
        return False
    for query in _queries(docs):
        try:
            pp.parse(promql_of(query.replace("{{.window}}", "5m")))
        except Exception:  # the binding raises ValueError, or a Rust panic
            return False
    return True


def generate(config: ObsConfig, operators: Collection[str] | None = None) -> list[Mutant]:
    """Every mutant of the config's rules, Alertmanager config, SLO specs, services and
    dashboards, in file order."""
    vocab = vocabulary(config)
    mutators: list[FileMutator] = []
    if config.has("rules"):
        for path in config.files("rules"):
            if path.is_relative_to(config.root):
                mutators.append(FileMutator("rules", path, config.root))
                _rule_mutants(mutators[-1], vocab)
    if config.has("alertmanager"):
        source = config.alertmanager_source()
        if source.lines_kept and source.origin.is_relative_to(config.root):
            mutators.append(FileMutator("alertmanager", source.origin, config.root, source.text))
            _alertmanager_mutants(mutators[-1], vocab)
    if config.has("slos"):
        for path in config.slo_files():
            if path.is_relative_to(config.root):
                mutators.append(FileMutator("slos", path, config.root))
                _slo_mutants(mutators[-1], vocab)
    wanted = set(operators or OPERATORS)
    seen: set[tuple[str, int, str]] = set()
    out: list[Mutant] = []
    found = [m for mutator in mutators for m in mutator.found]
    queries = [q for m in mutators for q in _queries(list(yaml.safe_load_all(m.text)))]
    queries += dashboard_queries(config)
    for mutant in [*found, *service_mutants(config, queries), *dashboard_mutants(config)]:
        key = (mutant.file, mutant.line, mutant.new)
        if mutant.operator in wanted and key not in seen and still_valid(mutant, config.root):
            seen.add(key)
            out.append(mutant)
    return out


__all__ = ["OPERATORS", "Mutant", "generate", "nudged", "still_valid", "vocabulary"]
