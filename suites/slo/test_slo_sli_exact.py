"""SLI validity in simulated time: with a known mix of each SLO's good and bad events as
promtool input series, the SLO's own errorQuery / totalQuery must read the true bad fraction
(obsgate/slo/sli_exact.py). The live test asks the same of real Prometheus."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsgate.slo import sli_exact
from obsgate.slo.intent import SLOIntent
from obsgate.slo.live import BAD_FRACTION, ratio_problems
from obsgate.slo.spec import SLO
from obsgate.tools import promtool

pytestmark = [pytest.mark.slo, pytest.mark.requires("scenarios/slo"), pytest.mark.needs("promtool")]


def test_error_ratio_is_the_bad_fraction_in_promtool(
    slo: SLO, slo_intent: SLOIntent, judge_slo, gate_workdir: Path
) -> None:
    if slo.id not in slo_intent.slis:
        pytest.fail(f"{slo.where}: no good/bad events in scenarios/slo for this SLO")
    workdir = gate_workdir / "slo-sli-exact"
    workdir.mkdir(exist_ok=True)
    test_file = sli_exact.write_test(slo, slo_intent.slis[slo.id], workdir)
    result = promtool.test_rules(test_file, timeout=60)
    read = sli_exact.readings(result)
    if not result.ok and not any(read.values()):
        pytest.fail(f"{slo.where}: promtool could not evaluate its queries\n{result.describe()}")
    if read["ratio"]:
        problems = sorted({p for ratio in read["ratio"] for p in ratio_problems(ratio, [])})
    else:
        queries = sli_exact.expressions(slo)
        empty = [w for w in ("error", "total") if w in queries and not read[w]]
        problems = ratio_problems(None, empty)
    header = (
        f"{slo.where}: with {BAD_FRACTION:.0%} bad events its error ratio reads "
        f"{read['ratio'] or 'nothing'} in promtool at {sli_exact.READ_AT['ratio']}\n"
        f"  query: {sli_exact.expressions(slo)['ratio']}\n  test file: {test_file}"
    )
    judge_slo("sli-exact", problems, header)
