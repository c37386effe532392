"""Universal routing checks: true for any Alertmanager config, derived from it and the rules."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.scenarios.route_tree import Route, route_tree
from obsgate.scenarios.routing import produced_alerts
from obsgate.stack.alertmanager_config import (
    AlertmanagerConfigAdapter,
    receivers_defined,
    receivers_referenced,
)
from obsgate.tools import amtool

pytestmark = [pytest.mark.routing]
INTEGRATIONS = (
    "slack_configs",
    "pagerduty_configs",
    "webhook_configs",
    "email_configs",
    "opsgenie_configs",
    "victorops_configs",
    "pushover_configs",
    "wechat_configs",
    "sns_configs",
    "telegram_configs",
    "discord_configs",
    "webex_configs",
)


def test_adapted_config_passes_amtool_check_config(offline_alertmanager_config: Path) -> None:
    result = amtool.check_config(offline_alertmanager_config)
    assert result.ok, f"amtool rejects the adapted config:\n{result.describe()}"


def test_every_referenced_receiver_exists(obs_config: ObsConfig) -> None:
    cfg = obs_config.alertmanager()
    missing = sorted(receivers_referenced(cfg["route"]) - receivers_defined(cfg))
    assert not missing, f"the routing tree names receivers that are not defined: {missing}"


def muted_by_name(ends: list[Route], alertname: str) -> bool:
    """Every route the alert ends at names it (`alertname` equal to it): a deliberate mute."""
    return bool(ends) and all(
        any(m.name == "alertname" and m.op == "=" and m.value == alertname for m in r.matchers)
        for r in ends
    )


@pytest.mark.requires("rules")
def test_no_alert_is_routed_nowhere(
    obs_config: ObsConfig, offline_alertmanager_config: Path
) -> None:
    """Every label set the rules produce reaches a receiver that notifies someone, unless
    the tree mutes that alert by name on purpose (kube-prometheus' `alertname = Watchdog`
    or `InfoInhibitor` routed to a receiver without integrations)."""
    cfg = obs_config.alertmanager()
    silent = {
        r["name"] for r in cfg.get("receivers") or [] if not any(r.get(key) for key in INTEGRATIONS)
    }
    tree = route_tree(cfg, obs_config.alertmanager_source().describe())
    nowhere = []
    for labels in produced_alerts(obs_config):
        reached = set(amtool.routes_test(offline_alertmanager_config, labels))
        if not reached - silent and not muted_by_name(tree.match(labels), labels["alertname"]):
            nowhere.append(f"{labels} -> {sorted(reached)} (no integration)")
    assert not nowhere, "alerts that notify nobody:\n" + "\n".join(nowhere)


@pytest.mark.requires("rules")
def test_every_route_is_reachable_by_an_alert_the_rules_produce(
    obs_config: ObsConfig, offline_alertmanager_config: Path
) -> None:
    """A route no alert can reach is dead config, or a team that is never told anything.
    The root receiver is the fallback for unknown alerts and is exempt."""
    cfg = obs_config.alertmanager()
    reached: set[str] = set()
    for labels in produced_alerts(obs_config):
        reached |= set(amtool.routes_test(offline_alertmanager_config, labels))
    dead = sorted(receivers_referenced(cfg["route"]) - reached - {cfg["route"]["receiver"]})
    judge(
        holds=not dead,
        finding=universal_finding(obs_config, "routes-reachable"),
        observed=dead,
        failure=f"routes whose receivers no alert of the rules ever reaches: {dead} "
        f"(the rules reach {sorted(reached)})",
    )


def test_every_template_a_receiver_uses_exists(
    obs_config: ObsConfig,
    offline_adapter: AlertmanagerConfigAdapter,
) -> None:
    """Judged by real amtool rendering: a missing template fails every notification."""
    missing = offline_adapter.missing_templates()
    judge(
        holds=not missing,
        finding=universal_finding(obs_config, "alertmanager-templates-exist"),
        observed=[f"{receiver}: {name}" for receiver, names in missing.items() for name in names],
        failure="receivers call templates that neither Alertmanager's defaults nor the "
        f"config's template files define: {missing}",
    )


def test_receivers_defined_but_never_used_are_reported(obs_config: ObsConfig) -> None:
    """Unused receivers are not wrong, only noise: a warning, not a failure."""
    cfg = obs_config.alertmanager()
    unused = sorted(receivers_defined(cfg) - receivers_referenced(cfg["route"]))
    if unused:
        warnings.warn(f"receivers defined but never routed to: {unused}", stacklevel=1)
    assert receivers_referenced(cfg["route"]), "the routing tree routes to no receiver at all"


def test_route_timings_meet_the_policy(obs_config: ObsConfig) -> None:
    """Every route's timings as Alertmanager applies them (its own, else its parent's, else
    Alertmanager's defaults) are within the policy's route_timings, if it declares any."""
    policy = obs_config.policy()
    tree = route_tree(obs_config.alertmanager(), obs_config.alertmanager_source().describe())
    problems = [
        f"{route.path} (receiver {route.receiver}): {key} is {route.timings[key]:g} s, "
        f"the policy wants {bound}"
        for route in tree.walk()
        for key, bound in policy.route_timings.items()
        if not bound.allows(route.timings[key])
    ]
    assert not problems, f"route timings outside {policy.where()}:\n" + "\n".join(problems)
