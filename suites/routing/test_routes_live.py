"""Routing, live: a rule fires in Prometheus, and the notification arrives at the sink from
Alertmanager's real Slack and PagerDuty integrations, at exactly the intended receivers.

The alerts come from the live alert run (one firing scenario per alert), so the label
sets are the ones the rules really produce after scraping and aggregation.
"""

from __future__ import annotations

import json

import pytest

from obsgate.applicability import placeholder
from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.findings import judge
from obsgate.options import config_dir
from obsgate.scenarios.lanes import LiveLanes
from obsgate.scenarios.model import Scenario, load_scenarios
from obsgate.scenarios.params import ALERT_SCENARIOS
from obsgate.scenarios.receivers import (
    by_name,
    intended_channels,
    load_receiver_intent,
    sends_resolved,
    sent_differences,
)
from obsgate.scenarios.routing import (
    RouteCase,
    accepted_firing,
    live_arrivals,
    load_route_cases,
    slack_channels,
)
from obsgate.sinks.service import SinkClient
from obsgate.tools.versions_line import chosen_line

pytestmark = [
    pytest.mark.routing,
    pytest.mark.requires("scenarios/routing", "scenarios/alerts"),
    pytest.mark.needs("prometheus", "alertmanager", "sink"),
    pytest.mark.writes("serves test series to Prometheus and reads the gate's own sink"),
    pytest.mark.xdist_group("live"),
    pytest.mark.live_scenario,
]
RESOLVE_WAIT = 10.0


def firing_scenario(alert: str, scenarios: list[Scenario]) -> Scenario | None:
    """The scenario that makes `alert` fire live: one without a finding if there is one."""
    live = [s for s in scenarios if s.alert == alert and s.fires and "live" in s.layers]
    return next((s for s in live if not s.finding), live[0] if live else None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames or placeholder(metafunc, ("case", "scenario")):
        return
    try:
        config = ObsConfig(config_dir(metafunc.config))
        cases = load_route_cases(config)
        scenarios = load_scenarios(config.locate(ALERT_SCENARIOS))
    except GateError as exc:
        raise pytest.UsageError(str(exc)) from None
    params = []
    for case in cases:
        scenario = firing_scenario(case.alert, scenarios) if case.alert else None
        if scenario is None:
            continue  # hand-written label sets: amtool checks them; no rule fires them
        params.append(pytest.param(case, scenario, id=case.id))
    metafunc.parametrize(("case", "scenario"), params)


def test_alert_reaches_the_intended_receivers_live(
    case: RouteCase,
    scenario: Scenario,
    live_alert_runs: LiveLanes,
    capture_sink: SinkClient,
    obs_config: ObsConfig,
    request: pytest.FixtureRequest,
) -> None:
    run = live_alert_runs.of(scenario)
    run.wait_for(scenario)
    fired_at = run.first_firing(scenario)
    assert fired_at is not None, (
        f"{case.alert} never fired live in scenario {scenario.id}; see that scenario's test"
    )
    notifications = capture_sink.notifications()
    alertmanager = obs_config.alertmanager()
    intent = load_receiver_intent(obs_config)  # the channels meant, where stated
    channels = intended_channels(intent) if intent else slack_channels(alertmanager)
    got = live_arrivals(case.alert, notifications, channels)
    arrived = accepted_firing(case.alert, notifications)
    # Latency from firing in Prometheus (as the watcher saw it, every 0.1 s) to the sink, on
    # notifications that name this scenario's alert (PagerDuty lists each alert's labels).
    iso = run.targets.isolation_value(scenario.id)
    own = [n.received_at for n in arrived if iso in json.dumps(n.raw)]
    if own:
        request.node.user_properties.append(
            ("notification_latency_s", round(min(own) - fired_at, 3))
        )
    failed = sorted(
        {
            n.receiver
            for n in capture_sink.notifications()
            if n.answered >= 300 and n.mentions(case.alert)
        }
    )
    judge(
        holds=got == sorted(case.receivers),
        observed=tuple(got),
        finding=case.live_finding_pin(chosen_line(), obs_config),
        failure=f"{case.id}: {case.intent}\n  expected notifications at {sorted(case.receivers)}\n"
        f"  received at {got}"
        + (f"; refused by the sink: {failed}" if failed else "")
        + f"\nAlertmanager log:\n{run.alertmanager.log_tail(8)}",
    )
    wrong = sent_differences(intent, arrived) if intent else []
    assert not wrong, f"{case.id}: sent otherwise than the receiver intent says:\n" + "\n".join(
        wrong
    )
    configured = by_name(alertmanager)
    for receiver in case.receivers:
        if not any(sends_resolved(configured.get(receiver, {})).values()):
            continue  # send_resolved off (or Slack's default): nothing is sent on resolution
        capture_sink.wait_for(
            lambda n, r=receiver: (
                n.receiver == r and n.status == "resolved" and n.mentions(case.alert)
            ),
            timeout=RESOLVE_WAIT,
            what=f"{case.alert} resolved at {receiver} (send_resolved)",
        )
