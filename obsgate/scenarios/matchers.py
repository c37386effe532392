"""Whether a rule's scenarios exercise each label matcher of its selectors.

A matcher is exercised when one scenario of the rule holds, beside a series the selector
keeps, a series of its metric that this matcher alone turns away: it meets every other
matcher of the selector (`namespace="mindweave-staging"` beside `namespace="mindweave-
services"`). Labels no matcher names do not change what the selector keeps, so the pair
need not agree on them (a staging pod has its own name and address). Without such a pair,
dropping or widening the matcher changes nothing any scenario can see: the gate would pass
a rule that also counts other namespaces' traffic. Whether the pair's values would change
the verdict is for the self-test's matcher mutants to show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from obsgate.config.rules import AlertRule
from obsgate.promql import Selector, selectors
from obsgate.scenarios.model import Scenario, Series

Matcher = tuple[str, str, str]  # label, op, value


def selects(op: str, value: str, candidate: str) -> bool:
    """Whether matcher `op value` keeps a label value, as Prometheus reads it (regexes are
    anchored)."""
    if op == "=":
        return candidate == value
    if op == "!=":
        return candidate != value
    found = re.fullmatch(value, candidate) is not None
    return found if op == "=~" else not found


def matches(matcher: Matcher, labels: dict[str, str]) -> bool:
    """The matcher on a label set: a missing label is the empty string."""
    name, op, value = matcher
    return selects(op, value, labels.get(name, ""))


def selected(selector: Selector, series: Series) -> bool:
    if selector.metric and series.name != selector.metric:
        return False
    return all(matches(m, series.labels) for m in selector.matchers if m[0] != "__name__")


def exercises(scenario: Scenario, selector: Selector, matcher: Matcher) -> bool:
    """A series the selector keeps, and one that only this matcher turns away."""
    others = tuple(m for m in selector.matchers if m != matcher)
    without = Selector(selector.metric, others)
    pair = [s for s in scenario.series if selected(without, s)]
    return any(matches(matcher, s.labels) for s in pair) and any(
        not matches(matcher, s.labels) for s in pair
    )


@dataclass(frozen=True)
class Unexercised:
    rule: AlertRule
    selector: Selector
    matcher: Matcher

    def describe(self) -> str:
        name, op, value = self.matcher
        return (
            f"{self.rule.name} ({self.rule.file.name}:{self.rule.line}): "
            f'{name}{op}"{value}" of {self.selector.text()}'
        )


def unexercised(rules: Iterable[AlertRule], scenarios: list[Scenario]) -> list[Unexercised]:
    """Every matcher of every alert rule's selectors that none of its scenarios exercises."""
    missing = []
    for rule in rules:
        own = [s for s in scenarios if s.alert == rule.name]
        for selector in selectors(rule.expr, f"{rule.file.name}:{rule.line}"):
            for matcher in selector.matchers:
                if matcher[0] == "__name__":
                    continue
                if not any(exercises(s, selector, matcher) for s in own):
                    missing.append(Unexercised(rule, selector, matcher))
    return missing
