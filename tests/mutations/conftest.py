"""The mutation tests run child gates, most of them as a module fixture that starts every
case at once: the module's first test pays for all of them. Each child is bounded by its
own timeout (run_gate's), so a test here without its own bound gets one that covers its
module's children on a loaded machine, not the 300 s default meant for a single test."""

from __future__ import annotations

import pytest

MODULE_BOUND_S = 1500


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/mutations/" in item.nodeid and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(MODULE_BOUND_S))
