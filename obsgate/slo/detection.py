"""Detection in simulated time: promtool runs an SLO's generated rules over clean traffic,
then a sustained burn, and checks which alerts fire when.

Expectations come from the workbook's math (obsgate.slo.budget.first_detection), never from
a run: a severity must fire by its detection time plus a tolerance, must not fire before it
minus the tolerance, and one that the burn never reaches stays quiet to the end.
"""

from __future__ import annotations

import math
import re
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsgate.slo import rules
from obsgate.slo.budget import (
    MINUTE,
    WORKBOOK_WINDOWS,
    error_budget,
    first_detection,
    period_seconds,
    prom_duration,
)
from obsgate.slo.intent import SLIIntent
from obsgate.slo.spec import SLO
from obsgate.tools import ToolResult
from obsgate.tools.promtool_probe import reads

EVENTS_PER_STEP = 1000.0
# promtool's report of one failing alert test: its alert and eval time, then exp: and got:.
_ALERT_TEST = re.compile(r"^\s*alertname: (?P<alert>[^,]*), time: (?P<time>[^,\s]+)", re.M)
_PATH = re.compile(r"(?:/[^/\s:\"']+)+/([^/\s:\"']+)")


@dataclass(frozen=True)
class Timeline:
    """Simulated time for one severity: clean traffic for its longest window, then the burn
    for as long again (so it fills every window), sampled and evaluated every `step`."""

    severity: str
    step: float

    @property
    def longest(self) -> float:
        return max(w.long_s for w in WORKBOOK_WINDOWS if w.severity == self.severity)

    @property
    def windows(self) -> set[str]:
        pairs = [w for w in WORKBOOK_WINDOWS if w.severity == self.severity]
        return {prom_duration(s) for w in pairs for s in (w.short_s, w.long_s)}


# Three samples or more in the shortest window of each severity (5m at a 2m step for page,
# 2h at 30m for ticket): promtool's cost is per evaluation, and three days of ticket windows
# at a 1m step would cost minutes of CPU, not seconds.
TIMELINES = (Timeline("page", 2 * MINUTE), Timeline("ticket", 30 * MINUTE))


@dataclass(frozen=True)
class BurnCase:
    """A sustained burn: `burn` times the budget, or (None) a total outage."""

    id: str
    burn: float | None

    def error_ratio(self, slo: SLO) -> float:
        return 1.0 if self.burn is None else min(1.0, self.burn * error_budget(slo.objective))


CASES = (BurnCase("outage", None), BurnCase("2x", 2.0), BurnCase("0.1x", 0.1))


def tolerance(timeline: Timeline, seconds: float) -> float:
    """Two steps plus 1 %: rate() over sampled counters is not the exact window average."""
    return 2 * timeline.step + 0.01 * seconds


def expected_checks(slo: SLO, case: BurnCase, timeline: Timeline) -> dict[float, bool]:
    """Seconds after the burn starts -> whether the severity fires then, where the math is
    certain: by its detection time plus tolerance, not before it minus tolerance."""
    ratio, period = case.error_ratio(slo), period_seconds(slo.period_days)
    detect = first_detection(timeline.severity, ratio, slo.objective, period)
    step, horizon = timeline.step, timeline.longest
    if detect is None:
        return {0.0: False, horizon / 2: False, horizon: False}
    tol = tolerance(timeline, detect)
    checks = {0.0: False, horizon: True}
    checks[math.ceil((detect + tol) / step) * step] = True
    if detect - tol > 0:
        checks[math.floor((detect - tol) / step) * step] = False
    return {at: firing for at, firing in sorted(checks.items()) if at <= horizon}


def values_text(values: list[float]) -> str:
    """promtool's expanding notation, one `a+bxn` segment per constant slope."""
    segments, i = [], 0
    while i < len(values) - 1:
        delta, j = values[i + 1] - values[i], i + 1
        while j + 1 < len(values) and math.isclose(values[j + 1] - values[j], delta):
            j += 1
        start = values[i] if not segments else values[i + 1]
        count = j - i if not segments else j - i - 1
        segments.append(f"{start!r}+{delta!r}x{count}")
        i = j
    return " ".join(segments)


def _render(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"{{ *\$labels\.(\w+) *}}", lambda m: labels.get(m.group(1), ""), template)


def expected_alerts(slo: SLO, severity: str) -> list[dict[str, Any]]:
    """The alert promtool must see: the rule's labels over the SLI series' own labels."""
    series = {**rules.id_labels(slo), **slo.labels}
    out = []
    for rule in rules.alert_rules(slo):
        if rule["labels"][rules.SEVERITY_LABEL] == severity:
            notes = {k: _render(v, series) for k, v in rule["annotations"].items()}
            out.append({"exp_labels": {**series, **rule["labels"]}, "exp_annotations": notes})
    return out


def severity_rules(slo: SLO, timeline: Timeline) -> dict[str, Any]:
    """The generated SLI rules of the severity's windows and its alert; the period and
    metadata rules feed no alert and are left out."""
    sli = [r for r in rules.sli_rules(slo) if r["labels"][rules.WINDOW_LABEL] in timeline.windows]
    alerts = [
        r for r in rules.alert_rules(slo) if r["labels"][rules.SEVERITY_LABEL] == timeline.severity
    ]
    return {"groups": [{"name": f"{slo.id}-sli", "rules": sli}, {"name": slo.id, "rules": alerts}]}


