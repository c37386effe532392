"""SLO intent as data (`<config>/scenarios/slo/*.yaml`): what a good and a bad event of each
SLO are, and the labels routing needs on its page and ticket alerts.

    routing:
      page: {severity: critical}      # labels a page alert must carry
      ticket: {severity: warning}
      required: [team]                # labels every SLO alert must carry
      slo_labels:                     # labels, with their values, each SLO's alerts carry
        <sloth id>: {team: platform}
    slis:
      <sloth id>:
        buckets: [0.1, 0.5, 1]        # histogram buckets, when an event is an observation
        error_within_total: <why>     # only if error and total count different metrics
        good: [{counter: 'metric{l="v"}'} | {histogram: 'metric{l="v"}', observe: 0.2}, ...]
        bad:  [...]
        not_counted: [...]            # events the SLI must leave out (another service's)
    findings:                         # where the config breaks this intent (strict xfails)
      <finding id>:
        slos: [<sloth id>, ...]
        checks: [<check id>, ...]     # as the suite's tests name them
        problems:                     # per check, exactly the problems it lists
          <check id>: [<problem>, ...]              # the same for every SLO of the finding
          <check id>: {<sloth id>: [<problem>, ...]}  # or per SLO, where they differ
        finding: <what the config does, what it should do>

Each check computes a list of problems in words that do not change from run to run (no live
ratio, no temp path); the failure shows them. A finding holds only while a check's problems
are exactly those it pins: one more or one fewer fails the gate, naming the difference.

An event increments every series its list names. `series(mix)` turns a timeline of event
rates into cumulative counter values per step, for promtool and for live scrape targets.
`not_counted` events are served beside them, as many per step as good and bad together (a
neighbour with the same traffic): an SLI whose query also selected them would read another
ratio, so a dropped or widened matcher of its queries is seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser

from obsgate import findings
from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError

INTENT_DIR = "scenarios/slo"


@dataclass(frozen=True)
class Increment:
    """One series family an event touches: a counter, or a histogram observation."""

    kind: str  # "counter" or "histogram"
    name: str
    labels: tuple[tuple[str, str], ...]
    observe: float = 0.0


@dataclass(frozen=True)
class SLIIntent:
    slo_id: str
    good: tuple[Increment, ...]
    bad: tuple[Increment, ...]
    buckets: tuple[float, ...] = ()
    error_within_total: str = ""
    file: Path = field(default=Path(), compare=False)
    not_counted: tuple[Increment, ...] = ()

    def series(self, phases: list[tuple[int, float, float]]) -> dict[str, list[float]]:
        """Cumulative values, one per step from 0, of every series the events touch.

        `phases` is [(steps, good events per step, bad events per step), ...] in order.
        """
        values: dict[str, list[float]] = {}
        totals: dict[str, float] = {}
        for inc in self.good + self.bad + self.not_counted:
            for key, _ in self._deltas(inc):
                values.setdefault(key, [0.0])
                totals.setdefault(key, 0.0)
        for steps, good, bad in phases:
            per_step: dict[str, float] = dict.fromkeys(values, 0.0)
            mix = ((good, self.good), (bad, self.bad), (good + bad, self.not_counted))
            for events, incs in mix:
                for inc in incs:
                    for key, amount in self._deltas(inc):
                        per_step[key] += events * amount
            for _ in range(steps):
                for key, column in values.items():
                    totals[key] += per_step[key]
                    column.append(totals[key])
        return values

    def _deltas(self, inc: Increment) -> list[tuple[str, float]]:
        """(series selector, amount per event) for each series one event increments."""
        if inc.kind == "counter":
            return [(_selector(inc.name, inc.labels), 1.0)]
        # Every bucket exists from the start, as a client library exports it; an event
        # counts in each bucket whose bound is at or above its observed value.
        out = [
            (
                _selector(f"{inc.name}_bucket", (*inc.labels, ("le", _le(b)))),
                float(inc.observe <= b),
            )
            for b in (*self.buckets, float("inf"))
        ]
        out.append((_selector(f"{inc.name}_count", inc.labels), 1.0))
        out.append((_selector(f"{inc.name}_sum", inc.labels), inc.observe))
        return out


@dataclass(frozen=True)
class RoutingIntent:
    page: dict[str, str]
    ticket: dict[str, str]
    required: tuple[str, ...]
    slo_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # sloth id -> labels


@dataclass(frozen=True)
class Finding:
    id: str
    slos: tuple[str, ...]
    checks: tuple[str, ...]
    problems: dict[tuple[str, str], frozenset[str]]  # (check id, sloth id) -> its problems
    text: str

    def pinned(self, check: str, slo_id: str, config: ObsConfig) -> findings.Finding | None:
        """The finding as the judge takes it: its evidence the exact problems `check` lists
        for `slo_id` while the config breaks it this way (category and seed line from the
        config's findings.yaml)."""
        return findings.declared_finding(config, self.id, self.text, self.problems[check, slo_id])


@dataclass(frozen=True)
class SLOIntent:
    routing: RoutingIntent
    slis: dict[str, SLIIntent]
    findings: tuple[Finding, ...] = ()

    def finding(self, check: str, slo_id: str) -> Finding | None:
        """The known finding of `check` for one SLO, if the config declares one."""
        return next((f for f in self.findings if check in f.checks and slo_id in f.slos), None)


def _le(bound: float) -> str:
    """A bucket bound as client libraries write it: 0.5, 1.0, +Inf."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def _selector(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{name}{{{inner}}}"


def _increment(raw: Any, where: str) -> Increment:
    if not isinstance(raw, dict) or len({"counter", "histogram"} & set(raw)) != 1:
        raise ConfigError(f"{where}: an event is {{counter: sel}} or {{histogram: sel, observe}}")
    kind = "counter" if "counter" in raw else "histogram"
    try:
        node = promql_parser.parse(str(raw[kind]))
    except ValueError as exc:
        raise ConfigError(f"{where}: {raw[kind]!r} is not a selector ({exc})") from None
    if not isinstance(node, promql_parser.VectorSelector) or not node.name:
        raise ConfigError(f"{where}: {raw[kind]!r} must be a metric name with labels")
    labels = tuple((m.name, m.value) for m in node.matchers.matchers)
    observe = raw.get("observe")
    if kind == "histogram" and not isinstance(observe, int | float):
        raise ConfigError(f"{where}: a histogram event needs 'observe: <seconds>'")
    return Increment(kind, node.name, labels, float(observe or 0.0))


def _sli(slo_id: str, raw: Any, path: Path) -> SLIIntent:
    where = f"{path}: slis.{slo_id}"
    if not isinstance(raw, dict) or not raw.get("good") or not raw.get("bad"):
        raise ConfigError(f"{where}: give 'good' and 'bad' event lists")
    good = tuple(_increment(r, f"{where}.good") for r in raw["good"])
    bad = tuple(_increment(r, f"{where}.bad") for r in raw["bad"])
    other = raw.get("not_counted") or []
    if not isinstance(other, list):
        raise ConfigError(f"{where}.not_counted: give a list of events")
    not_counted = tuple(_increment(r, f"{where}.not_counted") for r in other)
    buckets = tuple(float(b) for b in raw.get("buckets") or ())
    if any(i.kind == "histogram" for i in good + bad + not_counted) and not buckets:
        raise ConfigError(f"{where}: histogram events need 'buckets'")
    why = str(raw.get("error_within_total") or "")
    return SLIIntent(slo_id, good, bad, buckets, why, file=path, not_counted=not_counted)


def load_intent(config: ObsConfig) -> SLOIntent | None:
    """The config's SLO intent, or None if it brings none."""
    files = sorted((config.locate(INTENT_DIR)).glob("*.yaml"))
    routing: RoutingIntent | None = None
    slis: dict[str, SLIIntent] = {}
    findings: list[Finding] = []
    for path in files:
        doc = load_yaml(path) or {}
        if "routing" in doc:
            r = doc["routing"] or {}
            routing = RoutingIntent(
                {str(k): str(v) for k, v in (r.get("page") or {}).items()},
                {str(k): str(v) for k, v in (r.get("ticket") or {}).items()},
                tuple(str(x) for x in r.get("required") or ()),
                _slo_labels(r.get("slo_labels") or {}, f"{path}: routing.slo_labels"),
            )
        for slo_id, raw in (doc.get("slis") or {}).items():
            slis[str(slo_id)] = _sli(str(slo_id), raw, path)
        findings.extend(_finding(str(k), v, path) for k, v in (doc.get("findings") or {}).items())
    if not files:
        return None
    return SLOIntent(routing or RoutingIntent({}, {}, ()), slis, tuple(findings))


def _slo_labels(raw: Any, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ConfigError(f"{where}: map each Sloth id to its labels, e.g. {{team: platform}}")
    return {str(k): {str(n): str(v) for n, v in labels.items()} for k, labels in raw.items()}


def _finding(finding_id: str, raw: Any, path: Path) -> Finding:
    where = f"{path}: findings.{finding_id}"
    if isinstance(raw, dict) and "shows" in raw:
        raise ConfigError(
            f"{where}: 'shows' (a text the failure contains) is no longer read; write "
            "'problems: {<check>: [<problem>, ...]}' instead, the exact problems each check "
            "lists (its failure shows them), per SLO where they differ: {<check>: {<slo>: [...]}}"
        )
    if not isinstance(raw, dict) or not all(
        raw.get(k) for k in ("slos", "checks", "problems", "finding")
    ):
        raise ConfigError(f"{where}: give 'slos', 'checks', 'problems' and 'finding'")
    slos = tuple(str(x) for x in raw["slos"])
    checks = tuple(str(x) for x in raw["checks"])
    return Finding(
        finding_id,
        slos,
        checks,
        _pins(raw["problems"], slos, checks, where),
        " ".join(str(raw["finding"]).split()),
    )


def _pins(
    raw: Any, slos: tuple[str, ...], checks: tuple[str, ...], where: str
) -> dict[tuple[str, str], frozenset[str]]:
    """`problems`: for each check, one list for every SLO of the finding, or one per SLO."""
    if not isinstance(raw, dict) or {str(k) for k in raw} != set(checks):
        got = sorted(str(k) for k in raw) if isinstance(raw, dict) else raw
        raise ConfigError(
            f"{where}: 'problems' maps each of the checks {list(checks)} to the problems it "
            f"lists (got {got})"
        )
    pins: dict[tuple[str, str], frozenset[str]] = {}
    for check, value in raw.items():
        per_slo = value if isinstance(value, dict) else dict.fromkeys(slos, value)
        if {str(k) for k in per_slo} != set(slos):
            raise ConfigError(
                f"{where}: problems.{check} gives a list per SLO of {list(slos)} "
                f"(got {sorted(str(k) for k in per_slo)})"
            )
        for slo_id, items in per_slo.items():
            if not isinstance(items, list) or not items:
                raise ConfigError(
                    f"{where}: problems.{check}: give the list of problems the check lists "
                    f"for {slo_id} (a finding has at least one)"
                )
            pins[str(check), str(slo_id)] = frozenset(" ".join(str(p).split()) for p in items)
    return pins


def failure_text(header: str, problems: Sequence[str], detail: str = "") -> str:
    """The failure of a check: what it checked, its problems one a line, then the detail
    (a tool's output) that shows where they come from."""
    lines = [header, *(f"  - {p}" for p in problems)]
    return "\n".join([*lines, detail] if detail else lines)


def judge(problems: Sequence[str], failure: str, finding: findings.Finding | None) -> None:
    """Pass if the check lists no problems; else fail with `failure`, or, where `finding` is
    declared, an expected failure only while the problems are exactly the ones it pins (one
    more or one fewer: red, naming the difference; none left: fixed, red)."""
    findings.judge(
        holds=not problems,
        observed=frozenset(" ".join(p.split()) for p in problems),
        finding=finding,
        failure=failure,
    )
