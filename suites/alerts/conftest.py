"""The alerts suite starts the live run with its first test, so the exact layer's promtool
runs overlap the live layer's real-time wait instead of adding to it."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _live_run_starts_first(start_live_run_first: None) -> None:
    pass
