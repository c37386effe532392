"""SLI validity on real Prometheus: with a known mix of each SLO's good and bad events
scraped live, the SLO's own errorQuery / totalQuery must read the true bad fraction (exact
here: every observation is off the histogram's bucket bounds, so buckets resolve it)."""

from __future__ import annotations

import pytest

from obsgate.slo.intent import SLOIntent
from obsgate.slo.live import BAD_FRACTION, LiveSLIRun, ratio_problems
from obsgate.slo.spec import SLO

pytestmark = [
    pytest.mark.slo,
    pytest.mark.requires("scenarios/slo"),
    pytest.mark.needs("prometheus"),
    pytest.mark.writes("serves test series to Prometheus"),
]


def test_error_ratio_is_the_bad_fraction(
    slo: SLO, slo_intent: SLOIntent, live_sli_run: LiveSLIRun, judge_slo
) -> None:
    if slo.id not in slo_intent.slis:
        pytest.fail(f"{slo.where}: no good/bad events in scenarios/slo for this SLO")
    ratio, seen = live_sli_run.settled_ratio(slo)
    header = (
        f"{slo.where}: with {BAD_FRACTION:.0%} bad events its error ratio reads {ratio} "
        f"({seen or 'from its own errorQuery / totalQuery'})\n"
        f"  query: {live_sli_run.query(slo, 'ratio')}"
    )
    missing = [w for w in ("error", "total") if ratio is None and live_sli_run.read(slo, w) is None]
    judge_slo("sli-live", ratio_problems(ratio, missing), header)
