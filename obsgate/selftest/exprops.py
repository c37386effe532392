"""Mutation operators on one text line of a PromQL expression (rules, SLI queries).

Each operator returns (column, old token, new token, description, equivalence reason or
None); the caller turns that into a one-line edit and drops any that no longer parse.
Tokens are found by text so the edit stays one line of the user's file; promql_parser is
used to prove equivalences and, by the caller, to reject mutants that do not parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import promql_parser as pp

from obsgate.promql import output_labels


class Edit(NamedTuple):
    col: int
    old: str
    new: str
    operator: str
    description: str
    equivalent: str | None = None


_COMPARISON = re.compile(r"(?<![=!~<>])(>=|<=|==|!=|>|<)(\s*)(\d+(?:\.\d+)?)(?![\w.])")
_EDGE = {">": ">=", ">=": ">", "<": "<=", "<=": "<", "==": "!=", "!=": "=="}
_MATCHER = re.compile(r'([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")')
_NEGATED = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}
_GROUPING = re.compile(r"\b(by|without)\s*\(([^)]*)\)")
_RANGE = re.compile(r"\[(\d+[smhdwy])(?=[\]:])")
# Labels whose values are HTTP status codes: three digits, 100 to 599.
STATUS_CODE_LABELS = ("status_code", "code", "status", "http_status_code")
STATUS_CODES = tuple(str(c) for c in range(100, 600))


def _outside_quotes(line: str, pos: int) -> bool:
    return line[:pos].count('"') % 2 == 0


def _in_braces(line: str, pos: int) -> bool:
    prefix = line[:pos].replace("{{", "").replace("}}", "")
    return prefix.count("{") > prefix.count("}")


def nudged(number: str, up: bool) -> str | None:
    """`number` moved by one unit of its last written digit: 0.05 -> 0.06, 80 -> 79."""
    decimals = len(number.split(".")[1]) if "." in number else 0
    value = round(float(number) + (1 if up else -1) * 10**-decimals, decimals)
    if value < 0:
        return None
    return f"{value:.{decimals}f}"


def comparisons(line: str) -> Iterator[Edit]:
    """The comparison moved onto its edge (`>` -> `>=`), and the threshold nudged one step
    the way that makes the alert harder to fire (`> 0.05` -> `> 0.06`)."""
    for m in _COMPARISON.finditer(line):
        if not _outside_quotes(line, m.start()) or _in_braces(line, m.start()):
            continue
        op, _, number = m.groups()
        yield Edit(m.start(1), op, _EDGE[op], "comparison", f"`{op}` became `{_EDGE[op]}`")
        bigger = op in (">", ">=", "==", "!=")
        moved = nudged(number, up=bigger)
        if moved is not None:
            yield Edit(
                m.start(3), number, moved, "threshold",
                f"threshold {number} nudged to {moved}",
            )  # fmt: skip


def _regex_equivalent(label: str, old: str, new: str) -> str | None:
    """Why two regex matchers select the same series, when provable from the label's domain."""
    if label not in STATUS_CODE_LABELS:
        return None
    try:
        a, b = re.compile(old), re.compile(new)
    except re.error:
        return None
    if all(bool(a.fullmatch(c)) == bool(b.fullmatch(c)) for c in STATUS_CODES):
        return (
            f"`{label}` holds 3-digit HTTP status codes; {old!r} and {new!r} match the same "
            "ones among 100-599 (Prometheus anchors regex matchers)"
        )
    return None


def matchers(line: str) -> Iterator[Edit]:
    """Each selector matcher dropped, negated and widened; a regex of trailing `.` wildcards
    loosened to `.*` (e.g. `5..` -> `5.*`), equivalent where the label's values prove it."""
    for m in _MATCHER.finditer(line):
        if not _in_braces(line, m.start()) or not _outside_quotes(line, m.start()):
            continue
        name, op, quoted = m.groups()
        text = m.group(0)
        value = quoted[1:-1]
        rest = line[m.end() :]
        comma_after = re.match(r"\s*,\s*", rest)
        if comma_after:
            dropped_old, dropped_col = text + comma_after.group(0), m.start()
        else:
            before = re.search(r",\s*$", line[: m.start()])
            start = before.start() if before else m.start()
            dropped_old, dropped_col = line[start : m.end()], start
        yield Edit(dropped_col, dropped_old, "", "matcher-drop", f"matcher {text} dropped")
        negated = f'{name}{_NEGATED[op]}"{value}"'
        yield Edit(m.start(), text, negated, "matcher-negate", f"matcher {text} negated")
        if op in ("=", "=~") and value != ".*":
            yield Edit(m.start(), text, f'{name}=~".*"', "matcher-widen", f"matcher {text} widened")
        if op == "=~" and value.endswith(".") and not value.endswith("\\."):
            loose = value.rstrip(".") + ".*"
            if loose != value:
                yield Edit(
                    m.start(), text, f'{name}=~"{loose}"', "matcher-widen",
                    f"regex {value!r} loosened to {loose!r}",
                    _regex_equivalent(name, value, loose),
                )  # fmt: skip


def _carried(expr: str, labels: list[str]) -> frozenset[str] | None:
    """The labels the input of the aggregation grouped by exactly `labels` carries; None when
    unknown (a raw selector carries whatever its series have)."""
    try:
        tree = pp.parse(expr)
    except Exception:  # the caller validates; no proof without a parse
        return None
    found: list[Any] = []

    def visit(node: Any) -> None:
        mod = getattr(node, "modifier", None) if isinstance(node, pp.AggregateExpr) else None
        if mod is not None and mod.type == pp.AggModifierType.By and list(mod.labels) == labels:
            found.append(node)

    pp.walk(tree, visit, None)
    if len(found) != 1:
        return None
    return output_labels(str(found[0].expr))


def groupings(line: str, expr: str) -> Iterator[Edit]:
    """Each label of a `by (...)`/`without (...)` removed; equivalent when the aggregation's
    input provably never carries it (then grouping by it changes nothing)."""
    for m in _GROUPING.finditer(line):
        if not _outside_quotes(line, m.start()):
            continue
        kind, inside = m.groups()
        labels = [x.strip() for x in inside.split(",") if x.strip()]
        for label in labels:
            kept = ", ".join(x for x in labels if x != label)
            new = f"{kind} ({kept})"
            why = None
            if kind == "by":
                carried = _carried(expr, labels)
                if carried is not None and label not in carried:
                    why = f"the input of `{m.group(0)}` never carries `{label}`"
            yield Edit(
                m.start(), m.group(0), new, "by-label",
                f"`{label}` removed from `{m.group(0)}`", why,
            )  # fmt: skip


def ranges(line: str) -> Iterator[Edit]:
    """Each range window shortened to 1m (a 1m window lengthened to 5m)."""
    for m in _RANGE.finditer(line):
        if not _outside_quotes(line, m.start()):
            continue
        old = m.group(1)
        new = "5m" if old == "1m" else "1m"
        yield Edit(m.start(1), old, new, "range", f"range window [{old}] became [{new}]")


def expr_edits(line: str, expr: str) -> Iterator[Edit]:
    """Every operator on one line of an expression (`expr`: the whole expression)."""
    yield from comparisons(line)
    yield from matchers(line)
    yield from groupings(line, expr)
    yield from ranges(line)
