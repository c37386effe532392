"""A runbook operator's templates judged against the alerts that trigger them.

The operator renders each runbook's strings with Go's text/template and the triggering
alert as data. Two things can break a step before it runs: a string text/template refuses
to parse (the step fails at once), and a `.Labels.x` or `.Annotations.x` that the alert does
not carry (it renders `<no value>`: `kubectl scale deployment <no value>`). The label sets an
alert carries are those its scenarios show it firing with; without one, those its
expression fixes (an aggregation's `by`); where neither says, the alert is not judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from obsgate.config import AlertRule, ObsConfig, Runbook
from obsgate.config.runbooks import RunbookTemplate
from obsgate.promql import output_labels
from obsgate.scenarios.model import Scenario, load_scenarios
from obsgate.scenarios.params import ALERT_SCENARIOS
from obsgate.scenarios.routing import scenario_label_sets
from obsgate.scrape_labels import rule_id
from obsgate.tools.gotemplate import TemplateCheck

# The alert's parts a runbook template reads, and what the alert calls each.
ALERT_PARTS = ("Labels", "Annotations")


def templates(runbooks: Iterable[Runbook]) -> dict[str, RunbookTemplate]:
    """Every string of every runbook that holds a template action, by `<runbook>: <path>`."""
    return {f"{rb.name}: {t.where}": t for rb in runbooks for t in rb.templates if "{{" in t.text}


def parse_offenders(
    found: Mapping[str, RunbookTemplate], checks: Mapping[str, TemplateCheck]
) -> dict[str, str]:
    """Evidence (`<runbook>: <path>: <error>`) -> where (file:line) of each template that
    text/template refuses."""
    out = {}
    for key, template in found.items():
        check = checks[key]
        if check.error is not None:
            line = template.file_line(check.line or 1)
            out[f"{key}: {check.error}"] = f"{template.file}:{line}: {template.text.strip()!r}"
    return out


@dataclass(frozen=True)
class AlertShape:
    """What a runbook's trigger can rely on: the label names of every label set the alert
    fires with (None where nothing says), and the annotations every rule of it sets."""

    rules: tuple[AlertRule, ...]
    label_sets: tuple[frozenset[str], ...] | None
    annotations: frozenset[str]


def alert_shape(rules: list[AlertRule], scenarios: list[Scenario]) -> AlertShape:
    """`rules`: the rules of one alert name that a trigger selects."""
    sets: list[frozenset[str]] = []
    known = True
    for rule in rules:
        fired = [
            frozenset(labels)
            for labels in scenario_label_sets(rule.name, scenarios)
            if rule.labels.items() <= labels.items()
        ]
        kept = output_labels(rule.expr, rule_id(rule))
        if fired:
            sets.extend(fired)
        elif kept is not None:
            sets.append(frozenset(kept | set(rule.labels) | {"alertname"}))
        else:
            known = False  # the series' own labels pass through, and no scenario shows them
    annotations = frozenset.intersection(*(frozenset(r.annotations) for r in rules))
    return AlertShape(tuple(rules), tuple(sets) if known else None, annotations)


def triggered_rules(runbook: Runbook, rules: list[AlertRule]) -> list[AlertRule]:
    return [
        r
        for r in rules
        if r.name == runbook.alert
        and (runbook.severity is None or r.labels.get("severity") == runbook.severity)
    ]


def field_offenders(
    runbooks: Iterable[Runbook],
    checks: Mapping[str, TemplateCheck],
    rules: list[AlertRule],
    scenarios: list[Scenario],
) -> dict[str, str]:
    """Evidence -> detail of each runbook reading what its alert does not carry, and of each
    runbook whose trigger no rule matches."""
    out: dict[str, str] = {}
    for rb in runbooks:
        if rb.alert is None:
            continue  # not bound to an alert: nothing to hold its fields against
        chosen = triggered_rules(rb, rules)
        if not chosen:
            tier = f" with severity {rb.severity}" if rb.severity else ""
            out[f"{rb.name}: no rule {rb.alert}{tier}"] = (
                f"{rb.file}:{rb.line}: its trigger matches no alert rule: the runbook never runs"
            )
            continue
        shape = alert_shape(chosen, scenarios)
        for t in rb.templates:
            check = checks.get(f"{rb.name}: {t.where}")
            for field in check.fields if check is not None else ():
                part, _, name = field.partition(".")
                name = name.split(".", 1)[0]
                if part not in ALERT_PARTS or not name:
                    continue
                missing = _missing(part, name, shape)
                if missing:
                    key = f"{rb.name}: .{part}.{name} not on {rb.alert}"
                    out.setdefault(key, f"{t.file}:{t.line} ({t.where}): {missing}")
    return out


def _missing(part: str, name: str, shape: AlertShape) -> str | None:
    """Why the alert lacks `.part.name`, or None if it carries it (or nothing says)."""
    ids = ", ".join(rule_id(r) for r in shape.rules)
    if part == "Annotations":
        return None if name in shape.annotations else f"{ids} sets no annotation {name!r}"
    if shape.label_sets is None:
        return None
    without = [sorted(s) for s in shape.label_sets if name not in s]
    return f"{ids} fires with labels {without}, without {name!r}" if without else None


def runbook_inputs(config: ObsConfig) -> tuple[list[AlertRule], list[Scenario]]:
    """The alert rules, and the alert scenarios (none without alert intent)."""
    directory = config.locate(ALERT_SCENARIOS)
    return config.alert_rules(), load_scenarios(directory) if directory.is_dir() else []
