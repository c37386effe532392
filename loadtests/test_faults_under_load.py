"""The whole chain under load: Locust -> gateway -> upstream stub (faults injected) ->
Prometheus (rules time-scaled by --load-time-scale) -> Alertmanager -> the capture sink.

One Locust run carries three phases, recorded as a timeline: the upstream fails a share
of its calls with 503 (HighErrorRate and the availability SLO's page alert must fire, and
reach the receivers the routing intent names); the fault is removed (both must resolve);
then the upstream answers in 3 s (HighLatency must fire). Each wait is bounded; one that
gives up is recorded with what it waited for, and the test of that step fails with it.

The share is 30 %, not 10 %: about 45 % of the locustfile's requests call the upstream
(health, policy and usage routes do not), so 10 % of upstream calls is about 4.5 % of the
gateway's answers, under HighErrorRate's 5 %, and the alert flaps (seen). 30 % is about
13 % of the gateway's answers; the timeline reports the ratio Prometheus measured.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.load.fixtures import LoadSummary, load_dir
from obsgate.load.locust_run import (
    LoadPhase,
    LoadProfile,
    LocustResult,
    finish_locust,
    locust_command,
    start_locust,
)
from obsgate.load.stack import AS_DEPLOYED, GATEWAY, INTENDED, VIEW, LoadStack
from obsgate.load.thresholds import latency_selectors
from obsgate.scenarios.routing import RouteCase, arrival, load_route_cases, slack_channels
from obsgate.scrape_labels import unattached_labels
from obsgate.slo.spec import SLO, config_slos
from obsgate.tools.versions_line import chosen_line

pytestmark = [
    pytest.mark.load,
    pytest.mark.needs("redis", "kafka"),
    pytest.mark.writes("starts its own app and servers and drives load through them"),
    pytest.mark.xdist_group("load"),
]
ERROR_ALERT, LATENCY_ALERT = "HighErrorRate", "HighLatency"
ERROR_FAULT = {"error_rate": 0.30, "error_status": 503}
LATENCY_FAULT = {"latency_ms": 3000}
FAULT_PROFILE = LoadProfile(users=10, spawn_rate=10, run_time_s=240)
WAIT_S = 90.0  # for any one step, in real seconds (the rules run 60x faster by default)
SETTLE_S = 5.0  # after the first notification, for the rest of the group's receivers


@dataclass
class FaultTimeline:
    """Seconds from the injection of each fault to what the chain did."""

    at: dict[str, float] = field(default_factory=dict)
    gave_up: dict[str, str] = field(default_factory=dict)
    receivers: tuple[str, ...] = ()
    deployed_view_fired: bool = False
    deployed_view_up: bool = False
    error_ratio: float | None = None  # the gateway's 5xx share during the fault
    locust: LocustResult | None = None

    def require(self, step: str) -> float:
        if step not in self.at:
            raise AssertionError(self.gave_up.get(step, f"{step}: never reached"))
        return self.at[step]


def page_alert_of(config: ObsConfig) -> SLO:
    """The gateway's availability SLO with a page alert: the one a 5xx fault must page."""
    for slo in config_slos(config):
        if slo.service == GATEWAY and latency_selectors(slo) is None and not slo.page.disabled:
            return slo
    raise AssertionError("the config has no api-gateway availability SLO with a page alert")


def route_case(config: ObsConfig, alert: str) -> RouteCase:
    cases = [c for c in load_route_cases(config) if c.alert == alert]
    if not cases:
        raise AssertionError(f"scenarios/routing names no receivers for {alert}")
    return cases[0]


def firing(stack: LoadStack, alert: str, view: str, **labels: str) -> bool:
    want = {"alertname": alert, VIEW: view, **labels}
    return any(
        a["state"] == "firing" and all(a["labels"].get(k) == v for k, v in want.items())
        for a in stack.alerts()
    )


def what_the_stack_shows(stack: LoadStack) -> str:
    """For a wait that gave up: Prometheus' alerts and both servers' log tails."""
    alerts = [
        f"{a['labels'].get('alertname')}{{{VIEW}={a['labels'].get(VIEW)}}} {a['state']}"
        for a in stack.alerts()
    ]
    return (
        f"  Prometheus' alerts now: {alerts or 'none'}\n"
        f"  Prometheus log:\n{stack.prometheus.log_tail(5)}\n"
        f"  Alertmanager log:\n{stack.alertmanager.log_tail(5)}"
    )


