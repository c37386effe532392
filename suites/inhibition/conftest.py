"""The inhibition suite's cases (one per intent entry) and a per-test view of Alertmanager."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from obsgate.params import parametrize_from_config
from obsgate.scenarios.inhibition import load_inhibition_cases
from obsgate.stack.alertmanager_api import AlertmanagerAPI, new_test_id
from obsgate.stack.endpoint import Endpoint


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(metafunc, "case", load_inhibition_cases, id_of=lambda c: c.id)


@pytest.fixture
def am_api(alertmanager: Endpoint) -> Iterator[AlertmanagerAPI]:
    """A fresh `gate_test` value per test: its alerts are its own in the shared Alertmanager."""
    api = AlertmanagerAPI(alertmanager, new_test_id())
    yield api
    api.resolve_all()
