"""SLI validity, live: each SLO's good and bad events (its intent) served at a known mix as
real scrape targets; real Prometheus evaluates the SLO's own errorQuery / totalQuery.

The targets are the alerts suite's (obsgate.scenarios.targets): one scenario per SLO,
isolated by the `scenario` label, on the run's time-scaled clock. A ratio of two rates is
the same at any time scale, so the queries are only rescaled to the simulated window and
keyed by the isolation label (obsgate.promql.scale_expr).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import promql_parser
import requests

from obsgate.promql import scale_expr
from obsgate.scenarios.model import Scenario, Series
from obsgate.scenarios.targets import ScenarioTargets
from obsgate.slo.intent import SLIIntent
from obsgate.slo.spec import SLO
from obsgate.stack.endpoint import PrometheusEndpoint

BAD_FRACTION = 0.2  # not 0.5, so that a query counting good events reads 0.8, not the same
EVENTS_PER_STEP = 100.0
STEP = 60.0  # one simulated minute per step, one scrape per step
REAL_SECONDS = 900.0  # the events go on for 15 real minutes: they must outlast the run
WINDOW = "5m"
SETTLE = 3 * 5 * 60.0  # simulated seconds of data before a reading: three windows
TOLERANCE = 0.01  # of a ratio: scrape timing, never the 0.6 between right and inverted
# What a ratio that reads near one of these values, and not the bad fraction, means.
MISREADINGS = (
    (1 - BAD_FRACTION, "it reads the good fraction: the errorQuery counts good events"),
    (0.0, "it reads 0: the errorQuery counts none of its bad events"),
    (1.0, "it reads 1: the errorQuery counts every event"),
)


def ratio_problems(ratio: float | None, selects_nothing: list[str]) -> list[str]:
    """What is wrong with an SLO's error ratio, by kind: the ratio itself varies from run to
    run, its kind does not. `selects_nothing`: which of its queries ("error", "total")
    return no series of its own events."""
    if ratio is None:
        said = [
            f"its {which}Query selects no series of its own events" for which in selects_nothing
        ]
        return said or ["its errorQuery / totalQuery gives no ratio"]
    if math.isclose(ratio, BAD_FRACTION, abs_tol=TOLERANCE):
        return []
    for value, meaning in MISREADINGS:
        if math.isclose(ratio, value, abs_tol=TOLERANCE):
            return [meaning]
    if ratio > 1:
        return ["it reads more than 1: the errorQuery counts events the totalQuery does not"]
    return ["it reads neither the bad nor the good fraction"]


def scenario_for(slo: SLO, sli: SLIIntent, factor: float) -> Scenario:
    """The SLO's events at the known mix, one step per simulated minute; a series that
    ended would vanish from Prometheus before a late test reads it."""
    good, steps = EVENTS_PER_STEP * (1 - BAD_FRACTION), math.ceil(REAL_SECONDS * factor / STEP)
    values = sli.series([(steps, good, EVENTS_PER_STEP * BAD_FRACTION)])
    series = []
    for selector, column in values.items():
        node = promql_parser.parse(selector)
        labels = {m.name: m.value for m in node.matchers.matchers}
        series.append(Series(selector, node.name, labels, "", tuple(column)))
    return Scenario(
        id=f"slo-{slo.id}",
        alert="",
        intent=f"{slo.id}: {BAD_FRACTION:.0%} bad events",
        interval_seconds=STEP,
        series=tuple(series),
        expect=(),
        file=sli.file,
    )


class LiveSLIRun:
    """Serves every SLO's events at once and reads each SLO's error ratio from Prometheus."""

    def __init__(
        self,
        pairs: list[tuple[SLO, SLIIntent]],
        prometheus: PrometheusEndpoint,
        *,
        factor: float,
        label: str,
        tag: str,
    ):
        """The targets go in `prometheus`' file_sd dir, labelled `label` = `tag` + scenario."""
        self.slos = {f"slo-{slo.id}": slo for slo, _ in pairs}
        scenarios = [scenario_for(slo, sli, factor) for slo, sli in pairs]
        self.scenarios = {s.id: s for s in scenarios}
        self.prometheus = prometheus
        self.factor = factor
        self.label = label
        self.targets = ScenarioTargets(list(self.scenarios.values()), factor, label, tag)
        self.sd_dir = Path(prometheus.file_sd_dir)
        self._files: list[Path] = []

    def start(self) -> LiveSLIRun:
        self.targets.start()
        self._files = self.targets.write_file_sd(self.sd_dir)
        return self

    def stop(self) -> None:
        for path in self._files:
            path.unlink(missing_ok=True)
        self.targets.stop()

    def query(self, slo: SLO, which: str) -> str:
        """The SLO's own query (error, total or their ratio), scaled and isolated."""
        text = slo.ratio_query(WINDOW) if which == "ratio" else slo.query(which, WINDOW)
        return scale_expr(text, self.factor, self.label, f"{slo.where}: {which}Query")

    def read(self, slo: SLO, which: str) -> float | None:
        """The query's value for this SLO's scenario now; None if it returns nothing."""
        iso = self.targets.isolation_value(f"slo-{slo.id}")
        url, query = f"{self.prometheus.url}/api/v1/query", self.query(slo, which)
        reply = requests.get(url, params={"query": query}, timeout=5).json()
        for sample in reply.get("data", {}).get("result", []):
            if sample["metric"].get(self.label) == iso:
                return float(sample["value"][1])
        return None

    def settled_ratio(self, slo: SLO, timeout: float = 30.0) -> tuple[float | None, str]:
        """The error ratio once three windows of events are in, and what was seen."""
        clock = self.targets.clocks[f"slo-{slo.id}"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if clock.started_mono is not None and clock.now() >= SETTLE:
                ratio = self.read(slo, "ratio")
                if ratio is not None and not math.isnan(ratio):
                    return ratio, ""
            time.sleep(60.0 / self.factor)
        seen = {w: self.read(slo, w) for w in ("error", "total", "ratio")}
        started = "never scraped" if clock.started_mono is None else f"at {clock.now():.0f}s sim"
        return None, f"no ratio after {timeout:g} s ({started}); values now: {seen}"
