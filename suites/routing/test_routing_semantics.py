"""Routing semantics, live: `continue`, the default receiver, grouping, resolve and repeat, as
the real Alertmanager applies the config's routing tree, with hand-made alerts.

In the style of Alertmanager's acceptance tests: alerts pushed to its API v2 at known times,
then what must arrive at the sink in which window. The label sets come from the config's own
tree (obsgate/scenarios/route_tree.py) and the receivers each must reach from amtool, so the
tests fit any config. Each test's alerts carry a unique `alertname`, a `group_by` label, so
their groups are the test's own in the shared Alertmanager. Receivers whose templates fail to
render, or that notify nobody, are avoided, so each test judges routing, not templates.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from obsgate.applicability import not_applicable
from obsgate.config import ObsConfig
from obsgate.params import parametrize_from_config
from obsgate.scenarios.route_tree import (
    RoutedLabels,
    RoutingPlan,
    group_by_labels,
    route_tree,
    routing_plan,
)
from obsgate.scenarios.routing import load_grouping_intent
from obsgate.sinks.capture import Notification
from obsgate.sinks.service import SinkClient
from obsgate.stack.alertmanager_api import AlertmanagerAPI
from obsgate.stack.alertmanager_config import SINK_PATHS, AlertmanagerConfigAdapter
from obsgate.stack.endpoint import Endpoint
from obsgate.tools import amtool

pytestmark = [
    pytest.mark.routing,
    pytest.mark.needs("alertmanager", "sink"),
    pytest.mark.writes("pushes test alerts into Alertmanager"),
]

# Alertmanager's notify pipeline, the sink's HTTP round trip and SinkClient's 0.1 s polling,
# on a 2-core machine shared with other live suites; measured here it adds under 0.1 s.
MARGIN = 2.0
# Longest wait a test may spend on one expectation; a positive repeat beyond it is not waited.
LONGEST_WAIT = 20.0
_COUNT = re.compile(r"^\[FIRING:(\d+)\]")


@dataclass(frozen=True)
class RouteTiming:
    """The reached routes' timings as the live Alertmanager runs them (config / time scale),
    in s; a timing the config leaves out is Alertmanager's default."""

    group_wait: float
    group_interval: float
    repeat_interval: float

    @classmethod
    def of(cls, routed: RoutedLabels, time_scale: float) -> RouteTiming:
        keys = ("group_wait", "group_interval", "repeat_interval")
        return cls(*(routed.timing(key) / time_scale for key in keys))

    @property
    def first(self) -> float:
        """A new group's first notification: group_wait, then the pipeline."""
        return self.group_wait + MARGIN

    @property
    def next_flush(self) -> float:
        """A change to a flushed group is sent at its next group_interval tick."""
        return self.group_interval + MARGIN

    @property
    def settle(self) -> float:
        """Every route's group of one alert is made in the same dispatch, so all flush within
        group_wait of the first arrival; after this, nothing else of that push will come."""
        return self.group_wait + MARGIN


@pytest.fixture(scope="module")
def plan(
    obs_config: ObsConfig,
    offline_adapter: AlertmanagerConfigAdapter,
    offline_alertmanager_config: Path,
) -> RoutingPlan:
    """The label sets each test pushes, from the config's routing tree; receivers by amtool."""
    cfg = obs_config.alertmanager()
    kinds = {
        str(r["name"]): frozenset(SINK_PATHS[k] for k in SINK_PATHS if r.get(k))
        for r in cfg.get("receivers") or []
    }
    silent = {name for name, integrations in kinds.items() if not integrations}
    broken = set(offline_adapter.missing_templates())
    return routing_plan(
        route_tree(cfg, str(offline_adapter.source)),
        lambda labels: amtool.routes_test(offline_alertmanager_config, labels),
        kinds,
        silent | broken,
        load_grouping_intent(obs_config),
    )


def planned(routed: RoutedLabels | None, shape: str) -> RoutedLabels:
    """The plan's label set for a test, or a skip naming what the tree lacks."""
    if routed is None:
        not_applicable(f"the routing tree has no {shape} whose receivers deliver")
    return routed


