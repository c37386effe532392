"""SLI validity, exact: the live check's question (obsgate/slo/live.py) asked of promtool.

Each SLO's good and bad events (its intent), at the live check's mix, become promtool input
series, and promtool evaluates the SLO's own errorQuery / totalQuery in simulated time. No
server is started, so every run sees an SLI that stops reading its bad fraction, the
self-test's non-live runs included; the live check still proves it on a real scrape.

promtool prints what an expression returned only when a test fails, so each expression is
tested against "nothing" and its value read from the failure (as the detection probes do).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from obsgate.config import parse_duration
from obsgate.slo.detection import values_text
from obsgate.slo.intent import SLIIntent
from obsgate.slo.live import BAD_FRACTION, EVENTS_PER_STEP, WINDOW
from obsgate.slo.spec import SLO
from obsgate.tools import ToolResult
from obsgate.tools.promtool_failures import parse_failures
from obsgate.tools.promtool_probe import no_rules, probe_document

STEPS = 20  # simulated minutes of events, one sample each
# Each expression is read at its own time, so promtool's failures say which one they are;
# by 15 minutes three windows of events are in, as the live check waits for.
READ_AT = {"ratio": "15m", "error": "16m", "total": "17m"}


def expressions(slo: SLO) -> dict[str, str]:
    """The SLO's ratio, and for an event SLI its error and total queries."""
    out = {"ratio": slo.ratio_query(WINDOW)}
    if not slo.is_raw:
        out |= {w: slo.query(w, WINDOW) for w in ("error", "total")}
    return out


def write_test(slo: SLO, sli: SLIIntent, workdir: Path) -> Path:
    """A promtool test file: the SLO's events at the known mix, each expression read once."""
    good, bad = EVENTS_PER_STEP * (1 - BAD_FRACTION), EVENTS_PER_STEP * BAD_FRACTION
    series = [
        {"series": key, "values": values_text(column)}
        for key, column in sli.series([(STEPS, good, bad)]).items()
    ]
    reads = [(expr, READ_AT[which]) for which, expr in expressions(slo).items()]
    doc = probe_document([no_rules(workdir)], "1m", series, reads)
    path = workdir / f"sli-{slo.id}.test.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=200))
    return path


def readings(result: ToolResult) -> dict[str, list[float]]:
    """What each expression returned (`ratio`, `error`, `total`): one value per sample, none
    when it returned nothing (promtool then had nothing to report for it)."""
    by_time = {parse_duration(at): which for which, at in READ_AT.items()}
    out: dict[str, list[float]] = {which: [] for which in READ_AT}
    for failure in parse_failures(result.output).exprs:
        which = by_time.get(failure.at)
        if which is not None:
            out[which] = [value for _, value in failure.got]
    return out
