"""Alertmanager's API v2 as the routing and inhibition tests use it: push hand-made alerts,
read their status.

The Alertmanager is shared with other suites, so every alert a test pushes carries the
test's own value of an isolation label (`gate_test=<uuid>`, or a unique `alertname` where
the groups must be the test's own too) and the test only ever reads alerts with that value.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests

from obsgate.stack.endpoint import Endpoint

ISOLATION_LABEL = "gate_test"
WAIT = 10.0  # seconds a bounded wait gives Alertmanager
LabelSet = dict[str, str]


def new_test_id() -> str:
    return f"inh-{uuid.uuid4().hex[:12]}"


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AlertmanagerAPI:
    """Pushes and reads one test's alerts, each labelled `label=test_id`; every wait is
    bounded and reports what it saw.

    Every push has the same startsAt, by default a minute ago: a resolving push must not
    start after it ends. A test of group timing gives its start (`starts_at`) instead."""

    def __init__(
        self,
        endpoint: Endpoint,
        test_id: str,
        *,
        label: str = ISOLATION_LABEL,
        starts_at: datetime | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.test_id = test_id
        self.label = label
        self._session = requests.Session()
        self._starts_at = starts_at or datetime.now(UTC) - timedelta(minutes=1)
        self._pushed: dict[str, LabelSet] = {}

    def own(self, labels: LabelSet) -> LabelSet:
        return {**labels, self.label: self.test_id}

    def fire(self, *label_sets: LabelSet) -> float:
        """Explicit endsAt: the adapted config's scaled resolve_timeout would end them in ~1 s.
        Returns when it pushed, in time.monotonic()."""
        return self._push(label_sets, datetime.now(UTC) + timedelta(minutes=10))

    def resolve(self, *label_sets: LabelSet) -> float:
        """endsAt now: resolved from here on (not earlier: never before the test's start)."""
        return self._push(label_sets, datetime.now(UTC))

    def resolve_all(self) -> None:
        """Resolve whatever the test left firing, so it stops notifying the shared sink."""
        if self._pushed:
            self.resolve(*self._pushed.values())

    def _push(self, label_sets: tuple[LabelSet, ...], ends_at: datetime) -> float:
        self._pushed.update({json.dumps(ls, sort_keys=True): ls for ls in label_sets})
        body = [
            {
                "labels": self.own(labels),
                "annotations": {"summary": f"gate test {self.test_id}"},
                "startsAt": _stamp(self._starts_at),
                "endsAt": _stamp(ends_at),
            }
            for labels in label_sets
        ]
        pushed_at = time.monotonic()
        r = self._session.post(f"{self.endpoint.url}/api/v2/alerts", json=body, timeout=5)
        assert r.ok, f"Alertmanager refused the push ({r.status_code}): {r.text}\n{body}"
        return pushed_at

    def alerts(self) -> list[dict]:
        """This test's alerts as GET /api/v2/alerts shows them (inhibited ones included)."""
        r = self._session.get(
            f"{self.endpoint.url}/api/v2/alerts",
            params={"filter": f'{self.label}="{self.test_id}"'},
            timeout=5,
        )
        r.raise_for_status()
        return r.json()

    def find(self, alerts: list[dict], labels: LabelSet) -> dict | None:
        want = self.own(labels)
        return next((a for a in alerts if a["labels"] == want), None)

    def wait_until(
        self, holds: Callable[[list[dict]], bool], what: str, timeout: float = WAIT
    ) -> list[dict]:
        """Poll every 100 ms until `holds`; fail with what the API last returned."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.alerts()
            if holds(seen):
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"within {timeout:g} s: {what}\nGET /api/v2/alerts?filter="
                    f'{self.label}="{self.test_id}" returned:\n{describe(seen)}'
                )
            time.sleep(0.1)


def state(alert: dict | None) -> tuple[str, list[str]]:
    """(status.state, status.inhibitedBy) of an alert, ("absent", []) if the API lacks it."""
    if alert is None:
        return "absent", []
    return alert["status"]["state"], list(alert["status"].get("inhibitedBy") or [])


def describe(alerts: list[dict]) -> str:
    lines = [
        f"  {a['fingerprint']} {json.dumps(a['labels'], sort_keys=True)} "
        f"state={a['status']['state']} inhibitedBy={a['status'].get('inhibitedBy')}"
        for a in alerts
    ]
    return "\n".join(lines) or "  (no alerts)"