class HandMadeAlerts(AlertmanagerAPI):
    """One test's alerts, told apart by a unique alertname (a group_by label, so their groups
    are the test's own too), and the notifications they made at the sink."""

    def __init__(self, alertmanager: Endpoint, sink: SinkClient) -> None:
        # startsAt now, not in the past: an alert older than group_wait flushes its new group
        # at once, before a second alert of the same push can join it.
        super().__init__(
            alertmanager,
            f"GateRouting{uuid.uuid4().hex[:8]}",
            label="alertname",
            starts_at=datetime.now(UTC),
        )
        self.alertname = self.test_id
        self.sink = sink

    def mine(self, note: Notification) -> bool:
        """The default Slack title and PagerDuty summary start with the group's label values."""
        return (
            note.answered < 300
            and re.search(rf"\b{self.alertname}\b", note.title or "") is not None
        )

    def arrived(self, status: str = "firing") -> list[Notification]:
        return [n for n in self.sink.notifications() if self.mine(n) and n.status == status]

    def wait(
        self,
        receivers: list[str],
        timeout: float,
        what: str,
        status: str = "firing",
        title_has: str = "",
    ) -> list[Notification]:
        """Until each receiver has a notification of this test's alerts, all in one deadline."""
        deadline = time.monotonic() + timeout
        got = []
        for receiver in receivers:
            got += self.sink.wait_for(
                lambda n, r=receiver: (
                    self.mine(n)
                    and n.status == status
                    and n.receiver == r
                    and title_has in (n.title or "")
                ),
                timeout=max(deadline - time.monotonic(), 0.0),
                what=f"{what} (at {receiver})",
            )[:1]
        return got

    def context(self) -> str:
        """For failure messages: all this test's notifications and Alertmanager's last words."""
        ours = [n for n in self.sink.notifications() if self.mine(n)]
        lines = "\n".join(f"  - {n.describe()}" for n in ours) or "  (none)"
        return (
            f"notifications of {self.alertname} at the sink:\n{lines}\n"
            f"Alertmanager log:\n{self.endpoint.log_tail(6)}"
        )


def firing_count(note: Notification) -> int | None:
    m = _COUNT.match(note.title or "")
    return int(m[1]) if m else None


@pytest.fixture
def alerts(alertmanager: Endpoint, capture_sink: SinkClient) -> Iterator[HandMadeAlerts]:
    own = HandMadeAlerts(alertmanager, capture_sink)
    yield own
    own.resolve_all()


def assert_notified_once_at(
    alerts: HandMadeAlerts, routed: RoutedLabels, time_scale: float
) -> None:
    """One alert with the label set fires: one notification at each receiver amtool names,
    and none elsewhere once every route's group has flushed."""
    timing, want = RouteTiming.of(routed, time_scale), list(routed.receivers)
    alerts.fire(routed.labels)
    alerts.wait(want, timing.first, f"{alerts.alertname} {routed.labels} firing at {want}")
    time.sleep(timing.settle)
    got = Counter(n.receiver for n in alerts.arrived())
    assert got == Counter(want), (
        f"{routed.labels}: expected one firing at each of {want} only\n{alerts.context()}"
    )


def test_continue_lets_an_alert_reach_every_matching_route(
    alerts: HandMadeAlerts, plan: RoutingPlan, time_scale: float
) -> None:
    """`continue: true` lets the alert match later routes as well: one notification per
    matched receiver (on MindWeave: a critical platform alert pages pagerduty-critical and
    pagerduty-platform; whether that second page is wanted is the critical-platform finding)."""
    routed = planned(plan.fan_out, "label set that reaches two receivers (continue)")
    assert_notified_once_at(alerts, routed, time_scale)


def test_route_without_continue_ends_at_its_first_match(
    alerts: HandMadeAlerts, plan: RoutingPlan, time_scale: float
) -> None:
    """A route without `continue` that matches ends the walk: one receiver."""
    routed = planned(plan.single, "child route without continue")
    assert_notified_once_at(alerts, routed, time_scale)


def test_alert_no_route_matches_falls_back_to_the_default_receiver(
    alerts: HandMadeAlerts, plan: RoutingPlan, time_scale: float
) -> None:
    """No child route matches, so the root's receiver takes it: nothing is dropped."""
    routed = planned(plan.fallback, "fallback to the root receiver")
    assert_notified_once_at(alerts, routed, time_scale)


