"""Inhibition, live: each of the config's inhibit rules, as the real Alertmanager applies it.

Hand-made alerts that satisfy a rule (from `<config>/scenarios/inhibition/*.yaml`) are pushed
to Alertmanager's API v2 on a timeline, like Alertmanager's own acceptance tests
(test/with_api_v2/acceptance/inhibit_test.go), and each test says what its status must show.
They test Alertmanager's semantics of the config's rules, whether or not the real alerts can
ever meet them (that is the end-to-end module's question).
"""

from __future__ import annotations

import pytest

from obsgate.scenarios.inhibition import InhibitionCase, LabelSet
from obsgate.stack.alertmanager_api import AlertmanagerAPI, state

pytestmark = [
    pytest.mark.inhibition,
    pytest.mark.requires("scenarios/inhibition"),
    pytest.mark.needs("alertmanager"),
    pytest.mark.writes("pushes test alerts into Alertmanager"),
]


def hand_made(case: InhibitionCase, am: AlertmanagerAPI) -> tuple[LabelSet, LabelSet]:
    """The case's source and target, every `equal` label it leaves out set to this test's id."""
    unique = {name: f"{am.test_id}-{name}" for name in case.isolation_labels()}
    return {**case.source, **unique}, {**case.target, **unique}


def differing(case: InhibitionCase, target: LabelSet) -> LabelSet:
    """The target with one `equal` label changed, so it no longer agrees with the source."""
    name = case.isolation_labels()[0]
    return {**target, name: f"{target[name]}-other"}


def fingerprint(am: AlertmanagerAPI, alerts: list[dict], labels: LabelSet) -> str:
    alert = am.find(alerts, labels)
    assert alert is not None, f"Alertmanager lost the alert {am.own(labels)}"
    return alert["fingerprint"]


def wait_suppressed_by(am: AlertmanagerAPI, target: LabelSet, source: LabelSet) -> list[dict]:
    """Until the target is suppressed and `inhibitedBy` names exactly the source."""

    def holds(alerts: list[dict]) -> bool:
        src = am.find(alerts, source)
        return src is not None and state(am.find(alerts, target)) == (
            "suppressed",
            [src["fingerprint"]],
        )

    return am.wait_until(
        holds, f"target {am.own(target)} suppressed, inhibitedBy = [source's fingerprint]"
    )


def test_target_is_muted_while_source_fires(case: InhibitionCase, am_api: AlertmanagerAPI) -> None:
    source, target = hand_made(case, am_api)
    am_api.fire(source, target)  # at 0: both fire, with equal `equal` labels
    seen = wait_suppressed_by(am_api, target, source)  # within 10 s: target muted by source
    assert state(am_api.find(seen, source)) == ("active", []), "the source must stay active"


def test_target_is_active_again_once_source_resolves(
    case: InhibitionCase, am_api: AlertmanagerAPI
) -> None:
    source, target = hand_made(case, am_api)
    am_api.fire(source, target)  # at 0: both fire
    wait_suppressed_by(am_api, target, source)  # then: target muted
    am_api.resolve(source)  # then: the source resolves (endsAt now)
    am_api.wait_until(  # within 10 s: the target is active, inhibited by nothing
        lambda alerts: state(am_api.find(alerts, target)) == ("active", []),
        f"target {am_api.own(target)} active again after its source resolved",
    )


def test_target_stays_active_when_equal_labels_differ(
    case: InhibitionCase, am_api: AlertmanagerAPI
) -> None:
    """A control target that does agree with the source shows the inhibitor has seen it, so
    the other target's `active` is judged at a moment when muting it would have happened."""
    source, control = hand_made(case, am_api)
    other = differing(case, control)
    am_api.fire(source, control, other)  # at 0: a source, a target that agrees, one that differs
    seen = wait_suppressed_by(am_api, control, source)
    assert state(am_api.find(seen, other)) == ("active", []), (
        f"{am_api.own(other)} differs from the source in "
        f"{case.isolation_labels()[0]!r}, one of the `equal` labels {list(case.rule.equal)}, "
        f"yet Alertmanager shows it {state(am_api.find(seen, other))} "
        f"(source {fingerprint(am_api, seen, source)})"
    )
