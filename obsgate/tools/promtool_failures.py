"""What `promtool test rules` printed for each check that failed, by check: the alerts it
got at an eval time, or the samples an expression returned.

promtool prints only the checks that failed, so a check that is absent here held. The
figures read this: which checkpoint promtool disagreed with and what it saw there, and (a
probe that expects nothing at every step) when an alert was firing and what a recorded
ratio read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from obsgate.config import parse_duration

_ALERT_HEAD = re.compile(r"^\s*alertname: (?P<name>[^,]+), time: (?P<time>[^,]+),")
_EXPR_HEAD = re.compile(r'^\s*expr: (?P<expr>".*"), time: (?P<time>[^,\s]+),?')
_LABEL_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
_SAMPLE = re.compile(r"(\{(?:[^\"}]|\"(?:[^\"\\]|\\.)*\")*\})\s+(\S+?)(?:,\s*|$)")


def _pairs(text: str) -> dict[str, str]:
    return {k: json.loads(f'"{v}"') for k, v in _LABEL_PAIR.findall(text)}


@dataclass
class AlertFailure:
    """A failed alert check: the alerts promtool got at that eval time ([] for none)."""

    alert: str
    at: float  # seconds of simulated time
    got: list[dict[str, str]] = field(default_factory=list)  # each alert's labels
    annotations: list[dict[str, str]] = field(default_factory=list)  # each alert's, in order


@dataclass
class ExprFailure:
    """A failed expression check: the samples promtool got ([] for none), or its error."""

    expr: str
    at: float
    got: list[tuple[dict[str, str], float]] = field(default_factory=list)
    error: str = ""


@dataclass
class Failures:
    alerts: list[AlertFailure] = field(default_factory=list)
    exprs: list[ExprFailure] = field(default_factory=list)

    def alert_at(self, alert: str, at: float) -> AlertFailure | None:
        return next((f for f in self.alerts if f.alert == alert and f.at == at), None)


def _seconds(text: str) -> float:
    return parse_duration(text.strip(), "promtool's output")


def parse_failures(output: str) -> Failures:
    """Every failed alert and expression check in promtool's output, in its order."""
    found = Failures()
    current: AlertFailure | ExprFailure | None = None
    in_got = False
    for line in output.splitlines():
        text = line.strip()
        if head := _ALERT_HEAD.match(line):
            current = AlertFailure(head["name"].strip(), _seconds(head["time"]))
            found.alerts.append(current)
            in_got = False
        elif head := _EXPR_HEAD.match(line):
            current = ExprFailure(json.loads(head["expr"]), _seconds(head["time"]))
            if "err:" in line:
                current.error = line.split("err:", 1)[1].strip()
            found.exprs.append(current)
            in_got = False
        elif text.startswith("exp:"):
            in_got = False
        elif text.startswith("got:"):
            in_got = True
            if isinstance(current, ExprFailure):
                rest = text.removeprefix("got:").strip()
                current.got = [(_pairs(m[0]), float(m[1])) for m in _SAMPLE.findall(rest)]
        elif in_got and isinstance(current, AlertFailure) and text.startswith("Labels:{"):
            current.got.append(_pairs(text))
        elif in_got and isinstance(current, AlertFailure) and text.startswith("Annotations:{"):
            current.annotations.append(_pairs(text))
    return found