def wait_steps(
    timeline: FaultTimeline,
    stack: LoadStack,
    since: float,
    steps: dict[str, Callable[[], bool]],
    what: str,
) -> None:
    """Poll every step until each has happened once (its time recorded) or WAIT_S passes."""
    deadline = time.monotonic() + WAIT_S
    pending = dict(steps)
    while pending and time.monotonic() < deadline:
        for step, happened in list(pending.items()):
            if happened():
                timeline.at[step] = round(time.monotonic() - since, 1)
                del pending[step]
        time.sleep(0.25)
    for step in pending:
        timeline.gave_up[step] = (
            f"gave up after {WAIT_S:.0f} s waiting for {step} ({what})\n"
            + what_the_stack_shows(stack)
        )


def run_fault_phases(stack: LoadStack, config: ObsConfig, timeline: FaultTimeline) -> None:
    sink = stack.sink_client
    page = page_alert_of(config)
    wait_steps(
        timeline,
        stack,
        time.monotonic(),
        {"traffic scraped": lambda: bool(stack.scalar(
            f'sum(rate(http_requests_total{{job="{GATEWAY}", {VIEW}="{INTENDED}"}}[5s])) > 0'))},
        "the gateway's requests in Prometheus before any fault",
    )  # fmt: skip
    sink.clear()
    stack.set_faults(**ERROR_FAULT)
    injected = time.monotonic()

    def error_alert_fired() -> bool:
        timeline.deployed_view_fired |= firing(stack, ERROR_ALERT, AS_DEPLOYED)
        return firing(stack, ERROR_ALERT, INTENDED)

    def notified() -> bool:
        return any(n.mentions(ERROR_ALERT) and n.status == "firing" for n in sink.notifications())

    wait_steps(
        timeline,
        stack,
        injected,
        {
            f"{ERROR_ALERT} firing": error_alert_fired,
            f"{page.page.name} page firing": lambda: firing(
                stack, page.page.name, INTENDED, sloth_severity="page"
            ),
            f"{ERROR_ALERT} notified": notified,
        },
        f"upstream answering {ERROR_FAULT}",
    )
    time.sleep(SETTLE_S)
    timeline.deployed_view_fired |= firing(stack, ERROR_ALERT, AS_DEPLOYED)
    timeline.deployed_view_up = stack.scalar(f'up{{{VIEW}="{AS_DEPLOYED}"}}') == 1.0
    window = f"{round(time.monotonic() - injected)}s"
    requests = f'http_requests_total{{job="{GATEWAY}", {VIEW}="{INTENDED}"'
    timeline.error_ratio = stack.scalar(
        f'sum(rate({requests}, status_code=~"5.."}}[{window}])) / sum(rate({requests}}}[{window}]))'
    )
    channels = slack_channels(config.alertmanager())
    timeline.receivers = tuple(sorted({
        arrival(n.receiver, n.kind, n.channel, channels) for n in sink.notifications()
        if n.status == "firing" and n.answered < 300 and n.mentions(ERROR_ALERT)
    }))  # fmt: skip
    stack.clear_faults()
    cleared = time.monotonic()
    wait_steps(
        timeline,
        stack,
        cleared,
        {
            f"{ERROR_ALERT} resolved": lambda: not firing(stack, ERROR_ALERT, INTENDED),
            f"{page.page.name} page resolved": lambda: (
                not firing(stack, page.page.name, INTENDED, sloth_severity="page")
            ),
        },
        "the upstream healthy again",
    )
    stack.set_faults(**LATENCY_FAULT)
    wait_steps(
        timeline,
        stack,
        time.monotonic(),
        {f"{LATENCY_ALERT} firing": lambda: firing(stack, LATENCY_ALERT, INTENDED)},
        f"upstream answering in {LATENCY_FAULT['latency_ms']} ms",
    )


