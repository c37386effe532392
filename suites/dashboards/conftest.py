"""The dashboards suite's parameters: panels and mirrors of the config under test."""

from __future__ import annotations

import pytest

from obsgate.dashboards import mirrors, panels
from obsgate.params import parametrize_from_config


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(
        metafunc,
        "panel",
        lambda c: [p for p in panels(c) if p.exprs],
        id_of=lambda p: f"{p.dashboard}-{p.index}",
    )
    parametrize_from_config(metafunc, "mirror", mirrors, id_of=lambda m: m.alert)
