"""Each panel reads, on a small world of known series, what the intent says it shows
(obsgate/dashboards/readings.py): promtool evaluates the panel's own queries. A matcher
dropped or negated, a `by` label lost, a metric renamed or a window too short for two
samples reads another value, another label set or nothing."""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.dashboards import panels
from obsgate.dashboards.readings import World, differences

pytestmark = [
    pytest.mark.dashboards,
    pytest.mark.requires("scenarios/dashboards/readings.yaml"),
    pytest.mark.needs("promtool"),
]


def test_panel_reads_what_its_intent_says(
    panel_reading: tuple[World, str], readings_runs, obs_config: ObsConfig
) -> None:
    world, title = panel_reading
    found = [p for p in panels(obs_config) if (p.dashboard, p.title) == (world.dashboard, title)]
    assert len(found) == 1, f"{world.file}: no single panel {title!r} in {world.dashboard}"
    panel, wanted = found[0], world.panels[title]
    assert len(wanted) == len(panel.exprs), (
        f"{world.file}: {panel.id} has {len(panel.exprs)} targets; the intent reads {len(wanted)}"
    )
    test_file, result, got = readings_runs[world.dashboard]
    if not result.ok and not got:
        pytest.fail(f"{world.file}: promtool could not read the panels\n{result.describe()}")
    problems = [
        f"target {k} `{expr}`: {d}"
        for k, (expr, want) in enumerate(zip(panel.exprs, wanted, strict=True))
        for d in differences(want, got.get(expr, ()))
    ]
    assert not problems, (
        f"{panel.id} at {world.at} on the world of {world.file} ({test_file}):\n  "
        + "\n  ".join(problems)
    )
