"""`obs-gate scaffold [DIR]`: scenario stubs for every alert rule that has none.

A rule that compares a value with a constant (`... > 0.05`) gets three scenarios, each
checked by promtool before it is written:
- fires: the value just past the threshold, held past `for`, then back under it (resolves);
- at the threshold: the value exactly at it where one can be written, else just short of
  it; quiet;
- short: past the threshold, but over before `for` elapses (when `for` outlasts the range
  window); quiet.

The input series come from the expression: one per selector, its labels from the matchers
(a regex gets a value it matches, `!=` one it does not) and one value for each label a
join or grouping names, so `on (...)` and `group_left` meet. One series drives the value:
it is swept over a grid of round values in one promtool run (each value a case, kept apart
by a label added to every aggregation and match), and the values either side of the
threshold are taken. The firing alert's labels and annotations are what promtool renders.

Any other rule gets a commented TODO stub with its selectors. Nothing is overwritten: the
stubs go to a new file in the config's alert scenario dir. The scenarios run in the exact
layer only (`live_note` says so) until a person has read them.
"""

from __future__ import annotations

import math
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from re import _parser as sre_parse  # type: ignore[attr-defined]  # the stdlib's own regex parser
from typing import Any

import promql_parser as pp
import yaml

from obsgate.config import ObsConfig
from obsgate.config.rules import AlertRule
from obsgate.errors import ConfigError, GateError
from obsgate.promql import parse, scale_expr, threshold_of_alert_expr
from obsgate.promql import value_of_alert_expr as value_expr_of
from obsgate.scenarios.exact import run_exact
from obsgate.scenarios.matchers import selects
from obsgate.scenarios.model import load_scenarios, scenario_from_mapping
from obsgate.scenarios.params import ALERT_SCENARIOS
from obsgate.tools import promtool
from obsgate.tools.promtool_failures import parse_failures
from obsgate.tools.promtool_probe import probe_document

CASE = "scaffold_case"
COUNTER_FUNCTIONS = ("rate", "irate", "increase", "resets")
# Round values the driving series sweeps: 0, then 1, 1.5, 2 ... 9 times each power of ten.
GRID = [0.0] + [
    float(f"{k}e{e}") for e in range(-4, 8) for k in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)
]
LIVE_NOTE = "scaffolded by obs-gate scaffold: read it, then let it run live too"


@dataclass
class SeriesPlan:
    """One input series: its metric, labels, and whether it is a counter (read by rate())."""

    metric: str
    labels: dict[str, str]
    counter: bool
    matchers: tuple[tuple[str, str, str], ...] = ()  # its selector's (label, op, value)

    def selector(self, extra: dict[str, str] | None = None) -> str:
        labels = {**self.labels, **(extra or {})}
        body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        return f"{self.metric}{{{body}}}"


@dataclass
class Stub:
    """What the scaffold made of one rule: scenarios (mappings) or a TODO with why."""

    rule: AlertRule
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    todo: str = ""


@dataclass(frozen=True)
class RuleCase:
    """One rule being scaffolded: its rule files, planned series, a work dir, and the file
    its scenarios will be written to (named in their errors)."""

    rule: AlertRule
    rule_files: list[Path]
    plans: list[SeriesPlan]
    work: Path
    file: Path

    @property
    def where(self) -> str:
        return f"{self.rule.file}:{self.rule.line}"


