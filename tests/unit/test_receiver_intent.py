"""Receiver intent (obsgate/scenarios/receivers.py): each literal field a receiver's
integrations set is stated, and as stated; templates and secrets are not compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import ConfigError
from obsgate.scenarios.receivers import (
    ReceiverIntent,
    differences,
    intended_channels,
    load_receiver_intent,
    sends_resolved,
    sent_differences,
)
from obsgate.sinks.capture import Notification

INTENT = ReceiverIntent(
    "slack-platform", {"slack": [{"channel": "#platform-alerts", "send_resolved": True}]},
    Path("routes.yaml"),
)  # fmt: skip


def receiver(**fields: object) -> dict[str, object]:
    slack = {"channel": "#platform-alerts", "send_resolved": True, "api_url": "https://x/y",
             "title": '{{ template "slack.default.title" . }}', **fields}  # fmt: skip
    return {"name": "slack-platform", "slack_configs": [slack]}


def test_as_intended_has_no_difference() -> None:
    """The webhook URL (a secret) and the title (a template) are not the intent's business."""
    assert differences(INTENT, receiver()) == []


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"channel": "#alerts-general"},
         "slack-platform: slack: channel is '#alerts-general', the intent says '#platform-alerts'"),
        ({"send_resolved": False},
         "slack-platform: slack: send_resolved is False, the intent says True"),
        ({"username": "alertbot"},
         "slack-platform: slack: username: 'alertbot' is not in the intent"),
    ],
)  # fmt: skip
def test_one_changed_or_added_field_is_named(fields: dict[str, object], problem: str) -> None:
    assert differences(INTENT, receiver(**fields)) == [problem]


def test_a_field_the_config_drops_is_named() -> None:
    config = receiver()
    del config["slack_configs"][0]["send_resolved"]  # type: ignore[index]
    assert differences(INTENT, config) == [
        "slack-platform: slack: send_resolved is True in the intent, unset"
    ]


def test_an_integration_added_or_missing_is_named() -> None:
    config = {**receiver(), "pagerduty_configs": [{"severity": "critical"}]}
    assert differences(INTENT, config) == [
        "slack-platform: 1 pagerduty config(s) in the config, 0 in the intent"
    ]
    assert differences(None, config) == [
        "slack-platform: no intent stated (receivers: slack-platform: ...)"
    ]


def test_send_resolved_defaults_per_integration() -> None:
    """Alertmanager's defaults: Slack and email stay silent on resolution, PagerDuty reports."""
    config = {"slack_configs": [{}], "pagerduty_configs": [{}], "email_configs": [{}]}
    assert sends_resolved(config) == {"slack": False, "pagerduty": True, "email": False}


def test_the_shipped_intent_loads_and_a_malformed_one_names_its_file(tmp_path: Path) -> None:
    shipped = load_receiver_intent(ObsConfig(DEFAULT_CONFIG_DIR))
    assert shipped is not None and "default-receiver" in shipped
    (tmp_path / "scenarios" / "routing").mkdir(parents=True)
    bad = tmp_path / "scenarios" / "routing" / "routes.yaml"
    bad.write_text("routing: []\nreceivers:\n  slack-platform: ['#platform-alerts']\n")
    with pytest.raises(ConfigError, match=r"routes.yaml: receivers: slack-platform: expected"):
        load_receiver_intent(ObsConfig(tmp_path))


def test_live_arrivals_are_judged_on_the_intended_channels() -> None:
    pagerduty = ReceiverIntent("pd", {"pagerduty": [{"severity": "critical"}]}, Path("r.yaml"))
    assert intended_channels({"slack-platform": INTENT, "pd": pagerduty}) == {
        "slack-platform": {"#platform-alerts"}
    }


def test_a_pagerduty_event_sent_with_another_severity_is_named() -> None:
    intent = {"pd": ReceiverIntent("pd", {"pagerduty": [{"severity": "critical"}]}, Path("r"))}

    def event(severity: str) -> Notification:
        return Notification("pagerduty", "pd", "/pd", 0.0, 202, "firing", severity=severity)

    assert sent_differences(intent, [event("critical")]) == []
    assert sent_differences(intent, [event("warning"), event("warning")]) == [
        "pd: pagerduty sent severity 'warning', the intent says 'critical'"
    ]