def test_two_differing_only_in_an_ungrouped_label_share_one_notification(
    alerts: HandMadeAlerts, plan: RoutingPlan, time_scale: float
) -> None:
    """A label not in group_by: one group, one batch, per receiver."""
    routed = planned(plan.richest, "delivering route")
    label = routed.ungrouped_label()
    if label is None:
        not_applicable("the reached routes group by every label ('...')")
    timing, receivers = RouteTiming.of(routed, time_scale), list(routed.receivers)
    alerts.fire({**routed.labels, label: "a"}, {**routed.labels, label: "b"})
    alerts.wait(receivers, timing.first, f"{alerts.alertname} at each receiver")
    time.sleep(timing.settle)
    got = alerts.arrived()
    per_receiver = Counter(n.receiver for n in got)
    assert per_receiver == Counter(receivers), (
        f"expected one notification per receiver\n{alerts.context()}"
    )
    assert all(firing_count(n) == 2 for n in got), (
        f'expected both alerts in one notification, "[FIRING:2] ..."\n{alerts.context()}'
    )
    for note in (n for n in got if n.kind == "pagerduty"):
        details = note.raw["payload"].get("custom_details", {})
        # Alertmanager up to 0.29 sends the rendered text "2"; from 0.30 on (nested PagerDuty
        # details, prometheus/alertmanager#3944) it YAML-decodes the rendered value: the number 2.
        if "num_firing" in details:
            assert str(details["num_firing"]) == "2", f"PagerDuty payload: {note.raw}"


def _grouped_labels(config: ObsConfig) -> list[str | None]:
    """The labels the routing intent separates, else those the config groups by."""
    intent = load_grouping_intent(config)
    if intent is not None:
        return list(intent) or [None]
    source = config.alertmanager_source().describe()
    return list(group_by_labels(route_tree(config.alertmanager(), source))) or [None]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(
        metafunc, "grouped_label", _grouped_labels, id_of=lambda label: label or "none"
    )


def test_two_differing_in_a_grouped_label_notify_separately(
    grouped_label: str | None, alerts: HandMadeAlerts, plan: RoutingPlan, time_scale: float
) -> None:
    """Each label the routing intent separates (else each of the config's group_by): two
    alerts that differ only in it, with values that route alike, are two groups, so two
    notifications at each receiver. Without the label in group_by they would share one."""
    if grouped_label is None:
        not_applicable("the routes group by no label besides alertname")
    case = plan.grouping.get(grouped_label)
    if case is None:
        not_applicable(
            f"no label set the tree delivers routes alike with two values of {grouped_label}"
        )
    routed, label, values = case.routed, case.label, case.values
    timing, receivers = RouteTiming.of(routed, time_scale), list(routed.receivers)
    alerts.fire(*({**routed.labels, label: value} for value in values))
    for value in values:
        alerts.wait(receivers, timing.first, f"{alerts.alertname} {value}", title_has=value)
    time.sleep(timing.settle)
    got = alerts.arrived()
    seen = Counter((n.receiver, firing_count(n), _group_value(n, values)) for n in got)
    want = Counter((r, 1, v) for r in receivers for v in values)
    assert seen == want, (
        f"expected one [FIRING:1] per {label} ({values[0]}, {values[1]}) per receiver\n"
        f"{alerts.context()}"
    )
    for receiver in {n.receiver for n in got if n.kind == "pagerduty"}:
        dedup = {n.raw["dedup_key"] for n in got if n.receiver == receiver}
        assert len(dedup) == 2, (
            f"{receiver}: two groups must be two PagerDuty incidents, got dedup keys {dedup}"
        )


def _group_value(note: Notification, values: tuple[str, str]) -> str | None:
    found = [
        v for v in values if re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", note.title or "")
    ]
    return found[0] if len(found) == 1 else None


