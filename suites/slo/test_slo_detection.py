"""Detection in simulated time (promtool): the generated rules of each SLO over clean
traffic, then a sustained 100 % error ratio, a 2x budget burn and a 0.1x one. A page must
fire within the workbook's detection time, a ticket as the windows predict, and nothing at
0.1x. The traffic is the SLO's own good and bad events (scenarios/slo), read through its
own queries, so an SLI that measures the wrong thing fails here too."""

from __future__ import annotations

import pytest

from obsgate.slo.detection import CASES, BurnCase, expects_firing, problems
from obsgate.slo.intent import SLOIntent
from obsgate.slo.spec import SLO

pytestmark = [pytest.mark.slo, pytest.mark.needs("promtool")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.requires("scenarios/slo")
def test_burn_is_detected_as_the_workbook_says(
    slo: SLO, case: BurnCase, slo_intent: SLOIntent, detection_runs, judge_slo
) -> None:
    check = f"detection-{case.id}"
    if slo.id not in slo_intent.slis:
        pytest.fail(f"{slo.where}: no good/bad events in scenarios/slo for this SLO")
    missing = [s for s, m in (("page", slo.page), ("ticket", slo.ticket)) if m.name_missing]
    header = (
        f"{slo.where}: under a sustained {case.id} burn (error ratio "
        f"{case.error_ratio(slo):.6g}), its alerts did not fire as the workbook's windows predict:"
    )
    if missing:
        # An alert that does not exist never fires: wrong only where the burn must fire it.
        due = sorted(expects_firing(slo, case) & set(missing))
        judge_slo(check, [f"has no {s} alert (alerting.name missing)" for s in due], header)
        return
    if (slo.id, case.id) not in detection_runs:  # `disable: true` on both: nothing to fire
        judge_slo(check, [], header)
        return
    results = detection_runs[slo.id, case.id].results()
    judge_slo(
        check,
        [p for severity, result in results for p in problems(severity, result)],
        header,
        "\n".join(result.describe() for _, result in results if not result.ok),
    )
