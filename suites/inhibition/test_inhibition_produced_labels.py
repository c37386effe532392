"""Inhibition, end to end: do the inhibit rules mute anything, with the label sets the real rules
produce (the firing alerts of the alert scenarios), in the real Alertmanager?

Each pushed alert keeps its labels; `gate_test` and a prefix on every `equal` label it carries
(the same prefix on both sides, so equal stays equal) keep it from meeting other suites'
alerts. Where no produced pair can meet, the test pushes the pairs the matchers select, and
a control (the target given the source's `equal` labels, which is what the rules would
produce if they kept them) shows that Alertmanager has seen the source before it judges.
"""

from __future__ import annotations

import json

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import declared_finding, fail, judge
from obsgate.scenarios.inhibition import InhibitionCase, InhibitRule, LabelSet
from obsgate.scenarios.routing import produced_alerts
from obsgate.stack.alertmanager_api import AlertmanagerAPI, describe, state

pytestmark = [
    pytest.mark.inhibition,
    pytest.mark.requires("scenarios/inhibition"),
    pytest.mark.needs("alertmanager"),
    pytest.mark.writes("pushes test alerts into Alertmanager"),
]


def isolated(rule: InhibitRule, labels: LabelSet, tag: str) -> LabelSet:
    """Prefix the `equal` labels present (not those a matcher reads) with `tag`: equality is
    kept, and a prefixed alertname is no longer the word the routing suite looks for."""
    keep = rule.matcher_labels()
    return {k: f"{tag}_{v}" if k in rule.equal and k not in keep else v for k, v in labels.items()}


def control_for(rule: InhibitRule, source: LabelSet, target: LabelSet) -> LabelSet | None:
    """The target as it would be if it carried the source's `equal` labels, if that satisfies
    the rule; None where no such alert exists (then the test waits its full bound)."""
    control = {k: v for k, v in target.items() if k not in rule.equal}
    control.update({k: source[k] for k in rule.equal if k in source})
    control["gate_control"] = "true"
    return control if rule.inhibits(source, control) else None


def short(labels: LabelSet) -> str:
    return json.dumps(labels, sort_keys=True)


def test_rule_mutes_what_the_rules_produce(
    case: InhibitionCase, obs_config: ObsConfig, am_api: AlertmanagerAPI
) -> None:
    rule = case.rule
    finding = declared_finding(obs_config, case.id, case.finding, evidence=case.finding_unmuted)
    produced = produced_alerts(obs_config)
    sources = [a for a in produced if rule.selects_source(a)]
    targets = [a for a in produced if rule.selects_target(a)]
    assert sources and targets, (
        f"{rule.describe()}: the rules produce no alert for its "
        f"{'source' if not sources else 'target'} side; intent: {case.intent}"
    )
    pairs = [(s, t) for s in sources for t in targets if rule.inhibits(s, t)]
    if pairs:
        muted_by_model(rule, pairs, am_api)
        judge(holds=True, finding=finding, failure="")
        return
    unmuted, failure = nothing_meets(case, sources, targets, am_api)
    judge(
        holds=not unmuted,
        finding=finding,
        observed=frozenset(t["alertname"] for t in unmuted),
        failure=failure,
    )


def muted_by_model(
    rule: InhibitRule, pairs: list[tuple[LabelSet, LabelSet]], am: AlertmanagerAPI
) -> None:
    """Every pair the model says meets: Alertmanager mutes its target by its source."""
    pushed = [
        (isolated(rule, s, f"{am.test_id}-{n}"), isolated(rule, t, f"{am.test_id}-{n}"))
        for n, (s, t) in enumerate(pairs)
    ]
    am.fire(*{short(x): x for pair in pushed for x in pair}.values())

    def all_muted(alerts: list[dict]) -> bool:
        return all(
            am.find(alerts, s) is not None
            and am.find(alerts, s)["fingerprint"] in state(am.find(alerts, t))[1]
            for s, t in pushed
        )

    am.wait_until(all_muted, f"{rule.describe()}: each produced target muted by its source")


def nothing_meets(
    case: InhibitionCase, sources: list[LabelSet], targets: list[LabelSet], am: AlertmanagerAPI
) -> tuple[list[LabelSet], str]:
    """No produced pair meets: push them all and return the produced targets Alertmanager
    leaves unmuted (none if it mutes any), with the failure that describes them. Where the
    controls stay unmuted too, the run proves nothing about the produced targets: a failure."""
    rule = case.rule
    pushed_sources = [isolated(rule, s, am.test_id) for s in sources]
    pushed_targets = [isolated(rule, t, am.test_id) for t in targets]
    controls = [
        c
        for c in (control_for(rule, pushed_sources[0], t) for t in pushed_targets)
        if c is not None
    ]
    am.fire(*pushed_sources, *pushed_targets, *controls)

    def settled(alerts: list[dict]) -> bool:
        muted = any(state(am.find(alerts, t))[0] == "suppressed" for t in pushed_targets)
        return muted or (bool(controls) and state(am.find(alerts, controls[0]))[0] == "suppressed")

    try:
        seen = am.wait_until(settled, "a produced target or a control muted")
    except AssertionError:
        seen = am.alerts()  # no control, or it was never muted: judge what is there
    muted = [t for t in pushed_targets if state(am.find(seen, t))[0] == "suppressed"]
    if muted:
        return [], ""
    unmuted_controls = [c for c in controls if state(am.find(seen, c))[0] != "suppressed"]
    if unmuted_controls:  # Alertmanager has not seen the source, or disagrees with the model
        fail(
            f"{rule.describe()}: the controls (targets carrying the source's `equal` labels, "
            "which the rule must mute) are not muted either, so this run cannot tell whether "
            f"the produced targets would be: {'; '.join(short(c) for c in unmuted_controls)}\n"
            f"{describe(seen)}"
        )
    return targets, (
        f"intent: {case.intent}\n{rule.describe()}\n"
        f"  sources the rules produce: {'; '.join(short(s) for s in sources)}\n"
        f"  targets the rules produce: {'; '.join(short(t) for t in targets)}\n"
        "  Alertmanager mutes none of those targets"
        + (
            "; the same targets with the source's `equal` labels (controls) it does mute"
            if controls
            else ""
        )
        + f":\n{describe(seen)}"
    )
