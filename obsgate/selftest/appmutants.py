"""One-line mutants of the services' own instrumentation and of the dashboards' queries.

The services' TypeScript (`services/src/**/*.ts`) is read as a reviewer reads a diff, by the
libraries' own API shapes:

- pino: each path of `redact: { paths: [...] }` (or `redact: [...]`) removed (`redact-path`);
- prom-client: a metric's `name` losing its last segment, as a unit or `_total` suffix is
  lost in a rename (`metric-name`), and each bucket of `buckets: [...]` that a query of the
  config selects (`le="0.5"`) removed (`metric-bucket`): the buckets the rules, SLOs and
  panels read, not every step of a histogram's resolution;
- OpenTelemetry JS: W3CTraceContextPropagator imported as the W3C baggage propagator, so
  `traceparent` is neither read nor written (`propagator`), and each path of an
  `ignoreIncomingRequestHook` comparison removed (`ignored-path`).

Each dashboard JSON panel query (`"expr": "..."`) gets the rule operators that apply to a
query (each matcher dropped, negated and widened, each `by` label removed, each range
changed) and `metric-name`; the line is written back as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig
from obsgate.config.files import read_text
from obsgate.selftest.exprops import Edit, groupings, matchers, ranges
from obsgate.selftest.mutant import Mutant

SERVICES_SRC = Path("services") / "src"
REDACTION_OPERATORS = ("redact-path",)
PROPAGATION_OPERATORS = ("propagator", "ignored-path")
INSTRUMENTATION_OPERATORS = ("metric-name", "metric-bucket")
DASHBOARD_OPERATORS = ("matcher-drop", "matcher-negate", "matcher-widen", "by-label", "range",
                       "metric-name")  # fmt: skip
_REDACT = re.compile(r"\bredact\s*:")
_REDACT_LIST = re.compile(r"(?:\bredact\s*:\s*|\bpaths\s*:\s*)\[")
_SELECTED_LE = re.compile(r"""\b([A-Za-z_:][\w:]*)_bucket\s*\{[^}]*\ble\s*=\s*["']([^"']+)["']""")
_METRIC = re.compile(r"\bnew\s+(?:client\.)?(Counter|Gauge|Histogram|Summary)\s*\(\s*\{")
_NAME = re.compile(r"^(\s*name\s*:\s*)(['\"])([A-Za-z_:][\w:]*)\2")
_BUCKETS = re.compile(r"\bbuckets\s*:\s*\[")
_TRACE_CONTEXT_IMPORT = re.compile(
    r"^(import\s*\{[^}]*?)\bW3CTraceContextPropagator\b(?!\s+as\b)([^}]*\}\s*from\s*"
    r"['\"]@opentelemetry/core['\"])"
)
_IGNORE_HOOK = re.compile(r"\bignoreIncomingRequestHook\b")
_URL_TEST = re.compile(r"(?:\w+\.)+url\s*===\s*(['\"])([^'\"]+)\1")
_EXPR_LINE = re.compile(r'^(\s*"expr"\s*:\s*)("(?:[^"\\]|\\.)*")(\s*,?\s*)$')
_METRIC_NAME = re.compile(r"(?<![\w:\"'{.])([a-z_:][a-z0-9_:]*_[a-z0-9]+)(?=\s*[{\[])")


def _items(line: str, open_at: int) -> list[tuple[int, int]]:
    """(start, end) of each item of the one-line array whose `[` is at `open_at`; [] when the
    array does not close on this line."""
    close = line.find("]", open_at)
    if close < 0:
        return []
    out, pos = [], open_at + 1
    for part in line[open_at + 1 : close].split(","):
        if part.strip():
            lead = len(part) - len(part.lstrip())
            out.append((pos + lead, pos + lead + len(part.strip())))
        pos += len(part) + 1
    return out


def _without_item(line: str, open_at: int, index: int) -> str:
    """The one-line array at `open_at` without its item `index`, as a person would write it."""
    items = _items(line, open_at)
    texts = [line[a:b] for a, b in items]
    kept = ", ".join(t for i, t in enumerate(texts) if i != index)
    close = line.find("]", open_at)
    return line[: open_at + 1] + kept + line[close:]


def _list_lines(lines: list[str], start: int, open_at: int) -> Iterator[tuple[int, str]]:
    """The lines of a multi-line array opened at (start, open_at): (index, item text) of each
    line that holds one quoted item and nothing else."""
    for i in range(start + 1, len(lines)):
        text = lines[i].strip()
        if text.startswith("]"):
            return
        m = re.fullmatch(r"(['\"])([^'\"]+)\1\s*,?", text)
        if m:
            yield i, m.group(2)


class SourceMutator:
    """The mutants of one TypeScript file of the services."""

    def __init__(self, path: Path, root: Path, selected_le: set[tuple[str, float]]) -> None:
        self.rel = str(path.relative_to(root))
        self.lines = read_text(path).split("\n")
        self.selected_le = selected_le
        self.found: list[Mutant] = []

    def add(self, part: str, i: int, new: str, what: tuple[str, str, str]) -> None:
        """A mutant of line `i`; `what` is (operator, description, subject)."""
        if new != self.lines[i]:
            self.found.append(Mutant(part, self.rel, i + 1, self.lines[i], new, *what))

    def _redact_list(self, start: int) -> tuple[int, int] | None:
        """(line, column of `[`) of the redact path list of the `redact:` at line `start`."""
        for i in range(start, min(start + 3, len(self.lines))):
            m = _REDACT_LIST.search(self.lines[i])
            if m:
                return i, m.end() - 1
        return None

    def redact_paths(self) -> None:
        for start, text in enumerate(self.lines):
            found = self._redact_list(start) if _REDACT.search(text) else None
            if found is None:
                continue
            i, open_at = found
            line = self.lines[i]
            items = _items(line, open_at)
            for k, (a, b) in enumerate(items):
                path = line[a:b].strip("'\"")
                new = _without_item(line, open_at, k)
                said = ("redact-path", f"redact path {path!r} removed", path)
                self.add("redaction", i, new, said)
            for j, path in _list_lines(self.lines, i, open_at) if not items else ():
                indent = self.lines[j][: len(self.lines[j]) - len(self.lines[j].lstrip())]
                new = f"{indent}// {self.lines[j].lstrip()}"
                said = ("redact-path", f"redact path {path!r} removed", path)
                self.add("redaction", j, new, said)

    def metrics(self) -> None:
        metric = ""
        for i, line in enumerate(self.lines):
            if _METRIC.search(line):
                metric = "?"
            name = _NAME.match(line)
            if name and metric:
                metric = name.group(3)
                if "_" in metric:
                    shorter = metric.rsplit("_", 1)[0]
                    new = line[: name.start(3)] + shorter + line[name.end(3) :]
                    what = ("metric-name", f"metric {metric} renamed {shorter}", metric)
                    self.add("instrumentation", i, new, what)
            buckets = _BUCKETS.search(line)
            if buckets and metric:
                open_at = buckets.end() - 1
                for k, (a, b) in enumerate(_items(line, open_at)):
                    if (metric, _number(line[a:b])) not in self.selected_le:
                        continue
                    new = _without_item(line, open_at, k)
                    what = ("metric-bucket", f"bucket {line[a:b]} removed from {metric}", metric)
                    self.add("instrumentation", i, new, what)

    def tracing(self) -> None:
        hook_from = None
        for i, line in enumerate(self.lines):
            m = _TRACE_CONTEXT_IMPORT.search(line)
            if m:
                new = line.replace(
                    "W3CTraceContextPropagator",
                    "W3CBaggagePropagator as W3CTraceContextPropagator",
                    1,
                )
                said = "W3CTraceContextPropagator is the W3C baggage propagator: no traceparent"
                self.add("propagation", i, new, ("propagator", said, "W3CTraceContextPropagator"))
            if _IGNORE_HOOK.search(line):
                hook_from = i
            if hook_from is None or i - hook_from > 8:
                continue
            tests = list(_URL_TEST.finditer(line))
            if len(tests) < 2:
                continue
            for k, t in enumerate(tests):
                kept = " || ".join(x.group(0) for j, x in enumerate(tests) if j != k)
                new = line[: tests[0].start()] + kept + line[tests[-1].end() :]
                said = f"{t.group(2)} no longer ignored by ignoreIncomingRequestHook"
                self.add("propagation", i, new, ("ignored-path", said, t.group(2)))
            hook_from = None


def _number(text: str) -> float | None:
    try:
        return float(text.strip().strip("'\""))
    except ValueError:
        return None


def selected_buckets(queries: Iterable[str]) -> set[tuple[str, float]]:
    """(histogram, bound) of each bucket the queries select (`x_bucket{le="0.5"}`)."""
    found = {(m[1], _number(m[2])) for q in queries for m in _SELECTED_LE.finditer(q)}
    return {(name, le) for name, le in found if le is not None}


def service_mutants(config: ObsConfig, queries: Iterable[str]) -> list[Mutant]:
    """Mutants of every TypeScript file under the config dir's services/src; `queries`: the
    config's rule, SLO and panel queries, whose selected buckets are mutated."""
    src = config.root / SERVICES_SRC
    selected = selected_buckets(queries)
    out: list[Mutant] = []
    for path in sorted(src.rglob("*.ts")) if src.is_dir() else ():
        m = SourceMutator(path, config.root, selected)
        m.redact_paths()
        m.metrics()
        m.tracing()
        out.extend(m.found)
    return out


