"""Inhibit rules as Alertmanager 0.25 evaluates them, and the intent written for them.

`InhibitRule.inhibits(source, target)` follows `inhibit/inhibit.go`: both sides' matchers,
the `equal` labels compared with a missing label read as the empty value (missing on both
sides is equal, on one side is not), and an alert that matches both sides cannot be
inhibited by another that does too. Regexes are anchored, as Alertmanager anchors them;
Python's `re` stands in for Go's RE2, which agree on the simple patterns configs use.

Intent lives in `<config>/scenarios/inhibition/*.yaml` (format in the shipped file).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError

INHIBITION_SCENARIOS = "scenarios/inhibition"
SIDES = ("source", "target")
KNOWN_KEYS = {f"{side}_{kind}" for side in SIDES for kind in ("match", "match_re", "matchers")}
_MATCHER = re.compile(
    r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s{},=~!]*))\s*$'
)
LabelSet = dict[str, str]


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # =, !=, =~, !~
    value: str

    def matches(self, labels: LabelSet) -> bool:
        actual = labels.get(self.name, "")
        if self.op in ("=", "!="):
            return (actual == self.value) == (self.op == "=")
        return (re.fullmatch(self.value, actual) is not None) == (self.op == "=~")

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matcher(text: str, where: str) -> Matcher:
    """One `name op "value"` of the `*_matchers` syntax; anything richer fails by name."""
    m = _MATCHER.match(text)
    if not m:
        raise ConfigError(
            f'{where}: matcher {text!r} is not of the form name="value" (=, !=, =~, !~); '
            "the gate supports one matcher per list entry, without braces"
        )
    name, op, quoted, bare = m.groups()
    value = bytes(quoted, "utf-8").decode("unicode_escape") if quoted is not None else bare
    return Matcher(name, op, value)


@dataclass(frozen=True)
class InhibitRule:
    index: int
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"inhibit_rules[{self.index}]"

    def describe(self) -> str:
        src = ", ".join(map(str, self.source)) or "any alert"
        tgt = ", ".join(map(str, self.target)) or "any alert"
        return f"{self.id}: {{{src}}} mutes {{{tgt}}} with equal {list(self.equal)}"

    def selects_source(self, labels: LabelSet) -> bool:
        return all(m.matches(labels) for m in self.source)

    def selects_target(self, labels: LabelSet) -> bool:
        return all(m.matches(labels) for m in self.target)

    def equal_on(self, source: LabelSet, target: LabelSet) -> bool:
        return all(source.get(name, "") == target.get(name, "") for name in self.equal)

    def inhibits(self, source: LabelSet, target: LabelSet) -> bool:
        if not (self.selects_source(source) and self.selects_target(target)):
            return False
        if self.selects_source(target) and self.selects_target(source):
            return False  # two-sided alerts never inhibit each other (nor themselves)
        return self.equal_on(source, target)

    def matcher_labels(self) -> set[str]:
        return {m.name for m in (*self.source, *self.target)}


def _short(labels: LabelSet, equal: tuple[str, ...]) -> str:
    """An alert by name and its `equal` labels, a missing one shown as such."""
    shown = {name: labels.get(name, "<missing>") for name in equal if name != "alertname"}
    return f"{labels.get('alertname')}{json.dumps(shown, sort_keys=True)}"


def why_dead(rule: InhibitRule, alerts: list[LabelSet]) -> str:
    sources = [a for a in alerts if rule.selects_source(a)]
    targets = [a for a in alerts if rule.selects_target(a)]
    if not sources or not targets:
        side = "source" if not sources else "target"
        return f"{rule.describe()}\n  no alert the rules produce matches its {side} side"
    return (
        f"{rule.describe()}\n  sources the rules produce: "
        + ", ".join(_short(a, rule.equal) for a in sources)
        + "\n  targets the rules produce: "
        + ", ".join(_short(a, rule.equal) for a in targets)
        + "\n  no pair agrees on every `equal` label (missing on one side only is unequal)"
    )


def dead_rules(rules: list[InhibitRule], alerts: list[LabelSet]) -> list[str]:
    """Why each rule that no pair of `alerts` (every label set of every rule, tiers of one
    name included) can trigger is dead; [] when all can match."""
    return [
        why_dead(rule, alerts)
        for rule in rules
        if not any(rule.inhibits(s, t) for s in alerts for t in alerts)
    ]


def _side(raw: dict[str, Any], side: str, where: str) -> tuple[Matcher, ...]:
    found: list[Matcher] = []
    for name, value in (raw.get(f"{side}_match") or {}).items():
        found.append(Matcher(str(name), "=", str(value)))
    for name, value in (raw.get(f"{side}_match_re") or {}).items():
        found.append(Matcher(str(name), "=~", str(value)))
    for text in raw.get(f"{side}_matchers") or []:
        found.append(parse_matcher(str(text), f"{where}.{side}_matchers"))
    return tuple(found)


def inhibit_rules(config: ObsConfig) -> list[InhibitRule]:
    """The config's inhibit rules; a key the gate cannot evaluate stops it by name."""
    source = config.alertmanager_source().describe()
    rules = []
    for i, raw in enumerate(config.alertmanager().get("inhibit_rules") or []):
        where = f"{source}: inhibit_rules[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = sorted(set(raw) - KNOWN_KEYS - {"equal"})
        if unknown:
            raise ConfigError(
                f"{where}: the gate cannot evaluate {unknown}; teach inhibit_rules.py"
            )
        rules.append(
            InhibitRule(
                i,
                _side(raw, "source", where),
                _side(raw, "target", where),
                tuple(raw.get("equal") or ()),
            )
        )
    return rules


