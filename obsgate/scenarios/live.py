"""The live layer: scenarios replayed through real Prometheus and Alertmanager.

One run per time scale (obsgate/scenarios/lanes.py). Its scenarios start together, as many
as the scrape budget allows (MAX_SCRAPES_PER_SECOND), longest first, the rest as earlier
ones end: a config ten times larger takes longer, but no scenario is scraped more slowly.
A watcher records what Prometheus' and Alertmanager's alert APIs say every 100 ms, and each
test then judges its own scenario from that record: the expected alerts appeared (labels,
rendered annotations) in both before their deadline, went away after the condition
cleared, and a quiet scenario never fired. Exact durations are the exact layer's job;
timing here only bounds the waits.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from obsgate.scenarios.model import ExpectedAlert, Scenario
from obsgate.scenarios.targets import DATA_JOB, ScenarioTargets
from obsgate.sinks.capture import Notification
from obsgate.stack.endpoint import Endpoint, PrometheusEndpoint
from obsgate.stack.prometheus import LOOKBACK_DELTA

POLL_SECONDS = 0.1
# Said by every verdict the machine's load decided, not the rule: the self-test counts no
# such failure as a mutant's kill.
LOST_SCRAPES = "the scrape targets answered too late"
DISCOVERY_TIMEOUT = 20.0  # real seconds from a scenario's admission to its first scrape
# Scrape targets served at once at time scale 240 (each scraped four times a second): 160
# (the MindWeave config five times over) kept every scrape in time on 2 busy cores, 320 did
# not. A target at time scale F costs F / 60 scrapes a second of the budget.
MAX_LIVE_TARGETS = 160
MAX_SCRAPES_PER_SECOND = MAX_LIVE_TARGETS * 240 / 60
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?", re.I)

Alert = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]  # labels, annotations


@dataclass
class Observation:
    """One poll of both alert APIs; a server that did not answer is None, not "no alerts",
    so a dead Alertmanager never blinds the record of Prometheus, nor reads as silence."""

    at: float  # time.monotonic()
    prometheus_firing: list[Alert] | None
    alertmanager_active: list[Alert] | None
    # server -> (isolation value, alertname) -> its alerts: judging a scenario reads its own
    # alerts by key, so its cost does not grow with how many other scenarios fire at once.
    owned: dict[str, dict[tuple[str | None, str | None], list[Alert]]] = field(default_factory=dict)


@dataclass
class LiveVerdict:
    ok: bool
    problems: list[str] = field(default_factory=list)
    history: str = ""


def _freeze(alert: dict[str, Any]) -> Alert:
    return (
        tuple(sorted(alert.get("labels", {}).items())),
        tuple(sorted(alert.get("annotations", {}).items())),
    )


VALUE_TOLERANCE = 0.10  # relative: live rates come from real scrapes, not exact samples


def same_but_numbers(want: str, got: str, tolerance: float = VALUE_TOLERANCE) -> bool:
    """True if the texts agree in their words and each number within `tolerance`.

    A `$value` rendered live differs from promtool's in its last digits (real scrape
    times, extrapolated rates), never by a unit or an order of magnitude.
    """
    want_parts, got_parts = _NUMBER.split(want), _NUMBER.split(got)
    if want_parts != got_parts:
        return False
    for w, g in zip(_NUMBER.findall(want), _NUMBER.findall(got), strict=True):
        if not math.isclose(float(w), float(g), rel_tol=tolerance, abs_tol=1e-9):
            return False
    return True


@dataclass(frozen=True, kw_only=True)
class LiveRunSettings:
    """How the scenarios are replayed: the time factor, the isolation label and this worker's
    tag for its values, each alert's annotation templates and scaled value query (for the
    diagnosis of a failure), and the labels that are plumbing, not intent (external labels)."""

    factor: float
    label: str
    tag: str
    templates: dict[str, dict[str, str]]
    values_queries: dict[str, str]
    plumbing_labels: frozenset[str]
    # For the report's timelines: each alert's threshold (`value OP number`, where its expr
    # ends in one), and what the sink received (Alertmanager's notifications), if known.
    thresholds: dict[str, tuple[str, float] | None] = field(default_factory=dict)
    notifications: Callable[[], list[Notification]] | None = None
    budget: float = MAX_SCRAPES_PER_SECOND  # scrapes a second this run's targets may take


class LiveAlertRun:
    """Serves the scenarios, watches both alert APIs, and judges one scenario on request."""

    def __init__(
        self,
        scenarios: list[Scenario],
        *,
        prometheus: PrometheusEndpoint,
        alertmanager: Endpoint,
        settings: LiveRunSettings,
    ):
        self.scenarios = {s.id: s for s in scenarios}
        self.prometheus = prometheus
        self.alertmanager = alertmanager
        self.factor = factor = settings.factor
        self.label = label = settings.label
        self.targets = ScenarioTargets(scenarios, factor, label, settings.tag, prometheus.url)
        self.sd_dir = Path(prometheus.file_sd_dir)
        self.templates = settings.templates  # alert name -> annotation name -> template text
        self.values_queries = settings.values_queries  # alert -> its scaled value
        self.thresholds = settings.thresholds
        self.notifications = settings.notifications
        self.plumbing = settings.plumbing_labels | {label, "instance", "job", "alertname"}
        self.observations: list[Observation] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self.scrape_seconds = 60.0 / factor
        self.grace = 1.5 + 8 * self.scrape_seconds
        self.started = 0.0
        self._sd_files: list[Path] = []
        self.budget = settings.budget
        # Longest first: the run then ends with the short ones, filling the budget's gaps.
        self.waiting = sorted(scenarios, key=lambda s: s.replay_seconds, reverse=True)
        self.active: dict[str, Scenario] = {}
        self.admitted: dict[str, float] = {}  # scenario id -> when its targets were written
        # Scrapes a second each scenario's targets cost: a target is scraped F / 60 times a
        # second at time scale F.
        self.costs = {s.id: self.targets.target_count(s) * factor / 60 for s in scenarios}
        # How long a scenario can wait for its turn: every other one ahead of it ends first.
        self.turn_bound = DISCOVERY_TIMEOUT + sum(self._span(s) for s in scenarios)

    def start(self) -> LiveAlertRun:
        self.targets.start()
        self.started = time.monotonic()
        self._schedule(self.started)
        self._watcher.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for path in self._sd_files:
            path.unlink(missing_ok=True)
        self.targets.stop()

    def _span(self, scenario: Scenario) -> float:
        """Real seconds a scenario holds its targets after its first scrape: until its last
        checkpoint and its last value, and the lookback after it, have passed."""
        values = max(
            (len(series.values) * scenario.interval_seconds for series in scenario.series),
            default=0.0,
        )
        last = max(scenario.duration_seconds, values + LOOKBACK_DELTA) - scenario.history_seconds
        return last / self.factor + self.grace

    def _done(self, scenario: Scenario, now: float) -> bool:
        clock = self.targets.clocks[scenario.id]
        if clock.started_mono is None:  # never scraped: the verdict says so
            return now > self.admitted[scenario.id] + DISCOVERY_TIMEOUT
        first_scrape = clock.started_mono + scenario.history_seconds / self.factor
        return now > first_scrape + self._span(scenario)

    def _schedule(self, now: float) -> None:
        """Retire the scenarios that are done, admit waiting ones while their targets fit the
        budget (at least one), and write file_sd when the set changed."""
        done = [sid for sid, sc in self.active.items() if self._done(sc, now)]
        for sid in done:
            del self.active[sid]
        used = sum(self.costs[sid] for sid in self.active)
        admitted = 0
        while self.waiting:
            cost = self.costs[self.waiting[0].id]
            if self.active and used + cost > self.budget + 1e-9:
                break
            scenario = self.waiting.pop(0)
            self.active[scenario.id], self.admitted[scenario.id] = scenario, now
            used, admitted = used + cost, admitted + 1
        if done or admitted:
            self._sd_files = self.targets.write_file_sd(self.sd_dir, list(self.active.values()))

    def _watch(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            at = time.monotonic()
            self._schedule(at)
            firing = self._poll(session, "prometheus", f"{self.prometheus.url}/api/v1/alerts")
            active = self._poll(session, "alertmanager", f"{self.alertmanager.url}/api/v2/alerts")
            observation = Observation(
                at,
                None
                if firing is None
                else [_freeze(a) for a in firing["data"]["alerts"] if a["state"] == "firing"],
                None if active is None else [_freeze(a) for a in active],
            )
            for server, alerts in (
                ("prometheus", observation.prometheus_firing),
                ("alertmanager", observation.alertmanager_active),
            ):
                if alerts is not None:
                    observation.owned[server] = self._by_owner(alerts)
            self.observations.append(observation)
            self._stop.wait(POLL_SECONDS)

    def _poll(self, session: requests.Session, server: str, url: str) -> Any:
        """One server's answer, or None with the error kept for the verdict."""
        try:
            return session.get(url, timeout=2).json()
        except (requests.RequestException, ValueError) as exc:
            self.errors.append(f"{time.monotonic() - self.started:.1f}s: {server}: {exc}")
            return None

    def unseen(self, server: str, start: float, end: float) -> int:
        """How many polls between `start` and `end` got no answer from `server`."""
        field = "prometheus_firing" if server == "prometheus" else "alertmanager_active"
        return sum(
            1 for o in self.observations if start <= o.at <= end and getattr(o, field) is None
        )

    def end_of(self, scenario: Scenario) -> float | None:
        clock = self.targets.clocks[scenario.id]
        if clock.started_mono is None:
            return None
        return clock.started_mono + scenario.duration_seconds / self.factor + self.grace

    def wait_for(self, scenario: Scenario) -> None:
        """Block until the scenario's turn has come, and then until its last checkpoint (plus
        grace) has passed in real time; the verdict says which of them never came."""
        while scenario.id not in self.admitted:
            if time.monotonic() - self.started > self.turn_bound or not self._watcher.is_alive():
                return
            time.sleep(POLL_SECONDS)
        while self.end_of(scenario) is None:
            if time.monotonic() - self.admitted[scenario.id] > DISCOVERY_TIMEOUT:
                return
            time.sleep(POLL_SECONDS)
        end = self.end_of(scenario)
        assert end is not None
        while time.monotonic() < end:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))

    # -- judging ---------------------------------------------------------------------------

    def _by_owner(self, alerts: list[Alert]) -> dict[tuple[str | None, str | None], list[Alert]]:
        owned: dict[tuple[str | None, str | None], list[Alert]] = {}
        for alert in alerts:
            labels = dict(alert[0])
            owned.setdefault((labels.get(self.label), labels.get("alertname")), []).append(alert)
        return owned

    def _own(self, scenario: Scenario, o: Observation, server: str) -> list[Alert]:
        """The scenario's own alerts (its isolation value, its alert) in one poll of
        `server` ("prometheus" or "alertmanager"); [] also where the server did not answer."""
        key = (self.targets.isolation_value(scenario.id), scenario.alert)
        return o.owned.get(server, {}).get(key, [])

    def labels_match(self, expected: ExpectedAlert, alert: Alert) -> bool:
        """The expected labels, and no others but the live plumbing (isolation, target)."""
        labels = dict(alert[0])
        if any(labels.get(k) != v for k, v in expected.labels.items()):
            return False
        return not set(labels) - set(expected.labels) - self.plumbing

    def matches(self, scenario: Scenario, expected: ExpectedAlert, alert: Alert) -> bool:
        annotations = dict(alert[1])
        if not self.labels_match(expected, alert):
            return False
        templates = self.templates.get(scenario.alert, {})
        for name, want in expected.annotations.items():
            got = annotations.get(name)
            if got is None:
                return False
            template = templates.get(name, "")
            if "$value" in template or ".Value" in template:
                if not same_but_numbers(want, got):
                    return False
            elif got != want:
                return False
        return set(annotations) == set(expected.annotations)

    def judge(self, scenario: Scenario) -> LiveVerdict:
        """What the record shows for `scenario`, against its checkpoints."""
        clock = self.targets.clocks[scenario.id]
        if scenario.id not in self.admitted:
            return LiveVerdict(
                False,
                [
                    f"its turn never came: {len(self.active)} scenarios still held the "
                    f"{self.budget:g} scrapes a second its time-scale lane answers after "
                    f"{self.turn_bound:.0f} s"
                ],
            )
        if clock.started_mono is None:
            return LiveVerdict(
                False,
                [
                    f"Prometheus never scraped the scenario's target {self.targets.address} "
                    f"(file_sd in {self.sd_dir}); Prometheus log:\n{self.prometheus.log_tail()}"
                ],
            )
        t0 = clock.started_mono
        obs = [o for o in self.observations if o.at >= t0]
        problems: list[str] = []
        if scenario.id in self.targets.history_errors:
            problems.append(
                f"its history ({scenario.history_seconds / 60:g} simulated minutes) could not be "
                f"written into Prometheus: {self.targets.history_errors[scenario.id]}"
            )
        expected_all = [e for cp in scenario.expect for e in cp.firing]
        cursor, fired = t0, False
        for cp in scenario.expect:
            deadline = t0 + cp.at_seconds / self.factor + self.grace
            window = [o for o in obs if cursor <= o.at <= deadline]
            if cp.firing:
                # Prometheus first, then Alertmanager, which hears of it one send later:
                # a short firing window must not have to show in both at the same poll.
                in_prom = next(
                    (
                        o
                        for o in window
                        if self._all_in(scenario, cp.firing, self._own(scenario, o, "prometheus"))
                    ),
                    None,
                )
                in_am = in_prom and next(
                    (
                        o
                        for o in obs
                        if in_prom.at <= o.at <= deadline + self.grace
                        and self._all_in(
                            scenario, cp.firing, self._own(scenario, o, "alertmanager")
                        )
                    ),
                    None,
                )
                if in_prom is None or in_am is None:
                    where = "Prometheus" if in_prom is None else "Alertmanager"
                    start = cursor if in_prom is None else in_prom.at
                    missed = self.unseen(where.lower(), start, deadline + self.grace)
                    if missed:  # not the rule's failure: the server was not there to see
                        problems.append(
                            f"at {cp.at_text}: {where} did not answer {missed} of the polls "
                            f"before the deadline ({deadline - t0:.1f}s real), so the "
                            f"checkpoint could not be observed: {self.errors[-1:]}"
                        )
                        break
                    problems.append(
                        f"at {cp.at_text} (deadline {deadline - t0:.1f}s real): expected "
                        f"{len(cp.firing)} firing alert(s) with these labels and annotations; "
                        f"{where} showed none in time: {[dict(e.labels) for e in cp.firing]}"
                    )
                    break
                cursor, fired = in_prom.at, True
            elif fired:
                hit = next(
                    (
                        o
                        for o in window
                        if o.alertmanager_active is not None
                        and o.prometheus_firing is not None
                        and not self._own(scenario, o, "alertmanager")
                        and not self._own(scenario, o, "prometheus")
                    ),
                    None,
                )
                if hit is None:
                    problems.append(
                        f"at {cp.at_text}: the alert did not resolve by {deadline - t0:.1f}s real"
                    )
                    break
                cursor = hit.at
        end = t0 + scenario.duration_seconds / self.factor + self.grace
        for o in obs:
            if o.at > end:
                break
            seen = self._own(scenario, o, "prometheus") + self._own(scenario, o, "alertmanager")
            for alert in seen:
                # Labels only: a `$value` in an annotation drifts as the window moves on.
                if not any(self.labels_match(e, alert) for e in expected_all):
                    problems.append(
                        f"unexpected alert at {o.at - t0:.2f}s real: "
                        f"labels {dict(alert[0])}, annotations {dict(alert[1])}"
                    )
                    break
            if len(problems) > 3:
                break
        if not problems and (unobserved := self._unobserved(scenario)):
            problems.append(unobserved)
        history = self.history(scenario)
        if problems:
            history += "\n" + self.diagnose(scenario)
        return LiveVerdict(not problems, problems, history)

    def query_range(
        self, query: str, start: float, step: float, end: float | None = None
    ) -> list[dict[str, Any]]:
        """The series of a range query from `start` until `end` (now), as Prometheus returns
        them."""
        end = time.time() if end is None else min(end, time.time())
        params = {"query": query, "start": start, "end": end, "step": str(step)}
        url = f"{self.prometheus.url}/api/v1/query_range"
        return requests.get(url, params=params, timeout=5).json()["data"]["result"]

    def unproven(self, scenario: Scenario) -> list[str]:
        """What keeps a failed live check from being the rule's own verdict: a served series
        Prometheus never stored, or a rule that did not evaluate cleanly. Empty: the servers
        had the scenario's data and ran the rule, so "showed none in time" is the rule's."""
        clock = self.targets.clocks[scenario.id]
        if clock.started_wall is None:
            return ["Prometheus never scraped the scenario's target"]
        gaps = []
        try:
            missed = self.missed_scrapes(scenario)
            if missed:
                gaps.append(missed)
            for series in scenario.series:
                labels = self.targets.series_labels(scenario, series)
                selector = "{" + ",".join(f"{k}={json.dumps(v)}" for k, v in labels.items()) + "}"
                step = max(0.25, self.scrape_seconds)
                if not self.query_range(selector, clock.started_wall, step):
                    gaps.append(f"Prometheus stored no sample of the served {series.selector}")
            groups = requests.get(f"{self.prometheus.url}/api/v1/rules", timeout=5).json()
            rules = [
                rule
                for group in groups["data"]["groups"]
                for rule in group["rules"]
                if rule.get("name") == scenario.alert
            ]
            if not rules:
                gaps.append(f"Prometheus has no rule {scenario.alert} loaded")
            gaps += [
                f"rule {scenario.alert} health {rule.get('health')}: {rule.get('lastError')}"
                for rule in rules
                if rule.get("health") != "ok"
            ]
        except (requests.RequestException, ValueError, KeyError) as exc:
            gaps.append(f"could not ask Prometheus: {exc}")
        return gaps

    def _unobserved(self, scenario: Scenario) -> str:
        """Why a pass does not count, if it does not: a pass needs the data the rule was
        meant to see (a quiet scenario is quiet without it too)."""
        try:
            missed = self.missed_scrapes(scenario)
        except (requests.RequestException, ValueError, KeyError) as exc:
            missed = f"could not ask Prometheus how its scrapes went: {exc}"
        return f"not observed as written, so not judged: {missed}" if missed else ""

    def missed_scrapes(self, scenario: Scenario) -> str:
        """What Prometheus' own `up` says of its scrapes of the scenario's data target, from
        its first scrape to its last checkpoint: scrapes that failed or never happened (the
        scrape targets answered too late) left the rule evaluating without the scenario's data.
        Empty if at most one was lost: a served sample stays visible for five scrapes, and a
        rate window of five scrapes barely moves without one of them."""
        clock = self.targets.clocks[scenario.id]
        if clock.started_wall is None:
            return ""
        # From half a scrape before the first: Prometheus stamps `up` when the scrape starts,
        # a moment before the target's clock starts on answering it.
        first = clock.started_wall + scenario.history_seconds / self.factor
        end = min(clock.started_wall + scenario.duration_seconds / self.factor, time.time())
        window = f"{max(1, int((end - first + self.scrape_seconds / 2) * 1000))}ms"
        target = {
            "job": DATA_JOB,
            "instance": self.targets.address,
            self.label: self.targets.isolation_value(scenario.id),
        }
        selector = f"up{{{self.label}={json.dumps(target[self.label])}}}[{window}]"
        counts = []
        for function in ("count_over_time", "sum_over_time"):
            answer = requests.get(
                f"{self.prometheus.url}/api/v1/query",
                params={"query": f"{function}({selector})", "time": end},
                timeout=5,
            ).json()["data"]["result"]
            # The data target only: a scenario's `up` series are targets that fail on purpose.
            counts.append(sum(float(r["value"][1]) for r in answer if r["metric"] == target))
        scraped, succeeded = counts
        expected = int((end - first) / self.scrape_seconds) + 1
        failed = round(scraped - succeeded)
        if failed + max(0, expected - round(scraped)) <= 1:
            return ""
        return (
            f"Prometheus scraped the scenario's target {scraped:.0f} times in "
            f"{end - first:.1f}s real, where its schedule has {expected}, and {failed} of them "
            f"failed: {LOST_SCRAPES} (a busy machine), so the rule evaluated without the "
            "scenario's data"
        )

    def diagnose(self, scenario: Scenario) -> str:
        """What Prometheus itself says of the rule and of this scenario's ALERTS series:
        the evidence a failed live check needs to tell a config defect from a slow machine."""
        iso = self.targets.isolation_value(scenario.id)
        clock = self.targets.clocks[scenario.id]
        lines = []
        try:
            groups = requests.get(f"{self.prometheus.url}/api/v1/rules", timeout=5).json()
            for group in groups["data"]["groups"]:
                for rule in group["rules"]:
                    if rule.get("name") == scenario.alert:
                        mine = [
                            (a["state"], a.get("activeAt"))
                            for a in rule.get("alerts", [])
                            if a["labels"].get(self.label) == iso
                        ]
                        lines.append(
                            f"  rule {scenario.alert}: health {rule.get('health')}, "
                            f"last error {rule.get('lastError') or 'none'}, "
                            f"evaluated {rule.get('lastEvaluation')}; now {mine}"
                        )
            if clock.started_wall is not None and scenario.alert in self.values_queries:
                query = self.values_queries[scenario.alert]
                data = self.query_range(query, clock.started_wall, 0.25)
                for series in data:
                    if series["metric"].get(self.label) != iso:
                        continue
                    values = " ".join(f"{float(v):.3g}" for _, v in series["values"])
                    lines.append(f"  the rule's value every 0.25 s: {values}")
            if clock.started_wall is not None:
                query = f'ALERTS{{alertname="{scenario.alert}",{self.label}="{iso}"}}'
                for series in self.query_range(query, clock.started_wall, 0.1):
                    times = [float(t) - clock.started_wall for t, _ in series["values"]]
                    lines.append(
                        f"  ALERTS {series['metric'].get('alertstate')}: from "
                        f"{min(times):.1f}s to {max(times):.1f}s real after the first "
                        f"scrape ({len(times)} points at 0.1 s)"
                    )
        except (requests.RequestException, ValueError, KeyError) as exc:
            lines.append(f"  (could not ask Prometheus: {exc})")
        return "what Prometheus says:\n" + ("\n".join(lines) or "  no ALERTS series at all")

    def _all_in(
        self, scenario: Scenario, expected: tuple[ExpectedAlert, ...], mine: list[Alert]
    ) -> bool:
        """Every expected alert among the scenario's own alerts of one poll."""
        return all(any(self.matches(scenario, e, a) for a in mine) for e in expected)

    def first_firing(self, scenario: Scenario) -> float | None:
        """When the watcher first saw the scenario's alert firing in Prometheus."""
        return next(
            (o.at for o in self.observations if self._own(scenario, o, "prometheus")),
            None,
        )

    def history(self, scenario: Scenario) -> str:
        """What the APIs said about this scenario's alert, change by change, for the report."""
        t0 = self.targets.clocks[scenario.id].started_mono or self.started
        lines, last = [], None
        for o in self.observations:
            now = (
                None
                if o.prometheus_firing is None
                else tuple(self._own(scenario, o, "prometheus")),
                None
                if o.alertmanager_active is None
                else tuple(self._own(scenario, o, "alertmanager")),
            )
            if now != last:
                sim = (o.at - t0) * self.factor
                prom = "no answer" if now[0] is None else [dict(a[0]) | dict(a[1]) for a in now[0]]
                am = "no answer" if now[1] is None else f"{len(now[1])} active"
                lines.append(
                    f"  {o.at - t0:6.2f}s real (~{sim / 60:5.1f}m sim): "
                    f"prometheus firing {prom}; alertmanager {am}"
                )
                last = now
        if self.errors:
            lines.append(f"  API errors: {self.errors[:3]}")
        return "\n".join(lines) or "  (no alert seen)"
