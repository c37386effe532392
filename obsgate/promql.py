"""PromQL read by a real parser (promql-parser): selectors for the universal checks, and the
time-scaled, scenario-isolated copy of the rules that the live layer loads into Prometheus.

Time scaling divides every duration (range selectors, subqueries, offsets, `for`, group
intervals) by one factor F. A per-second rate measured on a clock F times faster is F times
larger, so `rate`, `irate` and `deriv` are divided by F as well; `increase` and
`*_over_time` are counts and levels and stay as they are. Isolation adds one label to every
aggregation's `by` (and to `on(...)` matching), so concurrent scenarios never mix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import promql_parser as pp

from obsgate.errors import ConfigError

PER_SECOND_FUNCTIONS = ("rate", "irate", "deriv")
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


@dataclass(frozen=True)
class Selector:
    """One vector selector of a query: metric name and its label matchers (name, op, value)."""

    metric: str | None
    matchers: tuple[tuple[str, str, str], ...]

    def equals(self) -> dict[str, str]:
        return {n: v for n, op, v in self.matchers if op == "="}

    def text(self) -> str:
        """The selector as PromQL, its matchers in their order."""
        body = ",".join(f"{n}{op}{json.dumps(v)}" for n, op, v in self.matchers)
        return f"{self.metric or ''}{{{body}}}"


def parse(expr: str, where: str) -> Any:
    try:
        return pp.parse(expr)
    except Exception as exc:  # the binding raises ValueError with the parser's message
        raise ConfigError(f"{where}: expression does not parse: {exc}") from None


def selectors(expr: str, where: str = "expr") -> list[Selector]:
    """Every vector selector in `expr`, in order, including those inside range selectors."""
    found: list[Selector] = []

    def visit(node: Any) -> None:
        if isinstance(node, pp.VectorSelector):
            found.append(Selector(node.name, _matchers(node)))

    pp.walk(parse(expr, where), visit, None)
    return found


def window_seconds(expr: str, where: str = "expr") -> list[float]:
    """Every range selector's window in `expr`, in seconds: the spans of scraped samples it
    reads (a subquery's range and step are evaluations, not samples)."""
    found: list[float] = []

    def visit(node: Any) -> None:
        if isinstance(node, pp.MatrixSelector):
            found.append(node.range.total_seconds())

    pp.walk(parse(expr, where), visit, None)
    return found


def duration_text(seconds: float) -> str:
    """A Prometheus duration in whole milliseconds, e.g. 1.25 s -> '1250ms': at least 1ms
    unless it is 0 (`for: 0s` scaled stays 0s, not 1ms)."""
    if seconds == 0:
        return "0s"
    return f"{max(1, round(seconds * 1000))}ms"


def _matchers(node: Any) -> tuple[tuple[str, str, str], ...]:
    return tuple((m.name, _OPS[str(m.op)], m.value) for m in node.matchers.matchers)


def _selector_text(node: Any) -> str:
    """Matchers sorted: their order means nothing, and Prometheus prints its own order."""
    return Selector(node.name, tuple(sorted(_matchers(node)))).text()


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


class _ScaledRenderer:
    """Prints a parsed query back to PromQL, scaling durations and adding the isolation label.

    A printer of our own because the binding's own `str()` drops sub-second durations
    ('1250ms' prints as '1s'), and sub-second durations are what time scaling produces.
    """

    def __init__(self, factor: float, isolation_label: str | None, where: str):
        self.f = factor
        self.label = isolation_label
        self.where = where

    def dur(self, d: timedelta) -> str:
        return duration_text(d.total_seconds() / self.f)

    def suffix(self, node: Any) -> str:
        out = f" offset {self.dur(node.offset)}" if getattr(node, "offset", None) else ""
        if getattr(node, "at", None) is not None:
            raise ConfigError(f"{self.where}: '@' modifiers cannot be time-scaled")
        return out

    def grouping(self, labels: list[str]) -> str:
        if self.label and self.label not in labels:
            labels = [*labels, self.label]
        return ", ".join(labels)

    def render(self, n: Any) -> str:  # noqa: PLR0911 - one branch per node type
        r = self.render
        if isinstance(n, pp.NumberLiteral):
            return _number(n.val)
        if isinstance(n, pp.StringLiteral):
            return json.dumps(n.val)
        if isinstance(n, pp.VectorSelector):
            return _selector_text(n) + self.suffix(n)
        if isinstance(n, pp.MatrixSelector):
            vs = n.vector_selector
            return f"{_selector_text(vs)}[{self.dur(n.range)}]{self.suffix(vs)}"
        if isinstance(n, pp.SubqueryExpr):
            step = self.dur(n.step) if n.step else ""
            return f"({r(n.expr)})[{self.dur(n.range)}:{step}]{self.suffix(n)}"
        if isinstance(n, pp.ParenExpr):
            return f"({r(n.expr)})"
        if isinstance(n, pp.UnaryExpr):
            return f"-({r(n.expr)})"
        if isinstance(n, pp.Call):
            call = f"{n.func.name}({', '.join(r(a) for a in n.args)})"
            return f"({call} / {self.f:g})" if n.func.name in PER_SECOND_FUNCTIONS else call
        if isinstance(n, pp.AggregateExpr):
            return self.aggregate(n)
        if isinstance(n, pp.BinaryExpr):
            return f"({r(n.lhs)}) {n.op}{self.bin_modifier(n.modifier)} ({r(n.rhs)})"
        raise ConfigError(f"{self.where}: cannot time-scale a {type(n).__name__} node")

    def aggregate(self, n: Any) -> str:
        mod = n.modifier
        param = f"{self.render(n.param)}, " if n.param is not None else ""
        if mod is not None and mod.type == pp.AggModifierType.Without:
            grouping = f" without ({', '.join(mod.labels)})"  # keeps the isolation label
        elif mod is not None or self.label:
            grouping = f" by ({self.grouping(list(mod.labels) if mod else [])})"
        else:
            grouping = ""
        return f"{n.op}{grouping} ({param}{self.render(n.expr)})"

    def bin_modifier(self, mod: Any) -> str:
        if mod is None:
            return ""
        out = " bool" if mod.return_bool else ""
        matching = mod.matching
        if matching is not None:
            labels = list(matching.labels)
            if str(matching.type).endswith("Include"):
                out += f" on ({self.grouping(labels)})"
            else:
                out += f" ignoring ({', '.join(labels)})"
        card = str(mod.card)
        if card.endswith("ManyToOne"):
            out += f" group_left ({', '.join(mod.group_labels)})"
        elif card.endswith("OneToMany"):
            out += f" group_right ({', '.join(mod.group_labels)})"
        return out


def scale_expr(expr: str, factor: float, isolation_label: str | None, where: str = "expr") -> str:
    """`expr` with every duration divided by `factor`, per-second rates rescaled, and every
    aggregation and `on(...)` match also keyed by `isolation_label` (None: no isolation)."""
    return _ScaledRenderer(factor, isolation_label, where).render(parse(expr, where))


def output_labels(expr: str, where: str = "expr") -> frozenset[str] | None:
    """The labels a query's result can carry, where the query fixes them; None: any.

    Follows Prometheus' own rules (promql/engine.go resultMetric and the functions): an
    aggregation keeps its `by` labels, `on(...)` keeps only those, `group_left(x)` adds x,
    `label_replace` adds its destination, `absent` carries its equality matchers, and a
    scalar carries nothing. Enough to prove that `{{ $labels.x }}` in an annotation cannot
    render, e.g. after a `sum(...)` without `by`.
    """
    return _output_labels(parse(expr, where))


def quantiles_without_le(expr: str, where: str = "expr") -> list[str]:
    """The histogram_quantile calls of `expr` whose buckets provably carry no `le` label
    (an aggregation without `by (le)`): such a call returns nothing."""
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, pp.Call) and node.func.name == "histogram_quantile":
            buckets = _output_labels(list(node.args)[1])
            if buckets is not None and "le" not in buckets:
                found.append(str(node))

    pp.walk(parse(expr, where), visit, None)
    return found


