"""Detection in simulated time (promtool): the generated rules of each SLO over clean
traffic, then a sustained 100 % error ratio, a 2x budget burn and a 0.1x one. A page must
fire within the workbook's detection time, a ticket as the windows predict, and nothing at
0.1x. The traffic is the SLO's own good and bad events (scenarios/slo), read through its
own queries, so an SLI that measures the wrong thing fails here too."""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.slo.detection import CASES, TIMELINES, BurnCase, expects_firing, write_test
from fixtures.slo.intent import SLOIntent
from fixtures.slo.spec import SLO
from fixtures.tools import ToolResult, promtool

pytestmark = [pytest.mark.slo, pytest.mark.needs("promtool")]


@pytest.fixture(scope="module")
def detection_runs(slos: dict[str, SLO], slo_intent: SLOIntent):
    """Every (SLO, case) promtool run started at once, two at a time, niced: the live test
    and the math run meanwhile."""
    workdir = Path(tempfile.mkdtemp(prefix="slo-detection-"))
    pool = ThreadPoolExecutor(max_workers=2)
    runs: dict[tuple[str, str], Future[ToolResult]] = {}
    for slo in slos.values():
        sli = slo_intent.slis.get(slo.id)
        if sli is None or slo.page.disabled:
            continue
        for case in CASES:
            files = [write_test(slo, sli, case, t, workdir) for t in TIMELINES]
            runs[slo.id, case.id] = pool.submit(promtool.test_rules, *files, timeout=120, nice=10)
    yield runs
    pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_burn_is_detected_as_the_workbook_says(
    slo: SLO, case: BurnCase, slo_intent: SLOIntent, detection_runs, judge_slo
) -> None:
    check = f"detection-{case.id}"
    if slo.id not in slo_intent.slis:
        pytest.fail(f"{slo.where}: no good/bad events in scenarios/slo for this SLO")
    missing = [s for s, m in (("page", slo.page), ("ticket", slo.ticket)) if m.disabled]
    if missing:
        # An alert that does not exist never fires: wrong only where the burn must fire it.
        due = sorted(expects_firing(slo, case) & set(missing))
        failure = f"{slo.where}: has no {' or '.join(due)} alert (alerting.name missing)"
        judge_slo(check, not due, failure + ": the burn must fire it")
        return
    result = detection_runs[slo.id, case.id].result()
    judge_slo(
        check,
        result.ok,
        f"{slo.where}: under a sustained {case.id} burn (error ratio "
        f"{case.error_ratio(slo):.6g}), its alerts did not fire as the workbook's windows "
        f"predict:\n{result.describe()}",
    )
