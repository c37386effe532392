"""The dashboards suite's parameters: panels, mirrors and panel readings of the config under
test; the readings' promtool runs, one per dashboard's world, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.dashboards import mirrors, panels
from obsgate.dashboards.readings import Sample, load_worlds, read, write_test
from obsgate.params import parametrize_from_config
from obsgate.tools import ToolResult, promtool


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(
        metafunc,
        "panel",
        lambda c: [p for p in panels(c) if p.exprs],
        id_of=lambda p: f"{p.dashboard}-{p.index}",
    )
    parametrize_from_config(metafunc, "mirror", mirrors, id_of=lambda m: m.alert)
    parametrize_from_config(
        metafunc,
        "panel_reading",
        lambda c: [(w, title) for w in load_worlds(c) for title in w.panels],
        id_of=lambda r: f"{r[0].dashboard}/{r[1]}",
    )


@pytest.fixture(scope="session")
def readings_runs(
    obs_config: ObsConfig, gate_workdir: Path
) -> dict[str, tuple[Path, ToolResult, dict[str, tuple[Sample, ...]]]]:
    """Per dashboard of the readings intent: its test file, promtool's run, what each query
    read."""
    workdir = gate_workdir / "dashboard-readings"
    workdir.mkdir(exist_ok=True)
    out = {}
    for world in load_worlds(obs_config):
        exprs = [e for p in panels(obs_config) if p.dashboard == world.dashboard for e in p.exprs]
        test_file = write_test(world, exprs, workdir)
        result = promtool.test_rules(test_file, timeout=60)
        out[world.dashboard] = (test_file, result, read(result))
    return out