@dataclass(frozen=True)
class InhibitionCase:
    """Intent for one inhibit rule, and a hand-made source and target that satisfy it."""

    id: str
    rule: InhibitRule
    intent: str
    source: LabelSet
    target: LabelSet
    file: Path
    finding: str | None = None  # why the labels the rules produce never meet this intent
    # the finding's evidence: the produced targets (alertnames) Alertmanager leaves unmuted
    finding_unmuted: frozenset[str] | None = None

    def isolation_labels(self) -> list[str]:
        """The `equal` labels the test fills with a unique value: the ones the case leaves out."""
        given = set(self.source) | set(self.target) | self.rule.matcher_labels()
        return [name for name in self.rule.equal if name not in given]


def load_inhibition_cases(config: ObsConfig) -> list[InhibitionCase]:
    directory = config.locate(INHIBITION_SCENARIOS)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no inhibition scenarios (scenarios/inhibition/*.yaml)")
    rules = inhibit_rules(config)
    cases = []
    for file in sorted(directory.glob("*.yaml")):
        doc = load_yaml(file)
        if not isinstance(doc, dict) or not isinstance(doc.get("inhibition"), list):
            raise ConfigError(f"{file}: expected a top-level 'inhibition:' list")
        for n, raw in enumerate(doc["inhibition"]):
            where = f"{file}: inhibition[{n}]"
            if not isinstance(raw, dict) or not {"id", "rule", "source", "target"} <= set(raw):
                raise ConfigError(f"{where}: each entry needs 'id', 'rule', 'source', 'target'")
            index = raw["rule"]
            if not isinstance(index, int) or not 0 <= index < len(rules):
                raise ConfigError(f"{where}: 'rule' {index!r} is no index of inhibit_rules")
            case = InhibitionCase(
                id=str(raw["id"]),
                rule=rules[index],
                intent=" ".join(str(raw.get("intent", "")).split()),
                source={str(k): str(v) for k, v in raw["source"].items()},
                target={str(k): str(v) for k, v in raw["target"].items()},
                file=file,
                finding=" ".join(str(raw["finding"]).split()) if raw.get("finding") else None,
                finding_unmuted=_unmuted_pin(raw, where),
            )
            _check_case(case, where)
            cases.append(case)
    return cases


def _unmuted_pin(raw: dict, where: str) -> frozenset[str] | None:
    """`finding_unmuted`: the alertnames of the produced targets the finding leaves unmuted."""
    if not raw.get("finding"):
        if "finding_unmuted" in raw:
            raise ConfigError(f"{where}: 'finding_unmuted' pins a finding; give 'finding' too")
        return None
    pin = raw.get("finding_unmuted")
    if not isinstance(pin, list) or not pin:
        raise ConfigError(
            f"{where}: a finding pins its evidence: give 'finding_unmuted', the alertnames of the "
            "targets the rules produce that Alertmanager leaves unmuted"
        )
    return frozenset(str(name) for name in pin)


def _check_case(case: InhibitionCase, where: str) -> None:
    """A hand-made pair that does not satisfy its rule would test nothing: say so."""
    rule = case.rule
    if not rule.selects_source(case.source) or not rule.selects_target(case.target):
        raise ConfigError(
            f"{where} ({case.id}): source {case.source} and target {case.target} must satisfy "
            f"{rule.describe()}"
        )
    if not case.isolation_labels():
        raise ConfigError(
            f"{where} ({case.id}): leave at least one of the `equal` labels {list(rule.equal)} "
            "out of source and target; the test fills it with a unique value to isolate itself"
        )