@pytest.fixture(scope="module")
def fault_timeline(
    request: pytest.FixtureRequest,
    load_stack: LoadStack,
    obs_config: ObsConfig,
    load_summary: LoadSummary,
) -> FaultTimeline:
    out_dir = load_dir(request.config)
    timeline = FaultTimeline()
    load_stack.clear_faults()
    phase = LoadPhase(
        name="faults",
        host=load_stack.gateway.url,
        profile=FAULT_PROFILE,
        config_dir=obs_config.root,
        out_dir=out_dir,
    )
    proc = start_locust(locust_command(phase))
    try:
        run_fault_phases(load_stack, obs_config, timeline)
    finally:
        load_stack.clear_faults()
        proc.send_signal(signal.SIGTERM)  # Locust stops its users and writes its reports
        timeline.locust = finish_locust(phase, proc)
    load_summary.add(
        f"faults under load ({FAULT_PROFILE.users} users, rules x{load_stack.factor:g})",
        [f"{step}: {at} s into its phase" for step, at in timeline.at.items()]
        + list(timeline.gave_up.values())
        + [f"{ERROR_ALERT} notified at: {', '.join(timeline.receivers) or 'nowhere'}",
           f"gateway 5xx ratio during the error fault: {timeline.error_ratio or 0:.1%}",
           f"{ERROR_ALERT} in the as-deployed view: "
           f"{'fired' if timeline.deployed_view_fired else 'never fired'}"],
    )  # fmt: skip
    return timeline


def test_error_fault_fires_high_error_rate(fault_timeline: FaultTimeline) -> None:
    fault_timeline.require(f"{ERROR_ALERT} firing")


def test_as_deployed_view_is_scraped(fault_timeline: FaultTimeline) -> None:
    """The seed's scrape job, fed Kubernetes' labels, scrapes the gateway: so the view's
    silence below is the rules' and the relabelling's, not a broken scrape."""
    assert fault_timeline.deployed_view_up, (
        f'up{{{VIEW}="{AS_DEPLOYED}"}} is not 1: the seed\'s mindweave-services job did not '
        "scrape the gateway (see the load Prometheus' /targets)"
    )


@pytest.mark.needs("obs-relabel")
@pytest.mark.requires("scenarios/scrape")  # the scrape finding reads its simulation
def test_error_fault_fires_high_error_rate_as_deployed(
    fault_timeline: FaultTimeline, obs_config: ObsConfig
) -> None:
    """Through the seed's own scrape job and relabelling, as in the cluster. Silent there, it
    is the finding only while the universal check names this alert's unattached labels."""
    fault_timeline.require(f"{ERROR_ALERT} firing")
    mine = f"{ERROR_ALERT}: "
    finding = universal_finding(obs_config, "rule-labels-attached-by-scrape")
    if finding is not None and isinstance(finding.evidence, frozenset):
        own = frozenset(e for e in finding.evidence if e.startswith(mine))
        finding = dataclasses.replace(finding, evidence=own)
    _, offenders = unattached_labels(obs_config)
    judge(
        holds=fault_timeline.deployed_view_fired,
        finding=finding,
        observed={o for o in offenders if o.startswith(mine)},
        failure=f"{ERROR_ALERT} fired on the series labelled as the rules expect, but never on "
        "the series as the seed's mindweave-services scrape job labels them",
    )


def test_error_fault_reaches_the_intended_receivers(
    fault_timeline: FaultTimeline, obs_config: ObsConfig
) -> None:
    fault_timeline.require(f"{ERROR_ALERT} notified")
    case = route_case(obs_config, ERROR_ALERT)
    got = fault_timeline.receivers
    judge(
        holds=got == tuple(sorted(case.receivers)),
        observed=got,
        finding=case.live_finding_pin(chosen_line(), obs_config),
        failure=f"{case.id}: {case.intent}\n  expected notifications at {sorted(case.receivers)}\n"
        f"  received at {list(got)}",
    )


def test_error_fault_fires_the_slo_page_alert(
    fault_timeline: FaultTimeline, obs_config: ObsConfig
) -> None:
    fault_timeline.require(f"{page_alert_of(obs_config).page.name} page firing")


def test_error_fault_resolves_when_the_fault_is_removed(
    fault_timeline: FaultTimeline, obs_config: ObsConfig
) -> None:
    page = page_alert_of(obs_config).page.name
    for step in (f"{ERROR_ALERT} firing", f"{page} page firing"):
        fault_timeline.require(step)  # resolving what never fired proves nothing
    fault_timeline.require(f"{ERROR_ALERT} resolved")
    fault_timeline.require(f"{page} page resolved")


def test_latency_fault_fires_high_latency(fault_timeline: FaultTimeline) -> None:
    fault_timeline.require(f"{LATENCY_ALERT} firing")