Labels = frozenset[str] | None  # None: whatever labels the selected series have

_KEEPS_SERIES = ("topk", "bottomk", "limitk", "limit_ratio")  # select series, labels intact
_ADDS_DESTINATION = ("label_replace", "label_join")
_ABSENT = ("absent", "absent_over_time")


def _is_scalar(n: Any) -> bool:
    """True for a scalar-valued expression: a number, time(), scalar(...), scalar arithmetic."""
    if isinstance(n, pp.NumberLiteral):
        return True
    if isinstance(n, pp.ParenExpr | pp.UnaryExpr):
        return _is_scalar(n.expr)
    if isinstance(n, pp.Call):
        return str(n.func.return_type) == "ValueType.Scalar"
    if isinstance(n, pp.BinaryExpr):
        return _is_scalar(n.lhs) and _is_scalar(n.rhs)
    return False


def _plus(labels: Labels, more: list[str] | set[str]) -> Labels:
    return None if labels is None else labels | set(more)


def _output_labels(n: Any) -> Labels:
    if isinstance(n, pp.NumberLiteral | pp.StringLiteral) or _is_scalar(n):
        return frozenset()
    if isinstance(n, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return _output_labels(n.expr)
    if isinstance(n, pp.AggregateExpr):
        return _aggregate_labels(n)
    if isinstance(n, pp.Call):
        return _call_labels(n)
    if isinstance(n, pp.BinaryExpr):
        return _binary_labels(n)
    return None  # a selector: whatever labels the series have


def _aggregate_labels(n: Any) -> Labels:
    op, mod = str(n.op), n.modifier
    inner = _output_labels(n.expr)
    if op in _KEEPS_SERIES:
        return inner
    counted = op == "count_values" and isinstance(n.param, pp.StringLiteral)
    added = {n.param.val} if counted else set()
    if mod is None:
        return frozenset(added)
    if mod.type == pp.AggModifierType.Without:
        return _plus(None if inner is None else inner - set(mod.labels), added)
    return frozenset(mod.labels) | added


def _call_labels(n: Any) -> Labels:
    name, args = n.func.name, list(n.args)
    if name == "vector":
        return frozenset()
    if name in _ABSENT:
        arg = args[0].vector_selector if isinstance(args[0], pp.MatrixSelector) else args[0]
        if not isinstance(arg, pp.VectorSelector):
            return frozenset()
        equal = [m for m, op, _ in _matchers(arg) if op == "=" and m != "__name__"]
        return frozenset(m for m in equal if equal.count(m) == 1)
    if name in _ADDS_DESTINATION:
        return _plus(_output_labels(args[0]), [args[1].val])
    if name == "histogram_quantile":
        inner = _output_labels(args[1])
        return None if inner is None else inner - {"le"}
    vectors = [a for a in args if not isinstance(a, pp.StringLiteral) and not _is_scalar(a)]
    return _output_labels(vectors[0]) if vectors else frozenset()


def _binary_labels(n: Any) -> Labels:  # noqa: PLR0911 - one branch per matching rule
    if _is_scalar(n.lhs):
        return _output_labels(n.rhs)
    if _is_scalar(n.rhs):
        return _output_labels(n.lhs)
    lhs, rhs = _output_labels(n.lhs), _output_labels(n.rhs)
    op, mod = str(n.op), n.modifier
    if op == "or":
        return None if lhs is None or rhs is None else lhs | rhs
    if op in ("and", "unless"):
        return lhs
    card = str(mod.card) if mod is not None else ""
    if card.endswith("ManyToOne"):  # group_left(x): the many side's labels, plus x
        return _plus(lhs, mod.group_labels)
    if card.endswith("OneToMany"):
        return _plus(rhs, mod.group_labels)
    matching = mod.matching if mod is not None else None
    if matching is None:
        return lhs
    if str(matching.type).endswith("Include"):  # on(...): one-to-one keeps only those
        on = frozenset(matching.labels)
        return on if lhs is None else lhs & on
    return None if lhs is None else lhs - set(matching.labels)


def grouping_labels(expr: str, where: str = "expr") -> set[str]:
    """Every label named in an aggregation's `by (...)` anywhere in `expr`."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        mod = getattr(node, "modifier", None) if isinstance(node, pp.AggregateExpr) else None
        if mod is not None and mod.type == pp.AggModifierType.By:
            found.update(mod.labels)

    pp.walk(parse(expr, where), visit, None)
    return found


COMPARISONS = ("==", "!=", ">", "<", ">=", "<=")


def value_of_alert_expr(expr: str, where: str = "expr") -> str:
    """The part of an alert expression left of its final threshold comparison, if any: the
    value the rule compares, which a failed live check shows over time."""
    node = parse(expr, where)
    if isinstance(node, pp.BinaryExpr) and str(node.op) in COMPARISONS:
        return str(node.lhs)
    return expr


_FLIPPED = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}


def threshold_of_alert_expr(expr: str, where: str = "expr") -> tuple[str, float] | None:
    """(operator, number) of an alert expression's final comparison with a constant, read
    as `value OP number`; None if it ends in anything else (no line to draw on a plot)."""
    node = parse(expr, where)
    if not isinstance(node, pp.BinaryExpr) or str(node.op) not in COMPARISONS:
        return None
    if node.modifier is not None and node.modifier.return_bool:
        return None
    if isinstance(node.rhs, pp.NumberLiteral):
        return str(node.op), float(node.rhs.val)
    if isinstance(node.lhs, pp.NumberLiteral):
        return _FLIPPED[str(node.op)], float(node.lhs.val)
    return None
