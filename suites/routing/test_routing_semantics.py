"""Routing semantics, live: `continue`, the default receiver, grouping, resolve and repeat, as
the real Alertmanager applies the seed's routing tree, with hand-made alerts.

In the style of Alertmanager's acceptance tests: alerts pushed to its API v2 at known times,
then what must arrive at the sink in which window. Each test's alerts carry a unique
`alertname`, a `group_by` label, so their groups are the test's own in the shared
Alertmanager. Branches whose receivers fail to render (slack-platform, slack-security: the
`slack.color` finding) are avoided, so each test judges routing, not templates.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from obsgate.config import ObsConfig, parse_duration
from obsgate.sinks.capture import Notification
from obsgate.sinks.service import SinkClient
from obsgate.stack.alertmanager_api import AlertmanagerAPI
from obsgate.stack.endpoint import Endpoint

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
    """The root route's timings as the live Alertmanager runs them (seed / time scale), in s."""

    group_wait: float
    group_interval: float
    repeat_interval: float

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
def timing(obs_config: ObsConfig, time_scale: float) -> RouteTiming:
    route = obs_config.alertmanager()["route"]
    scaled = {
        key: parse_duration(str(route[key])) / time_scale
        for key in ("group_wait", "group_interval", "repeat_interval")
    }
    return RouteTiming(**scaled)


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
    alerts: HandMadeAlerts, timing: RouteTiming, labels: dict[str, str], want: list[str]
) -> None:
    """One alert with `labels` fires: one notification at each receiver of `want`, and none
    elsewhere once every route's group has flushed."""
    alerts.fire(labels)
    alerts.wait(want, timing.first, f"{alerts.alertname} firing at {want}")
    time.sleep(timing.settle)
    got = Counter(n.receiver for n in alerts.arrived())
    assert got == Counter(want), f"expected one firing at each of {want} only\n{alerts.context()}"


# critical + team customer-success: pagerduty-critical (continue) then slack-customer-success,
# one PagerDuty and one Slack receiver that both deliver.
CRITICAL_CS = {"severity": "critical", "team": "customer-success", "namespace": "gate-a"}
CRITICAL_CS_RECEIVERS = ["pagerduty-critical", "slack-customer-success"]


def test_continue_pages_critical_and_also_routes_to_the_team_branch(
    alerts: HandMadeAlerts, timing: RouteTiming
) -> None:
    """`continue: true` on the critical route lets the alert match the team route as well.

    Whether this second page is wanted is the critical-platform finding (test_routes_amtool);
    here: Alertmanager does what the tree says, one notification per matched receiver.
    """
    labels = {"severity": "critical", "team": "platform", "namespace": "gate-a"}
    assert_notified_once_at(alerts, timing, labels, ["pagerduty-critical", "pagerduty-platform"])


def test_route_without_continue_ends_at_its_first_match(
    alerts: HandMadeAlerts, timing: RouteTiming
) -> None:
    """A warning matches no critical route, and the team route has no `continue`: one receiver."""
    labels = {"severity": "warning", "team": "customer-success", "namespace": "gate-a"}
    assert_notified_once_at(alerts, timing, labels, ["slack-customer-success"])


def test_alert_of_no_known_team_falls_back_to_the_default_receiver(
    alerts: HandMadeAlerts, timing: RouteTiming
) -> None:
    """No child route matches, so the root's receiver takes it: nothing is dropped."""
    labels = {"severity": "warning", "team": "gate-nobody", "namespace": "gate-a"}
    assert_notified_once_at(alerts, timing, labels, ["default-receiver"])


def test_two_differing_only_in_an_ungrouped_label_share_one_notification(
    alerts: HandMadeAlerts, timing: RouteTiming
) -> None:
    """`pod` is not in group_by [alertname, namespace, severity]: one group, one batch."""
    alerts.fire({**CRITICAL_CS, "pod": "pod-a"}, {**CRITICAL_CS, "pod": "pod-b"})
    alerts.wait(CRITICAL_CS_RECEIVERS, timing.first, f"{alerts.alertname} at each receiver")
    time.sleep(timing.settle)
    got = alerts.arrived()
    per_receiver = Counter(n.receiver for n in got)
    assert per_receiver == Counter(CRITICAL_CS_RECEIVERS), (
        f"expected one notification per receiver\n{alerts.context()}"
    )
    assert all(firing_count(n) == 2 for n in got), (
        f'expected both alerts in one notification, "[FIRING:2] ..."\n{alerts.context()}'
    )
    details = next(n for n in got if n.kind == "pagerduty").raw["payload"]
    # Alertmanager up to 0.29 sends the rendered text "2"; from 0.30 on (nested PagerDuty
    # details, prometheus/alertmanager#3944) it YAML-decodes the rendered value: the number 2.
    assert str(details.get("custom_details", {}).get("num_firing")) == "2", (
        f"PagerDuty payload: {details}"
    )


