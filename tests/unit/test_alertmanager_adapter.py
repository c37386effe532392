"""The Alertmanager adapter against the real amtool: the seed's config becomes valid, local and
time-scaled only through the adapter's recorded changes, and the findings stay findings."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import GateError
from obsgate.stack.alertmanager_config import (
    AlertmanagerConfigAdapter,
    receivers_defined,
    receivers_referenced,
)
from obsgate.stack.loopback import non_loopback_hosts
from obsgate.tools import amtool

SINK = "http://127.0.0.1:18080"
FACTOR = 240.0
SEED = ObsConfig(DEFAULT_CONFIG_DIR)
PAGERDUTY_KEYS = {  # receiver -> the test value of its ${PAGERDUTY_SERVICE_KEY_*}
    "pagerduty-critical": "test-pagerduty_service_key_critical",
    "pagerduty-platform": "test-pagerduty_service_key_platform",
    "pagerduty-security": "test-pagerduty_service_key_security",
}


@pytest.fixture(scope="module")
def adapter() -> AlertmanagerConfigAdapter:
    return AlertmanagerConfigAdapter(SEED, SINK, FACTOR)


def config_copy(tmp_path: Path, edit: Any) -> ObsConfig:
    """A copy of the seed config dir whose alertmanager.yaml `edit(cfg)` has changed."""
    root = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, root)
    path = root / "alertmanager" / "alertmanager.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(cfg)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return ObsConfig(root)


def receiver(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in cfg["receivers"] if r["name"] == name)


def test_substitution_is_what_makes_the_seed_valid(
    adapter: AlertmanagerConfigAdapter, tmp_path: Path
) -> None:
    raw = amtool.check_config(SEED.path("alertmanager/alertmanager.yaml"))
    assert not raw.ok and 'unsupported scheme "" for URL' in raw.output, raw.describe()
    adapted = amtool.check_config(adapter.write(tmp_path / "alertmanager.yaml"))
    assert adapted.ok, adapted.describe()
    assert "${" not in (tmp_path / "alertmanager.yaml").read_text(encoding="utf-8")


def test_every_variable_substitution_is_recorded(adapter: AlertmanagerConfigAdapter) -> None:
    changes = "\n".join(adapter.changes)
    assert f"global.slack_api_url: ${{SLACK_WEBHOOK_URL}} -> {SINK}/slack/_global" in changes
    assert "${SENDGRID_API_KEY} -> test-sendgrid_api_key" in changes
    for key in ("CRITICAL", "PLATFORM", "SECURITY"):
        assert f"${{PAGERDUTY_SERVICE_KEY_{key}}} -> test-pagerduty_service_key_{key.lower()}" in (
            changes
        )


def test_given_secrets_are_used_and_not_reported(tmp_path: Path) -> None:
    given = {"PAGERDUTY_SERVICE_KEY_CRITICAL": "s3cret-from-vault"}
    adapted = AlertmanagerConfigAdapter(SEED, SINK, FACTOR, secrets=given)
    pd = receiver(adapted.adapted(), "pagerduty-critical")["pagerduty_configs"][0]
    assert pd["routing_key"] == "s3cret-from-vault"
    assert "s3cret-from-vault" not in "\n".join(adapted.changes)


def test_no_host_but_loopback_is_left(adapter: AlertmanagerConfigAdapter) -> None:
    cfg = adapter.adapted()
    assert non_loopback_hosts(cfg) == []
    assert cfg["global"]["smtp_smarthost"] == "127.0.0.1:18080"
    assert cfg["global"]["pagerduty_url"] == f"{SINK}/pagerduty/_global"
    for name in ("default-receiver", "slack-platform", "slack-security", "slack-customer-success"):
        assert receiver(cfg, name)["slack_configs"][0]["api_url"] == f"{SINK}/slack/{name}"


def test_write_refuses_a_host_the_adapter_does_not_rewrite(tmp_path: Path) -> None:
    def inject(cfg: dict[str, Any]) -> None:
        slack = receiver(cfg, "slack-platform")["slack_configs"][0]
        slack["http_config"] = {"proxy_url": "https://hooks.slack.com/x"}

    leaky = AlertmanagerConfigAdapter(config_copy(tmp_path, inject), SINK, FACTOR)
    target = tmp_path / "out" / "alertmanager.yaml"
    with pytest.raises(GateError) as caught:
        leaky.write(target)
    assert "receivers[2].slack_configs[0].http_config.proxy_url" in str(caught.value)
    assert "https://hooks.slack.com/***" in str(caught.value)  # the host, never the path
    assert "hooks.slack.com/x" not in str(caught.value)
    assert not target.exists()


def test_service_keys_become_routing_keys_at_the_sink(adapter: AlertmanagerConfigAdapter) -> None:
    cfg = adapter.adapted()
    for name, key in PAGERDUTY_KEYS.items():
        (pd,) = receiver(cfg, name)["pagerduty_configs"]
        assert "service_key" not in pd
        assert pd["routing_key"] == key
        assert pd["url"] == f"{SINK}/pagerduty/{name}"
        assert (
            f"receiver {name}: service_key (Events API v1, endpoint fixed in Alertmanager, "
            f"cannot point at a local sink) -> routing_key on Events API v2, "
            f"url {SINK}/pagerduty/{name}"
        ) in adapter.changes


@pytest.mark.parametrize(
    ("path", "seed", "scaled"),
    [
        ("route.group_wait", "30s", "125ms"),
        ("route.group_interval", "5m", "1250ms"),
        ("route.repeat_interval", "4h", "60000ms"),
        ("global.resolve_timeout", "5m", "1250ms"),
    ],
)
def test_seed_durations_are_scaled(
    adapter: AlertmanagerConfigAdapter, path: str, seed: str, scaled: str
) -> None:
    section, key = path.split(".")
    assert adapter.adapted()[section][key] == scaled
    assert f"{path} {seed} -> {scaled} (time / 240)" in adapter.changes


def test_durations_are_scaled_at_every_route_level(tmp_path: Path) -> None:
    def nest(cfg: dict[str, Any]) -> None:
        platform = cfg["route"]["routes"][1]
        platform["group_wait"] = "1m"
        platform["routes"][0]["repeat_interval"] = "12h"
        platform["routes"][0]["group_interval"] = "10s"

    cfg = AlertmanagerConfigAdapter(config_copy(tmp_path, nest), SINK, FACTOR).adapted()
    platform = cfg["route"]["routes"][1]
    assert platform["group_wait"] == "250ms"
    assert platform["routes"][0]["repeat_interval"] == "180000ms"
    assert platform["routes"][0]["group_interval"] == "42ms"  # 10 s / 240, whole milliseconds
    assert cfg["route"]["group_wait"] == "125ms"


def test_templates_map_from_the_deploy_path_to_the_config_dir(
    adapter: AlertmanagerConfigAdapter,
) -> None:
    expected = str(SEED.root / "alertmanager" / "templates" / "*.tmpl")
    assert adapter.adapted()["templates"] == [expected]
    assert any(
        c.startswith("templates[0] /etc/alertmanager/templates/*.tmpl -> ")
        for c in (adapter.changes)
    )


def test_email_receivers_are_refused_by_name(tmp_path: Path) -> None:
    def add_email(cfg: dict[str, Any]) -> None:
        cfg["receivers"].append({"name": "ops-mail", "email_configs": [{"to": "a@b.c"}]})

    with pytest.raises(GateError, match="receiver ops-mail has email_configs"):
        AlertmanagerConfigAdapter(config_copy(tmp_path, add_email), SINK, FACTOR).adapted()


def test_undefined_slack_color_template_is_reported(adapter: AlertmanagerConfigAdapter) -> None:
    """Finding: the seed calls `slack.color`, which no default or shipped template defines."""
    assert "slack.color" in adapter.template_references()["slack-platform"]
    assert adapter.missing_templates() == {
        "slack-platform": ["slack.color"],
        "slack-security": ["slack.color"],
    }


def test_a_template_file_in_the_config_dir_defines_names(tmp_path: Path) -> None:
    config = config_copy(tmp_path, lambda cfg: None)
    templates = config.root / "alertmanager" / "templates"
    templates.mkdir()
    (templates / "slack.tmpl").write_text(
        '{{ define "slack.color" }}{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
        "{{ end }}\n",
        encoding="utf-8",
    )
    assert AlertmanagerConfigAdapter(config, SINK, FACTOR).missing_templates() == {}


def test_seed_receivers_referenced_are_those_defined() -> None:
    cfg = SEED.alertmanager()
    assert receivers_referenced(cfg["route"]) == receivers_defined(cfg)
    assert len(receivers_defined(cfg)) == 7
