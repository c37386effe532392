"""The seed's Alertmanager config as the routing suite checks it offline with amtool."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.stack.alertmanager_config import AlertmanagerConfigAdapter

# amtool routes without sending anything; the adapter still needs a (loopback) sink URL.
OFFLINE_SINK = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def offline_adapter(obs_config: ObsConfig, time_scale: float) -> AlertmanagerConfigAdapter:
    return AlertmanagerConfigAdapter(obs_config, OFFLINE_SINK, time_scale)


@pytest.fixture(scope="session")
def offline_alertmanager_config(
    offline_adapter: AlertmanagerConfigAdapter, gate_workdir: Path
) -> Path:
    return offline_adapter.write(gate_workdir / "alertmanager-offline" / "alertmanager.yaml")
