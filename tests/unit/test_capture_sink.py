"""The capture sink, first over plain HTTP, then notified by a real Alertmanager through its
real Slack, PagerDuty (Events API v2) and webhook integrations: the routing suite trusts it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from obsgate.sinks import CaptureSink, Notification
from obsgate.stack import alertmanager as am
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_group

DELIVERY_TIMEOUT = 15.0  # group_wait is 100ms; the rest is a busy 2-core machine's slack

# Payloads as Alertmanager 0.25 builds them (notify/slack, notify/pagerduty, notify/webhook).
SLACK_FIRING: dict[str, Any] = {
    "channel": "#payments-oncall",
    "username": "Alertmanager",
    "attachments": [
        {
            "title": "[FIRING:1] HighErrorRate (checkout critical)",
            "title_link": "http://am.local/#/alerts?receiver=team-slack",
            "text": "Error rate above 5% for 5m",
            "fallback": "[FIRING:1] HighErrorRate | http://am.local/#/alerts?receiver=team-slack",
            "callback_id": "",
            "footer": "",
            "color": "danger",
            "mrkdwn_in": ["fallback", "pretext", "text"],
            "actions": [
                {"type": "button", "text": "Runbook", "url": "https://runbooks/high-error-rate"},
                {"type": "button", "text": "Dashboard", "url": "https://grafana/d/overview"},
            ],
        }
    ],
}
PAGERDUTY_RESOLVE: dict[str, Any] = {
    "routing_key": "rk-payments",
    "dedup_key": "4f1a0c",
    "event_action": "resolve",
    "payload": {
        "summary": "[RESOLVED] HighErrorRate (checkout critical)",
        "source": "Alertmanager",
        "severity": "critical",
        "custom_details": {"firing": "", "num_firing": "0", "num_resolved": "1"},
    },
    "client": "Alertmanager",
    "client_url": "http://am.local/#/alerts?receiver=pd",
    "links": [{"href": "https://runbooks/high-error-rate", "text": "Runbook"}],
}
WEBHOOK_FIRING: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{}:{alertname="HighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "hook",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "service": "checkout"},
    "commonAnnotations": {},
    "externalURL": "http://am.local",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "service": "checkout"},
            "annotations": {"summary": "errors"},
            "startsAt": "2024-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.local/graph",
            "fingerprint": "c0ffee",
        }
    ],
}


@pytest.fixture(scope="module")
def sink() -> Iterator[CaptureSink]:
    with CaptureSink() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(sink: CaptureSink) -> None:
    sink.clear()


# -- plain HTTP ------------------------------------------------------------------------------


def test_slack_is_recorded_and_answered_ok(sink: CaptureSink) -> None:
    resp = requests.post(f"{sink.url}/slack/team-slack", json=SLACK_FIRING, timeout=5)
    assert (resp.status_code, resp.text) == (200, "ok")
    [note] = sink.notifications(kind="slack")
    assert (note.receiver, note.status, note.channel) == (
        "team-slack",
        "firing",
        "#payments-oncall",
    )
    assert note.title == "[FIRING:1] HighErrorRate (checkout critical)"
    assert note.text == "Error rate above 5% for 5m"
    assert note.buttons == (
        ("Runbook", "https://runbooks/high-error-rate"),
        ("Dashboard", "https://grafana/d/overview"),
    )
    assert note.raw == SLACK_FIRING and note.answered == 200 and note.error is None
    assert note.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("title", "fallback", "status"),
    [
        ("[RESOLVED] HighErrorRate", "", "resolved"),
        ("[FIRING:3] HighErrorRate", "", "firing"),
        ("Checkout errors", "[RESOLVED] HighErrorRate | http://am", "resolved"),
        ("Checkout errors", "Checkout errors", None),
    ],
)
def test_slack_status_comes_from_the_default_title_prefix(
    sink: CaptureSink, title: str, fallback: str, status: str | None
) -> None:
    body = {"attachments": [{"title": title, "fallback": fallback, "text": ""}]}
    requests.post(f"{sink.url}/slack/r", json=body, timeout=5).raise_for_status()
    assert sink.notifications()[0].status == status


def test_pagerduty_accepts_subpaths_and_answers_like_events_api_v2(sink: CaptureSink) -> None:
    resp = requests.post(f"{sink.url}/pagerduty/pd/v2/enqueue", json=PAGERDUTY_RESOLVE, timeout=5)
    assert resp.status_code == 202
    assert resp.json() == {"status": "success", "message": "Event processed", "dedup_key": "4f1a0c"}
    [note] = sink.notifications(receiver="pd")
    assert (note.kind, note.status, note.routing_key, note.severity) == (
        "pagerduty",
        "resolved",
        "rk-payments",
        "critical",
    )
    assert note.title == "[RESOLVED] HighErrorRate (checkout critical)"
    assert note.buttons == (("Runbook", "https://runbooks/high-error-rate"),)
    assert note.path == "/pagerduty/pd/v2/enqueue"


def test_webhook_keeps_group_labels_and_alerts_as_given(sink: CaptureSink) -> None:
    resp = requests.post(f"{sink.url}/webhook/hook", json=WEBHOOK_FIRING, timeout=5)
    assert resp.status_code == 200
    [note] = sink.notifications(kind="webhook", receiver="hook")
    assert note.status == "firing"
    assert note.group_labels == {"alertname": "HighErrorRate"}
    assert note.alerts == WEBHOOK_FIRING["alerts"]
    assert note.channel is None and note.routing_key is None


@pytest.mark.parametrize("kind", ["slack", "pagerduty", "webhook"])
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
def test_unparseable_body_is_recorded_and_answered_400(
    sink: CaptureSink, kind: str, body: bytes
) -> None:
    resp = requests.post(f"{sink.url}/{kind}/bad", data=body, timeout=5)
    assert resp.status_code == 400
    [note] = sink.notifications()
    assert (note.kind, note.receiver, note.raw, note.answered) == (kind, "bad", None, 400)
    assert note.error and note.error.startswith(f"unparseable {kind} body")


def test_unknown_path_is_recorded_and_answered_404(sink: CaptureSink) -> None:
    assert requests.post(f"{sink.url}/opsgenie/x", json={}, timeout=5).status_code == 404
    assert sink.notifications()[0].error is not None


def test_fail_next_answers_the_status_once_then_succeeds(sink: CaptureSink) -> None:
    sink.fail_next("hook", 500)
    with requests.Session() as session:  # one keep-alive connection for both
        first = session.post(f"{sink.url}/webhook/hook", json=WEBHOOK_FIRING, timeout=5)
        second = session.post(f"{sink.url}/webhook/hook", json=WEBHOOK_FIRING, timeout=5)
    assert (first.status_code, second.status_code) == (500, 200)
    assert [n.answered for n in sink.notifications(receiver="hook")] == [500, 200]
    assert sink.notifications()[0].alerts == WEBHOOK_FIRING["alerts"]  # still parsed


def test_wait_for_timeout_lists_what_did_arrive(sink: CaptureSink) -> None:
    requests.post(f"{sink.url}/slack/team-slack", json=SLACK_FIRING, timeout=5)
    requests.post(f"{sink.url}/pagerduty/pd", json=PAGERDUTY_RESOLVE, timeout=5)
    started = time.monotonic()
    with pytest.raises(AssertionError) as failure:
        sink.wait_for(lambda n: n.receiver == "team-db", timeout=0.3, what="a page for team-db")
    assert 0.3 <= time.monotonic() - started < 3
    message = str(failure.value)
    assert "0.3s" in message and "a page for team-db" in message and "received 2" in message
    assert "slack receiver='team-slack' status=firing to=#payments-oncall" in message
    assert "pagerduty receiver='pd' status=resolved to=***" in message
    assert "rk-payments" not in message  # a routing key is a secret: masked in every message
    assert "[RESOLVED] HighErrorRate" in message


# -- a real Alertmanager ---------------------------------------------------------------------


def am_config(sink_url: str) -> dict[str, Any]:
    """Three receivers, one per integration; each child route continues, so all three see all."""
    return {
        "route": {
            "receiver": "blackhole",
            "group_by": ["alertname"],
            "group_wait": "100ms",
            "group_interval": "200ms",
            "repeat_interval": "1h",
            "routes": [
                {"receiver": name, "continue": True} for name in ("team-slack", "pd", "hook")
            ],
        },
        "receivers": [
            {"name": "blackhole"},
            {
                "name": "team-slack",
                "slack_configs": [
                    {
                        "api_url": f"{sink_url}/slack/team-slack",
                        "channel": "#x",
                        "send_resolved": True,
                        "actions": [
                            {
                                "type": "button",
                                "text": "Runbook",
                                "url": "{{ .CommonAnnotations.runbook_url }}",
                            }
                        ],
                    }
                ],
            },
            {
                "name": "pd",
                "pagerduty_configs": [
                    {
                        "routing_key": "rk-1",
                        "url": f"{sink_url}/pagerduty/pd",
                        "severity": "{{ .CommonLabels.severity }}",
                        "send_resolved": True,
                    }
                ],
            },
            {
                "name": "hook",
                "webhook_configs": [{"url": f"{sink_url}/webhook/hook", "send_resolved": True}],
            },
        ],
    }


@pytest.fixture(scope="module")
def alertmanager(sink: CaptureSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    endpoint = am.start(
        ProcessBackend(),
        Path(tmp_path_factory.mktemp("alertmanager")),
        am.AdaptedConfig(config=am_config(sink.url), source="test_capture_sink"),
    )
    try:
        yield endpoint
    finally:
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)


def post_alert(am: Endpoint, alertname: str, *, resolved: bool = False) -> None:
    now = datetime.now(UTC)
    alert: dict[str, Any] = {
        "labels": {"alertname": alertname, "severity": "critical", "service": "checkout"},
        "annotations": {"summary": "checkout errors", "runbook_url": "https://runbooks/x"},
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
        "generatorURL": "http://127.0.0.1:9090/graph",
    }
    if resolved:
        alert["endsAt"] = (now - timedelta(seconds=1)).isoformat()
    resp = requests.post(f"{am.url}/api/v2/alerts", json=[alert], timeout=5)
    assert resp.status_code == 200, f"{resp.status_code} {resp.text}\n{am.log_tail()}"


def about(alertname: str, status: str, receiver: str) -> Any:
    def predicate(n: Notification) -> bool:
        return n.receiver == receiver and n.status == status and alertname in str(n.raw)

    return predicate


def test_real_alertmanager_notifies_all_three_integrations(
    sink: CaptureSink, alertmanager: Endpoint
) -> None:
    post_alert(alertmanager, "SinkE2E")
    for receiver in ("team-slack", "pd", "hook"):
        sink.wait_for(
            about("SinkE2E", "firing", receiver),
            timeout=DELIVERY_TIMEOUT,
            what=f"SinkE2E firing at {receiver}",
        )
    [slack] = sink.notifications(kind="slack")
    assert slack.channel == "#x" and slack.title is not None
    assert slack.title.startswith("[FIRING:1] SinkE2E")
    assert slack.buttons == (("Runbook", "https://runbooks/x"),)
    assert slack.headers["Content-Type"] == "application/json"
    [page] = sink.notifications(kind="pagerduty")
    assert (page.routing_key, page.severity, page.raw["event_action"]) == (
        "rk-1",
        "critical",
        "trigger",
    )
    assert page.title is not None and page.title.startswith("[FIRING:1] SinkE2E")
    [hook] = sink.notifications(kind="webhook")
    assert hook.group_labels == {"alertname": "SinkE2E"}
    assert hook.alerts is not None
    assert [a["labels"] for a in hook.alerts] == [
        {"alertname": "SinkE2E", "severity": "critical", "service": "checkout"}
    ]

    post_alert(alertmanager, "SinkE2E", resolved=True)
    resolved = {
        receiver: sink.wait_for(
            about("SinkE2E", "resolved", receiver),
            timeout=DELIVERY_TIMEOUT,
            what=f"SinkE2E resolved at {receiver}",
        )[0]
        for receiver in ("team-slack", "pd", "hook")
    }
    assert resolved["team-slack"].title == "[RESOLVED] SinkE2E (checkout critical)"
    assert resolved["pd"].raw["event_action"] == "resolve"
    assert resolved["pd"].raw["dedup_key"] == page.raw["dedup_key"]
    assert resolved["hook"].alerts is not None
    assert resolved["hook"].alerts[0]["status"] == "resolved"


def test_real_alertmanager_retries_after_a_500(sink: CaptureSink, alertmanager: Endpoint) -> None:
    sink.fail_next("hook", 500)
    post_alert(alertmanager, "SinkRetry")
    tries = sink.wait_for(
        about("SinkRetry", "firing", "hook"),
        timeout=DELIVERY_TIMEOUT,
        what="SinkRetry at hook: a 500-answered try, then a retry",
        count=2,
    )
    assert [n.answered for n in tries[:2]] == [500, 200]
    assert tries[0].received_at < tries[1].received_at
    assert tries[0].raw["alerts"] == tries[1].raw["alerts"]