def test_resolved_group_notifies_every_receiver(
    alerts: HandMadeAlerts, plan: RoutingPlan, time_scale: float, resolving: set[str]
) -> None:
    """send_resolved (PagerDuty's default; Slack where the config sets it): a resolve
    closes what was opened."""
    routed = planned(plan.richest, "delivering route")
    timing = RouteTiming.of(routed, time_scale)
    closing = [r for r in routed.receivers if r in resolving]
    if not closing:
        not_applicable(f"none of {list(routed.receivers)} sends resolved")
    alerts.fire(routed.labels)
    fired = alerts.wait(closing, timing.first, f"{alerts.alertname} firing")
    alerts.resolve(routed.labels)  # endsAt = now: resolved from here on
    resolved = alerts.wait(
        closing,
        timing.next_flush,
        f"{alerts.alertname} resolved at {closing}",
        status="resolved",
    )
    for note in (n for n in resolved if n.kind == "slack"):
        assert (note.title or "").startswith("[RESOLVED]"), alerts.context()
    for receiver in {n.receiver for n in resolved if n.kind == "pagerduty"}:
        trigger = next(n for n in fired if n.receiver == receiver).raw
        resolve = next(n for n in resolved if n.receiver == receiver).raw
        assert resolve["event_action"] == "resolve", resolve
        assert resolve["dedup_key"] == trigger["dedup_key"], (
            f"{receiver}: the resolve must close the incident the trigger opened: trigger "
            f"dedup_key {trigger['dedup_key']}, resolve {resolve['dedup_key']}"
        )


# Alertmanager's per-integration default for send_resolved (config/notifiers.go).
SEND_RESOLVED_DEFAULT = {"slack_configs": False, "pagerduty_configs": True, "webhook_configs": True}


@pytest.fixture(scope="module")
def resolving(obs_config: ObsConfig) -> set[str]:
    """Receivers with an integration that notifies on resolve."""
    return {
        str(r["name"])
        for r in obs_config.alertmanager().get("receivers") or []
        for kind, default in SEND_RESOLVED_DEFAULT.items()
        for entry in r.get(kind) or []
        if entry.get("send_resolved", default)
    }


def test_unchanged_firing_group_is_not_repeated_before_repeat_interval(
    alerts: HandMadeAlerts, plan: RoutingPlan, time_scale: float
) -> None:
    """Three group_interval ticks of an unchanged group send nothing. The positive repeat is
    waited for only if repeat_interval fits LONGEST_WAIT (at scale 240, 4h is 60 s: it does not)."""
    routed = planned(plan.single or plan.richest, "delivering route")
    timing, receiver = RouteTiming.of(routed, time_scale), [routed.receivers[0]]
    alerts.fire(routed.labels)
    first = alerts.wait(receiver, timing.first, f"{alerts.alertname} firing")[0]
    quiet = min(3 * timing.group_interval, timing.repeat_interval - MARGIN)
    time.sleep(max(quiet - (time.monotonic() - first.received_at), 0))
    arrived = [n for n in alerts.arrived() if n.receiver == receiver[0]]
    assert len(arrived) == 1, (
        f"an unchanged group was notified again within {quiet:.2f} s, under repeat_interval "
        f"{timing.repeat_interval:g} s\n{alerts.context()}"
    )
    if timing.repeat_interval + MARGIN <= LONGEST_WAIT:
        alerts.sink.wait_for(
            lambda n: alerts.mine(n) and n.received_at > first.received_at,
            timeout=timing.repeat_interval + MARGIN,
            what=f"{alerts.alertname} repeated after repeat_interval",
        )


def test_alert_joining_a_firing_group_is_sent_at_the_next_group_interval(
    alerts: HandMadeAlerts, plan: RoutingPlan, time_scale: float, request: pytest.FixtureRequest
) -> None:
    """A changed group waits group_interval, not repeat_interval, for its next notification."""
    routed = planned(plan.single or plan.richest, "delivering route")
    label = routed.ungrouped_label()
    if label is None:
        not_applicable("the reached routes group by every label ('...')")
    timing, receiver = RouteTiming.of(routed, time_scale), [routed.receivers[0]]
    alerts.fire({**routed.labels, label: "a"})
    alerts.wait(receiver, timing.first, f"{alerts.alertname} first firing", title_has="[FIRING:1]")
    joined_at = alerts.fire({**routed.labels, label: "b"})
    batch = alerts.wait(
        receiver,
        timing.next_flush,
        f"{alerts.alertname} with {label}=b added, within group_interval "
        f"{timing.group_interval:g} s + {MARGIN:g} s "
        f"(repeat_interval {timing.repeat_interval:g} s)",
        title_has="[FIRING:2]",
    )
    delay = batch[0].received_at - joined_at  # both time.monotonic(): one clock per machine
    request.node.user_properties.append(("join_to_notification_s", round(delay, 3)))
    assert delay <= timing.next_flush, f"sent {delay:.2f} s after the push\n{alerts.context()}"
