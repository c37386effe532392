"""The loopback guard (obsgate/stack/loopback.py): every host a config names that is not
loopback is found by its path, and refused before a server starts."""

from __future__ import annotations

import pytest

from obsgate.errors import GateError
from obsgate.stack.loopback import non_loopback_hosts, require_loopback

REMOTE = {
    "global": {"smtp_smarthost": "smtp.sendgrid.net:587"},
    "receivers": [{"name": "slack", "webhook_configs": [{"url": "https://hooks.slack.com/T/B"}]}],
    "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]},
}
LOCAL = {
    "global": {"smtp_smarthost": "localhost:25"},
    "receivers": [{"name": "sink", "webhook_configs": [{"url": "http://127.0.0.1:9/hook"}]}],
    "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]},
    "remote_write": [{"url": "http://[::1]:9201/write"}],
    "annotations": {"description": "lag is high:10"},  # not a host key: text, not a host
}


def test_non_loopback_hosts_are_named_by_path() -> None:
    assert sorted(non_loopback_hosts(REMOTE)) == [
        "alerting.alertmanagers[0].static_configs[0].targets[0]: alertmanager:9093",
        "global.smtp_smarthost: smtp.sendgrid.net:587",
        "receivers[0].webhook_configs[0].url: https://hooks.slack.com/***",
    ]


def test_require_loopback_refuses_before_start() -> None:
    with pytest.raises(GateError) as err:
        require_loopback(REMOTE, "alertmanager", "alertmanager.yaml")
    for host in ("hooks.slack.com", "smtp.sendgrid.net:587", "alertmanager:9093"):
        assert host in str(err.value)
    assert "alertmanager.yaml" in str(err.value)


def test_loopback_hosts_pass() -> None:
    assert non_loopback_hosts(LOCAL) == []
    require_loopback(LOCAL, "prometheus", "test")


def test_dns_name_that_starts_with_127_is_not_loopback() -> None:
    config = {"url": "https://127.example.com/hook", "targets": ["127.example.com:9093"]}
    assert len(non_loopback_hosts(config)) == 2