@dataclass(frozen=True)
class Draft:
    """A scenario before it is checked: the driver's (level, steps) in turn, checkpoints
    (`firing: None`: to be filled with what promtool renders)."""

    id: str
    intent: str
    levels: list[tuple[float, int]]
    expect: list[dict[str, Any]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def example_of(regex: str) -> str | None:
    """A string `regex` matches in full (RE2's syntax is Python's for these), or None."""
    try:
        parsed = sre_parse.parse(regex)
    except re.error:
        return None
    for digit_first in (True, False):
        text = _example(parsed, digit_first)
        if text is not None and re.fullmatch(regex, text):
            return text
    return None


def _example(parsed: Any, digit: bool) -> str | None:
    out = []
    for op, arg in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("0" if digit else "a")
        elif name == "IN":
            ranges = [a for o, a in arg if str(o) in ("LITERAL", "RANGE")]
            if not ranges or any(str(o) == "NEGATE" for o, _ in arg):
                return None
            first = ranges[0]
            out.append(chr(first if isinstance(first, int) else first[0]))
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, _high, sub = arg
            part = _example(sub, digit)
            if part is None:
                return None
            out.append(part * max(low, 1 if digit else low))
        elif name == "SUBPATTERN":
            part = _example(arg[-1], digit)
            if part is None:
                return None
            out.append(part)
        elif name == "BRANCH":
            part = _example(arg[1][0], digit)
            if part is None:
                return None
            out.append(part)
        elif name == "AT":
            continue
        else:
            return None
    return "".join(out)


def _grouping_names(node: Any) -> set[str]:
    """Every label an aggregation, `on`/`ignoring` or `group_left/right` names."""
    names: set[str] = set()

    def visit(n: Any) -> None:
        mod = getattr(n, "modifier", None)
        if isinstance(n, pp.AggregateExpr) and mod is not None:
            names.update(mod.labels)
        if isinstance(n, pp.BinaryExpr) and mod is not None:
            if mod.matching is not None:
                names.update(mod.matching.labels)
            names.update(mod.group_labels or ())

    pp.walk(node, visit, None)
    return names


def _counter_selectors(node: Any) -> set[str]:
    """The vector selectors (as text) that a counter function (rate(), increase()) reads."""
    found: set[str] = set()

    def visit(n: Any) -> None:
        if isinstance(n, pp.Call) and n.func.name in COUNTER_FUNCTIONS:
            for arg in n.args:
                if isinstance(arg, pp.MatrixSelector):
                    found.add(str(arg.vector_selector))

    pp.walk(node, visit, None)
    return found


def longest_window(node: Any) -> float:
    """The longest range (`[5m]`, a subquery's) in seconds, 0 with none."""
    longest = 0.0

    def visit(n: Any) -> None:
        nonlocal longest
        if isinstance(n, pp.MatrixSelector | pp.SubqueryExpr):
            longest = max(longest, n.range.total_seconds())

    pp.walk(node, visit, None)
    return longest


def plan_series(expr: str, where: str) -> list[SeriesPlan] | str:
    """One series per distinct selector of `expr`, or why none can be written."""
    node = parse(expr, where)
    names = _grouping_names(node)
    counters = _counter_selectors(node)
    selectors: list[tuple[Any, bool]] = []

    def visit(n: Any) -> None:
        if isinstance(n, pp.VectorSelector):
            selectors.append((n, str(n) in counters))

    pp.walk(node, visit, None)
    if not selectors:
        return "it reads no series"
    constrained: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for sel, _ in selectors:
        for m in sel.matchers.matchers:
            constrained.setdefault((sel.name or "", m.name), []).append((_op(m), m.value))
    plans: list[SeriesPlan] = []
    for sel, counter in selectors:
        if not sel.name:
            return f"a selector without a metric name ({sel})"
        labels = {n: f"{n}-1" for n in sorted(names)}
        own = {m.name for m in sel.matchers.matchers}
        for m in sel.matchers.matchers:
            value = _matching_value(m.name, _op(m), m.value, labels.get(m.name))
            if value is None:
                return f"no value of {m.name} matches {m.name}{_op(m)}{m.value!r} in {sel}"
            labels[m.name] = value
        for (metric, label), others in constrained.items():
            if metric == sel.name and label not in own:
                labels[label] = _neutral(label, others)
        matchers = tuple(
            (m.name, _op(m), m.value) for m in sel.matchers.matchers if m.name != "__name__"
        )
        plan = SeriesPlan(sel.name, {k: v for k, v in labels.items() if v != ""}, counter, matchers)
        if all(p.selector() != plan.selector() for p in plans):
            plans.append(plan)
    return plans


def _op(matcher: Any) -> str:
    return {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~"}.get(
        str(matcher.op), "!~"
    )


def _matching_value(name: str, op: str, value: str, current: str | None) -> str | None:
    if op == "=":
        return value
    if op == "=~":
        return current if current and re.fullmatch(value, current) else example_of(value)
    base = current if current is not None else ""
    candidates = [base, f"{name}-1", f"{name}-2", "x"]
    for candidate in candidates:
        ok = candidate != value if op == "!=" else not re.fullmatch(value, candidate)
        if ok:
            return candidate
    return None


def _neutral(label: str, others: list[tuple[str, str]]) -> str:
    """A value of `label` that the other selectors' matchers on it do not select: the series
    a broader selector counts and a narrower one does not (the 200s beside the 5xx)."""
    for candidate in ("200", "ok", f"{label}-0", "other"):
        if not any(selects(op, value, candidate) for op, value in others):
            return candidate
    return f"{label}-0"


@dataclass(frozen=True)
class Timeline:
    """The scenario's step, and how many steps the value is held and let go."""

    interval: float
    hold: int  # steps the driver is held at a value, long enough to fire
    release: int  # steps after, long enough for the window to forget it

    @classmethod
    def of(cls, rule: AlertRule, window: float) -> Timeline:
        step = 60.0 if rule.for_seconds == 0 or rule.for_seconds >= 120 else 15.0
        hold = math.ceil((window + rule.for_seconds) / step) + 3
        return cls(step, hold, math.ceil(window / step) + 3)


def _values(plan: SeriesPlan, levels: list[tuple[float, int]], step: float) -> str:
    """promtool's expanding notation for `levels` (value or rate per second, steps) in turn."""
    parts, last = [], 0.0
    for level, steps in levels:
        if plan.counter:
            inc = level * step
            start = last + inc if parts else 0.0
            parts.append(f"{_num(start)}+{_num(inc)}x{steps - 1}")
            last = start + inc * (steps - 1)
        else:
            parts.append(f"{_num(level)}x{steps - 1}")
    return " ".join(parts)


def _num(value: float) -> str:
    return repr(round(value, 12)).removesuffix(".0")


def _sweep(
    case: RuleCase, driver: int, at: float, values: list[float]
) -> dict[float, tuple[float | None, bool]]:
    """For each value of the driver (the rest at 1): the rule's value and whether it fires,
    read from one promtool run."""
    rule, where = case.rule, case.where
    value_expr = scale_expr(value_expr_of(rule.expr, where), 1.0, CASE, where)
    whole = scale_expr(rule.expr, 1.0, CASE, where)
    series = []
    steps = math.ceil(at / 60.0) + 2
    for i, level in enumerate(values):
        for j, plan in enumerate(case.plans):
            own = level if j == driver else 1.0
            series.append(
                {
                    "series": plan.selector({CASE: str(i)}),
                    "values": _values(plan, [(own, steps)], 60.0),
                }
            )
    reads = [(expr, f"{int(at)}s") for expr in (value_expr, whole)]
    doc = probe_document([f.resolve() for f in case.rule_files], "1m", series, reads)
    path = case.work / f"sweep-{rule.name}-{driver}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = promtool.test_rules(path)
    failures = parse_failures(result.output)
    read: dict[str, dict[int, float]] = {value_expr: {}, whole: {}}
    for failure in failures.exprs:
        if failure.error:
            raise GateError(f"{where}: promtool could not evaluate the rule: {failure.error}")
        for labels, sample in failure.got:
            if CASE in labels and failure.expr in read:
                read[failure.expr][int(labels[CASE])] = sample
    return {level: (read[value_expr].get(i), i in read[whole]) for i, level in enumerate(values)}


@dataclass(frozen=True)
class Levels:
    """The driver's values: past the threshold, at it (or just short), and clearly quiet."""

    driver: int
    fire: float
    at_threshold: float
    exact: bool
    quiet: float
    fire_value: float | None
    threshold_value: float | None


def find_levels(case: RuleCase, at: float) -> Levels | str:
    """The first series whose sweep crosses the threshold, with the values either side."""
    found = threshold_of_alert_expr(case.rule.expr, case.where)
    assert found is not None
    _, threshold = found
    for driver in range(len(case.plans)):
        grid = _sweep(case, driver, at, GRID)
        for i in range(len(GRID) - 1):
            (lo, (lo_value, lo_fires)), (hi, (hi_value, hi_fires)) = (
                (GRID[i], grid[GRID[i]]),
                (GRID[i + 1], grid[GRID[i + 1]]),
            )
            if lo_fires == hi_fires or (hi_value if hi_fires else lo_value) is None:
                continue  # (a filtering expression has no value where it is quiet)
            rising = hi_fires  # fires above the boundary, quiet below it
            fine = [lo + (hi - lo) * k / 200 for k in range(201)]
            fine = sorted({float(f"{x:.4g}") for x in fine})
            near = _sweep(case, driver, at, fine)
            fires = [x for x in fine if near[x][1]]
            quiet = [x for x in fine if not near[x][1]]
            if not fires or not quiet:
                continue
            fire = min(fires) if rising else max(fires)
            exact = [x for x in quiet if near[x][0] == threshold]
            valued = [x for x in quiet if near[x][0] is not None] or quiet
            at_level = exact[0] if exact else (max(valued) if rising else min(valued))
            fire_value = near[fire][0]
            if lo == 0.0 and fire != 0.0 and grid[1.0][1]:  # a state: 1 reads better than 1e-7
                fire, fire_value = 1.0, grid[1.0][0]
            if near[at_level][0] is None and not exact:  # filtered out: no edge to sit on
                at_level = next((x for x in (1.0, 0.0) if not grid[x][1]), at_level)
            return Levels(
                driver, fire, at_level, bool(exact), _clear(grid, i, rising), fire_value,
                near[at_level][0] if at_level in near else grid[at_level][0],
            )  # fmt: skip
    return "no series moves the value across the threshold (swept each from 0 to 9e7)"


def _clear(grid: dict[float, tuple[float | None, bool]], i: int, rising: bool) -> float:
    """A driver value well on the quiet side: 1 or 0 where quiet (a state's values), else two
    grid steps past the boundary."""
    for round_value in (1.0, 0.0):
        if not grid[round_value][1]:
            return round_value
    far = i - 2 if rising else i + 3
    near = i if rising else i + 1
    return GRID[far] if 0 <= far < len(GRID) and not grid[GRID[far]][1] else GRID[near]


def _slug(name: str) -> str:
    return re.sub(
        r"[^a-z0-9]+",
        "-",
        re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower(),
    ).strip("-")


def _scenario(case: RuleCase, driver: int, step: float, draft: Draft) -> dict[str, Any]:
    total = sum(n for _, n in draft.levels)
    series = [
        {
            "series": plan.selector(),
            "values": _values(plan, draft.levels if j == driver else [(1.0, total)], step),
        }
        for j, plan in enumerate(case.plans)
    ]
    return {
        "id": draft.id,
        "alert": case.rule.name,
        "intent": draft.intent,
        "interval": f"{int(step)}s",
        "series": series,
        "expect": draft.expect,
        "layers": ["exact"],
        "live_note": LIVE_NOTE,
    }


def _checked(case: RuleCase, raw: dict[str, Any]) -> str | None:
    """None if promtool agrees with the scenario as written, else its first complaint."""
    scenario = scenario_from_mapping(raw, case.file)
    result = run_exact(scenario, case.rule_files, case.work)
    if result.ok:
        return None
    lines = [ln.strip() for ln in result.tool_output.splitlines() if ln.strip()]
    return next((ln for ln in lines if "alertname" in ln or "err" in ln), lines[-1])


def _fill_firing(case: RuleCase, raw: dict[str, Any]) -> dict[str, Any]:
    """The scenario with each firing checkpoint's alerts as promtool renders them."""
    blank = {**raw, "expect": [{**cp, "firing": []} for cp in raw["expect"]]}
    scenario = scenario_from_mapping(blank, case.file)
    result = run_exact(scenario, case.rule_files, case.work)
    failures = parse_failures(result.tool_output)
    expect = []
    for cp, parsed in zip(raw["expect"], scenario.expect, strict=True):
        if cp["firing"] is not None:
            expect.append(cp)
            continue
        got = failures.alert_at(raw["alert"], parsed.at_seconds)
        alerts = []
        if got is not None:
            notes = got.annotations or [{}] * len(got.got)
            for labels, annotations in zip(got.got, notes, strict=False):
                own = {k: v for k, v in labels.items() if k != "alertname"}
                alerts.append({"labels": own, "annotations": annotations})
        expect.append({"at": cp["at"], "firing": alerts})
    return {**raw, "expect": expect}


def _reads(value: float | None) -> str:
    return "no value (a filter in the expression drops it)" if value is None else f"{value:g}"


def _at(seconds: float) -> str:
    return f"{int(seconds)}s"


def scaffold_rule(rule: AlertRule, rule_files: list[Path], work: Path, file: Path) -> Stub:
    """The stub for one rule: checked scenarios, or a TODO saying why there are none."""
    stub = Stub(rule)
    where = f"{rule.file}:{rule.line}"
    if threshold_of_alert_expr(rule.expr, where) is None:
        stub.todo = "its expression does not end in a comparison with a constant"
        return stub
    plans = plan_series(value_expr_of(rule.expr, where), where)
    if isinstance(plans, str):
        stub.todo = plans
        return stub
    case = RuleCase(rule, rule_files, plans, work, file)
    window = longest_window(parse(rule.expr, where))
    levels = find_levels(case, window + 120.0)
    if isinstance(levels, str):
        stub.todo = levels
        return stub
    step = Timeline.of(rule, window).interval
    written = [
        _scenario(case, levels.driver, step, d)
        for d in drafts(rule, plans[levels.driver], levels, window, stub)
    ]
    written += matcher_pairs(case, levels, window)
    for draft_raw in written:
        raw = draft_raw
        if any(cp["firing"] is None for cp in raw["expect"]):
            raw = _fill_firing(case, raw)
        problem = _checked(case, raw)
        if problem is None:
            stub.scenarios.append(raw)
        else:
            stub.notes.append(f"{raw['id']} left out: promtool disagreed ({problem})")
    if not stub.scenarios:
        stub.todo = "; ".join(stub.notes)
    return stub


def drafts(
    rule: AlertRule, driver: SeriesPlan, levels: Levels, window: float, stub: Stub
) -> list[Draft]:
    """The firing, at-threshold and short-burst scenarios for these levels."""
    t = Timeline.of(rule, window)
    op, number = threshold_of_alert_expr(rule.expr, f"{rule.file}:{rule.line}") or ("?", 0.0)
    base = _slug(rule.name)
    what = f"{driver.selector()} at {'rate per second' if driver.counter else 'value'}"
    end = _at((t.hold + t.release - 1) * t.interval)
    fire_at = _at((t.hold - 1) * t.interval)
    early = []
    if rule.for_seconds >= 2 * t.interval:
        early = [{"at": _at(rule.for_seconds - t.interval), "firing": []}]
    out = [
        Draft(
            f"{base}-fires",
            f"{what} {levels.fire:g} puts the value at {_reads(levels.fire_value)} (threshold "
            f"{op} {number:g}) past `for`; back at {levels.quiet:g} it resolves.",
            [(levels.fire, t.hold), (levels.quiet, t.release)],
            [*early, {"at": fire_at, "firing": None}, {"at": end, "firing": []}],
        ),
        Draft(
            f"{base}-at-threshold-quiet",
            f"{what} {levels.at_threshold:g} holds the value "
            f"{'exactly at' if levels.exact else 'just short of'} the threshold "
            f"({_reads(levels.threshold_value)} against {op} {number:g}); it never fires.",
            [(levels.at_threshold, t.hold + t.release)],
            [{"at": fire_at, "firing": []}, {"at": end, "firing": []}],
        ),
    ]
    burst = math.floor((rule.for_seconds - window - 2 * t.interval) / t.interval)
    if burst < 1:
        stub.notes.append(
            f"no short-burst scenario: `for` ({rule.for_seconds:g} s) does not outlast the "
            f"range window ({window:g} s) by two steps"
        )
        return out
    lead, after = 2, t.hold + t.release
    cleared = (lead + burst + math.ceil(window / t.interval)) * t.interval
    out.append(
        Draft(
            f"{base}-short-burst-quiet",
            f"{what} {levels.fire:g} for {burst} step(s) of {t.interval:g} s, over before "
            f"`for` ({rule.for_seconds:g} s) elapses; it never fires.",
            [(levels.quiet, lead), (levels.fire, burst), (levels.quiet, after)],
            [
                {"at": _at(cleared), "firing": []},
                {"at": _at((lead + burst + after - 1) * t.interval), "firing": []},
            ],
        )
    )
    return out


def _rejected(plan: SeriesPlan, label: str, taken: set[str]) -> str | None:
    """A value of `label` that the plan's matcher on it turns away, unused by the plans."""
    own = [(op, value) for name, op, value in plan.matchers if name == label]
    for candidate in (f"other-{label}", "other", f"{label}-9", "x"):
        if candidate not in taken and not all(selects(op, v, candidate) for op, v in own):
            return candidate
    return None


def matcher_pairs(case: RuleCase, levels: Levels, window: float) -> list[dict[str, Any]]:
    """Per label a selector matches on, a scenario where each series stays quiet, beside a
    copy of it that only that label keeps out of the selector, at the firing level: what
    the rule does with series its matchers turn away (the gate asks for one per matcher).
    Its checkpoints are what promtool renders; the self-test's matcher mutants show
    whether a dropped matcher would change them."""
    t = Timeline.of(case.rule, window)
    total = t.hold + t.release
    base = _slug(case.rule.name)
    out = []
    labels = sorted({name for plan in case.plans for name, _, _ in plan.matchers})
    for label in labels:
        taken = {plan.labels.get(label, "") for plan in case.plans}
        series, copies = [], []
        for j, plan in enumerate(case.plans):
            quiet = [(levels.quiet if j == levels.driver else 1.0, total)]
            series.append({"series": plan.selector(), "values": _values(plan, quiet, t.interval)})
            if not any(name == label for name, _, _ in plan.matchers):
                continue
            other = _rejected(plan, label, taken)
            if other is None:
                continue
            loud = [(levels.fire if j == levels.driver else 1.0, total)]
            copies.append(plan.selector({label: other}))
            series.append({"series": copies[-1], "values": _values(plan, loud, t.interval)})
        if not copies:
            continue
        out.append(
            {
                "id": f"{base}-beside-other-{_slug(label)}",
                "alert": case.rule.name,
                "intent": f"the rule's own series stay quiet beside {', '.join(copies)} at "
                f"the firing level, which only the {label} matcher keeps out",
                "interval": f"{int(t.interval)}s",
                "series": series,
                "expect": [
                    {"at": _at((t.hold - 1) * t.interval), "firing": None},
                    {"at": _at((total - 1) * t.interval), "firing": None},
                ],
                "layers": ["exact"],
                "live_note": LIVE_NOTE,
            }
        )
    return out


_TODO = re.compile(r"^# TODO (\S+) ", re.M)


def rules_without_scenarios(config: ObsConfig) -> list[AlertRule]:
    """Each alert name (its first rule) with no scenario and no TODO stub yet."""
    folder = config.locate(ALERT_SCENARIOS)
    covered = {s.alert for s in load_scenarios(folder)} if folder.is_dir() else set()
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        covered.update(_TODO.findall(path.read_text(encoding="utf-8")))
    seen: set[str] = set()
    rules = []
    for rule in config.alert_rules():
        if rule.name not in covered and rule.name not in seen:
            seen.add(rule.name)
            rules.append(rule)
    return rules


def todo_block(stub: Stub) -> str:
    """A commented scenario skeleton for a rule the scaffold could not write."""
    rule = stub.rule
    where = f"{rule.file}:{rule.line}"
    plans = plan_series(rule.expr, where)
    lines = [
        f"# TODO {rule.name} ({rule.file.name}:{rule.line}): {stub.todo}.",
        "# Write its series and checkpoints; its selectors, as series:",
        f"# - id: {_slug(rule.name)}-fires",
        f"#   alert: {rule.name}",
        "#   intent: TODO",
        "#   interval: 1m",
        "#   series:",
    ]
    for plan in plans if isinstance(plans, list) else []:
        lines.append(f"#     - series: '{plan.selector()}'")
        lines.append("#       values: TODO")
    lines += ["#   expect:", "#     - at: TODO", "#       firing: []", ""]
    return "\n".join(lines)


def output_file(folder: Path) -> Path:
    """A file name in `folder` that no file has yet: nothing is overwritten."""
    for n in range(1, 1000):
        path = folder / ("scaffolded.yaml" if n == 1 else f"scaffolded-{n}.yaml")
        if not path.exists():
            return path
    raise GateError(f"{folder}: scaffolded.yaml .. scaffolded-999.yaml all exist")


def scaffold(config: ObsConfig) -> tuple[Path | None, list[Stub]]:
    """Write the stubs of every rule without scenarios; (the file, or None, and the stubs)."""
    rules = rules_without_scenarios(config)
    if not rules:
        return None, []
    folder = config.locate(ALERT_SCENARIOS)
    folder.mkdir(parents=True, exist_ok=True)
    target = output_file(folder)
    rule_files = config.rule_files()
    stubs = []
    with tempfile.TemporaryDirectory(prefix="obs-gate-scaffold-") as tmp:
        for rule in rules:
            try:
                stubs.append(scaffold_rule(rule, rule_files, Path(tmp), target))
            except ConfigError as exc:
                stubs.append(Stub(rule, todo=str(exc)))
    written = [raw for stub in stubs for raw in stub.scenarios]
    head = (
        "# Written by `obs-gate scaffold`: each scenario passed promtool as written. Read each\n"
        "# one, make its intent yours, then drop `layers`/`live_note` to run it live too.\n"
    )
    todos = "\n".join(todo_block(s) for s in stubs if s.todo)
    body = yaml.safe_dump({"scenarios": written}, sort_keys=False, width=100) if written else ""
    if not written:
        body = "scenarios: []\n"
    target.write_text(head + body + ("\n" + todos if todos else ""))
    return target, stubs


def main(argv: list[str]) -> int:
    """`obs-gate scaffold [DIR]`: exit 0 written (or nothing to write), 4 the config does not
    load."""
    import argparse

    from obsgate import options

    parser = argparse.ArgumentParser(
        prog="obs-gate scaffold",
        description="Write scenario stubs for every alert rule of DIR without scenarios "
        "(docs/self-test.md).",
    )
    parser.add_argument("dir", nargs="?", default=str(options.DEFAULT_CONFIG_DIR))
    args = parser.parse_args(argv)
    try:
        config = ObsConfig(Path(args.dir))
        from obsgate.preflight import check_config

        check_config(config, 1.0)
        target, stubs = scaffold(config)
    except GateError as exc:
        print(f"obs-gate scaffold: {exc} (the config must load first)", file=sys.stderr)
        return 4
    except yaml.YAMLError as exc:
        print(f"obs-gate scaffold: {args.dir}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 4
    if target is None:
        print("obs-gate scaffold: every alert rule has scenarios or a TODO stub; nothing written")
        return 0
    written = sum(len(s.scenarios) for s in stubs)
    print(f"obs-gate scaffold: {target}: {written} scenarios checked by promtool, "
          f"{sum(1 for s in stubs if s.todo)} TODO stubs")  # fmt: skip
    for stub in stubs:
        state = f"TODO: {stub.todo}" if stub.todo else f"{len(stub.scenarios)} scenarios"
        print(f"  {stub.rule.name} ({stub.rule.file.name}:{stub.rule.line}): {state}")
        for note in stub.notes if not stub.todo else []:
            print(f"    {note}")
    return 0
