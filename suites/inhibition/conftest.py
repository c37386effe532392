"""The inhibition suite's cases (one per intent entry) and a per-test view of Alertmanager."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.options import config_dir
from obsgate.scenarios.inhibition import load_inhibition_cases
from obsgate.stack.alertmanager_api import AlertmanagerAPI, new_test_id
from obsgate.stack.endpoint import Endpoint


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    try:
        cases = load_inhibition_cases(ObsConfig(config_dir(metafunc.config)))
    except GateError as exc:
        raise pytest.UsageError(str(exc)) from None
    metafunc.parametrize("case", [pytest.param(c, id=c.id) for c in cases])


@pytest.fixture
def am_api(alertmanager: Endpoint) -> Iterator[AlertmanagerAPI]:
    """A fresh `gate_test` value per test: its alerts are its own in the shared Alertmanager."""
    api = AlertmanagerAPI(alertmanager, new_test_id())
    yield api
    api.resolve_all()