def _document(slo: SLO, sli: SLIIntent, case: BurnCase, timeline: Timeline, workdir: Path):
    """The test document of one SLO, burn case and severity (its rule file written), and
    its name: the series are the SLO's own good and bad events, clean then burning."""
    ratio, step = case.error_ratio(slo), timeline.step
    steps = int(timeline.longest / step)
    phases = [
        (steps, EVENTS_PER_STEP, 0.0),
        (steps, EVENTS_PER_STEP * (1 - ratio), EVENTS_PER_STEP * ratio),
    ]
    series = [{"series": k, "values": values_text(v)} for k, v in sli.series(phases).items()]
    name = f"{slo.id}.{case.id}.{timeline.severity}"
    rule_file = workdir / f"{name}.rules.yaml"
    rule_groups = severity_rules(slo, timeline)
    rule_file.write_text(yaml.safe_dump(rule_groups, sort_keys=False))
    alert_tests = [
        {
            "eval_time": f"{int(timeline.longest + at)}s",
            "alertname": slo.page.name,
            "exp_alerts": expected_alerts(slo, timeline.severity) if firing else [],
        }
        for at, firing in expected_checks(slo, case, timeline).items()
    ]
    doc = {
        "rule_files": [str(rule_file)],
        "evaluation_interval": f"{int(step)}s",
        # promtool orders groups at random unless told: an alert evaluated before the SLI
        # ratios of the same step would read the previous step's, older than the lookback.
        "group_eval_order": [group["name"] for group in rule_groups["groups"]],
        "tests": [
            {"interval": f"{int(step)}s", "input_series": series, "alert_rule_test": alert_tests}
        ],
    }
    return doc, name


def write_test(slo: SLO, sli: SLIIntent, case: BurnCase, timeline: Timeline, workdir: Path):
    """A promtool test file, and its rule file, for one SLO, burn case and severity."""
    doc, name = _document(slo, sli, case, timeline, workdir)
    path = workdir / f"{name}.test.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=200))
    return path


def probe_ratio(timeline: Timeline) -> str:
    """The recorded error ratio the probe reads: the severity's shortest window's."""
    return rules.sli_metric(
        min(w.short_s for w in WORKBOOK_WINDOWS if w.severity == timeline.severity)
    )


def write_probe(slo: SLO, sli: SLIIntent, case: BurnCase, timeline: Timeline, workdir: Path):
    """For the report's burn figure, never for the verdict: the same rules and series, but
    checks that expect nothing at every step, so promtool prints what it had instead: the
    alert whenever it fired, and the SLO's error ratio (`probe_ratio`) at each step."""
    doc, name = _document(slo, sli, case, timeline, workdir)
    step, end = int(timeline.step), int(2 * timeline.longest)
    names = [r["alert"] for r in rules.alert_rules(slo)
             if r["labels"][rules.SEVERITY_LABEL] == timeline.severity]  # fmt: skip
    test = doc["tests"][0]
    test["alert_rule_test"] = [
        {"eval_time": f"{t}s", "alertname": alert, "exp_alerts": []}
        for t in range(step, end + 1, step)
        for alert in names
    ]
    ratio = probe_ratio(timeline)
    test["promql_expr_test"] = reads((ratio, f"{t}s") for t in range(step, end + 1, step))
    path = workdir / f"{name}.probe.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=200))
    return path


@dataclass
class DetectionRun:
    """One SLO and burn case: its test file per severity, promtool's verdict run of each
    (`checks`) and the report's probe runs (write_probe), one per severity: promtool prints
    its failures apart from the `Unit Testing: <file>` heads (stderr and stdout), so one
    run's output could not be cut by file."""

    files: dict[str, Path]  # severity -> test file
    checks: dict[str, Future[ToolResult]]  # severity -> its verdict run
    probes: dict[str, Future[ToolResult]] = field(default_factory=dict)  # one per severity

    def results(self, timeout: float | None = None) -> list[tuple[str, ToolResult]]:
        """(severity, verdict) of each severity's file."""
        return [(severity, run.result(timeout)) for severity, run in self.checks.items()]


def expects_firing(slo: SLO, case: BurnCase) -> set[str]:
    """The severities the workbook says this burn must fire."""
    return {t.severity for t in TIMELINES if any(expected_checks(slo, case, t).values())}


def problems(severity: str, result: ToolResult) -> list[str]:
    """What promtool found wrong with one severity's test file, in words that hold from run
    to run: per failing alert test, its eval time, what was expected and what fired."""
    if result.ok:
        return []
    out = result.output
    heads = list(_ALERT_TEST.finditer(out))
    found = []
    for i, head in enumerate(heads):
        block = out[head.end() : heads[i + 1].start() if i + 1 < len(heads) else len(out)]
        want = "none" if re.search(r"exp:\s*\[\]", block) else "firing"
        got = "none" if re.search(r"got:\s*\[\]", block) else "firing"
        at = f"{severity} at {head['time']}"
        if want == got:  # both fired: the labels or annotations differ
            found.append(f"{at}: fired with other labels or annotations than expected")
        else:
            found.append(f"{at}: expected {want}, got {got}")
    if not found:  # promtool could not run the test (a rule that does not load, ...)
        said = [ln.strip() for ln in out.splitlines() if ln.strip()] or ["no output"]
        found.append(f"{severity}: promtool failed: " + _PATH.sub(r"\1", said[-1]))
    return found