def test_two_differing_in_a_grouped_label_notify_separately(
    alerts: HandMadeAlerts, timing: RouteTiming
) -> None:
    """`namespace` is in group_by: two groups, so two notifications at each receiver."""
    a, b = {**CRITICAL_CS, "namespace": "gate-a"}, {**CRITICAL_CS, "namespace": "gate-b"}
    alerts.fire(a, b)
    for ns in ("gate-a", "gate-b"):
        alerts.wait(CRITICAL_CS_RECEIVERS, timing.first, f"{alerts.alertname} {ns}", title_has=ns)
    time.sleep(timing.settle)
    got = alerts.arrived()
    seen = Counter((n.receiver, firing_count(n), _namespace(n)) for n in got)
    want = Counter((r, 1, ns) for r in CRITICAL_CS_RECEIVERS for ns in ("gate-a", "gate-b"))
    assert seen == want, f"expected one [FIRING:1] per namespace per receiver\n{alerts.context()}"
    dedup = {n.raw["dedup_key"] for n in got if n.kind == "pagerduty"}
    assert len(dedup) == 2, f"two groups must be two PagerDuty incidents, got dedup keys {dedup}"


def _namespace(note: Notification) -> str | None:
    m = re.search(r"\b(gate-[ab])\b", note.title or "")
    return m[1] if m else None


def test_resolved_group_notifies_every_receiver(
    alerts: HandMadeAlerts, timing: RouteTiming
) -> None:
    """send_resolved (Slack explicit, PagerDuty's default): a resolve closes what was opened."""
    alerts.fire(CRITICAL_CS)
    fired = alerts.wait(CRITICAL_CS_RECEIVERS, timing.first, f"{alerts.alertname} firing")
    alerts.resolve(CRITICAL_CS)  # endsAt = now: resolved from here on
    resolved = alerts.wait(
        CRITICAL_CS_RECEIVERS,
        timing.next_flush,
        f"{alerts.alertname} resolved at {CRITICAL_CS_RECEIVERS}",
        status="resolved",
    )
    slack = next(n for n in resolved if n.kind == "slack")
    assert (slack.title or "").startswith("[RESOLVED]"), alerts.context()
    trigger = next(n for n in fired if n.kind == "pagerduty").raw
    resolve = next(n for n in resolved if n.kind == "pagerduty").raw
    assert resolve["event_action"] == "resolve", resolve
    assert resolve["dedup_key"] == trigger["dedup_key"], (
        f"the resolve must close the incident the trigger opened: trigger dedup_key "
        f"{trigger['dedup_key']}, resolve {resolve['dedup_key']}"
    )


def test_unchanged_firing_group_is_not_repeated_before_repeat_interval(
    alerts: HandMadeAlerts, timing: RouteTiming
) -> None:
    """Three group_interval ticks of an unchanged group send nothing. The positive repeat is
    waited for only if repeat_interval fits LONGEST_WAIT (at scale 240 it is 60 s: it does not)."""
    labels = {"severity": "warning", "team": "customer-success", "namespace": "gate-a"}
    alerts.fire(labels)
    first = alerts.wait(["slack-customer-success"], timing.first, f"{alerts.alertname} firing")[0]
    quiet = min(3 * timing.group_interval, timing.repeat_interval - MARGIN)
    time.sleep(max(quiet - (time.monotonic() - first.received_at), 0))
    assert len(alerts.arrived()) == 1, (
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
    alerts: HandMadeAlerts, timing: RouteTiming, request: pytest.FixtureRequest
) -> None:
    """A changed group waits group_interval, not repeat_interval, for its next notification."""
    receiver = ["slack-customer-success"]
    base = {"severity": "warning", "team": "customer-success", "namespace": "gate-a"}
    alerts.fire({**base, "pod": "pod-a"})
    alerts.wait(receiver, timing.first, f"{alerts.alertname} first firing", title_has="[FIRING:1]")
    joined_at = alerts.fire({**base, "pod": "pod-b"})
    batch = alerts.wait(
        receiver,
        timing.next_flush,
        f"{alerts.alertname} with pod-b added, within group_interval "
        f"{timing.group_interval:g} s + {MARGIN:g} s "
        f"(repeat_interval {timing.repeat_interval:g} s)",
        title_has="[FIRING:2]",
    )
    delay = batch[0].received_at - joined_at  # both time.monotonic(): one clock per machine
    request.node.user_properties.append(("join_to_notification_s", round(delay, 3)))
    assert delay <= timing.next_flush, f"sent {delay:.2f} s after the push\n{alerts.context()}"