def _titles(data: Any) -> dict[str, str]:
    """Each panel query's panel title (the first panel that holds it)."""
    found: dict[str, str] = {}

    def visit(node: Any, title: str) -> None:
        if isinstance(node, dict):
            title = str(node.get("title") or title)
            expr = node.get("expr")
            if isinstance(expr, str):
                found.setdefault(expr, title)
            for value in node.values():
                visit(value, title)
        elif isinstance(node, list):
            for value in node:
                visit(value, title)

    visit(data, "")
    return found


def metric_names(expr: str) -> Iterator[Edit]:
    """Each metric name losing its last segment (`http_requests_total` -> `http_requests`)."""
    for m in _METRIC_NAME.finditer(expr):
        name = m.group(1)
        shorter = name.rsplit("_", 1)[0]
        yield Edit(m.start(1), name, shorter, "metric-name", f"metric {name} renamed {shorter}")


def _query_edits(expr: str) -> Iterator[Edit]:
    yield from matchers(expr)
    yield from groupings(expr, expr)
    yield from ranges(expr)
    yield from metric_names(expr)


def _json_dashboards(config: ObsConfig) -> Iterator[tuple[Path, str, dict[str, str]]]:
    """(path, text, panel title of each query) of each JSON dashboard that loads."""
    for path in config.files("dashboards") if config.has("dashboards") else ():
        if path.suffix != ".json" or not path.is_relative_to(config.root):
            continue
        text = read_text(path)
        try:
            yield path, text, _titles(json.loads(text))
        except json.JSONDecodeError:
            continue  # the dashboards suite names the file and line


def dashboard_queries(config: ObsConfig) -> list[str]:
    return [q for _, _, titles in _json_dashboards(config) for q in titles]


def dashboard_mutants(config: ObsConfig) -> list[Mutant]:
    """Mutants of every panel query of the config's JSON dashboards."""
    out: list[Mutant] = []
    for path, text, titles in _json_dashboards(config):
        rel = str(path.relative_to(config.root))
        for i, line in enumerate(text.split("\n")):
            m = _EXPR_LINE.match(line)
            if not m:
                continue
            expr = json.loads(m.group(2))
            for e in _query_edits(expr):
                if expr[e.col : e.col + len(e.old)] != e.old:
                    continue
                new_expr = expr[: e.col] + e.new + expr[e.col + len(e.old) :]
                new = m.group(1) + json.dumps(new_expr) + m.group(3)
                subject = titles.get(expr, "")
                said = f"panel {subject!r}: {e.description}"
                mutant = Mutant("dashboards", rel, i + 1, line, new, e.operator, said, subject)
                out.append(dataclasses.replace(mutant, equivalent=e.equivalent))
    return out
