"""The redaction suite's intent (from the config dir) and the log store it searches.

Two sources write what the store receives, both built from the config under test: the
services' real processes (the api-gateway's JSON log and its stderr, as Fluent Bit tails a
container's log, and the usage-tracker's log when the run has Kafka), and `event_logger`,
the services' own logger (on node the seed's logger.ts under real pino), for log events no
route writes (a top-level `ssn`, a secret in a message): every MindWeave service logs
through that logger.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError, GateError
from obsgate.logship import shipper_settings
from obsgate.redaction.events import EventLogger, open_event_logger
from obsgate.redaction.logstore import LogStore
from obsgate.stack.endpoint import Endpoint

INTENT_FILE = "scenarios/redaction/never-logged.yaml"


@dataclass(frozen=True)
class RedactionIntent:
    never_in_clear: tuple[str, ...]
    censor: str
    headers_never_logged: tuple[str, ...]
    email_hash: dict[str, Any]
    pipeline: dict[str, Any]
    secret_in_path: dict[str, Any]

    def top_level(self) -> list[str]:
        return [p for p in self.never_in_clear if "." not in p]

    def one_level_down(self) -> list[str]:
        return [p.removeprefix("*.") for p in self.never_in_clear if p.startswith("*.")]


def load_intent(config: ObsConfig) -> RedactionIntent:
    path = config.locate(INTENT_FILE)
    if not path.exists():
        raise ConfigError(f"{path}: missing: the redaction suite needs its intent (see the seed's)")
    data = load_yaml(path) or {}
    paths = data.get("never_in_clear")
    if not isinstance(paths, list) or not paths or not data.get("censor"):
        raise ConfigError(f"{path}: give never_in_clear (a list of paths) and censor")
    bad = [p for p in paths if "." in p and not (p.startswith("*.") and p.count(".") == 1)]
    if bad:
        raise ConfigError(f"{path}: paths {bad}: use a key or `*.key` (one level down)")
    return RedactionIntent(
        tuple(str(p) for p in paths),
        str(data["censor"]),
        tuple(str(h).lower() for h in data.get("headers_never_logged") or []),
        dict(data.get("email_hash") or {}),
        dict(data.get("pipeline") or {}),
        secret_in_path(path, data.get("secret_in_path")),
    )


def secret_in_path(path: Path, raw: object) -> dict[str, Any]:
    """`secret_in_path`: a request path with `{key}` where a secret goes, and the key's
    shape (`prefix` before random letters and digits); empty when the intent has none."""
    if raw is None:
        return {}
    if (
        not isinstance(raw, dict)
        or "{key}" not in str(raw.get("path", ""))
        or not str(raw.get("path", "")).startswith("/")
    ):
        raise ConfigError(
            f"{path}: secret_in_path needs `path`, a request path with {{key}} (e.g. "
            "/api/v1/api-keys/{key}/usage), and may give `prefix` (the key's first characters)"
        )
    return {"path": str(raw["path"]), "prefix": str(raw.get("prefix", ""))}


@pytest.fixture(scope="session")
def redaction_intent(obs_config: ObsConfig) -> RedactionIntent:
    return load_intent(obs_config)


@pytest.fixture(scope="session")
def log_store(
    elasticsearch: Endpoint,
    refapp: Endpoint,
    obs_config: ObsConfig,
    tmp_path_factory: pytest.TempPathFactory,
) -> LogStore:
    """The store, fed from the gateway's JSON log, its stderr and the event log."""
    app_log = refapp.log_files.get("api-gateway")
    if not app_log or not refapp.log_path:
        raise GateError(
            "the redaction suite ships the app's own log files into Elasticsearch; the app "
            f"under test ({refapp.url}) gives none (against --app-url, search its own store)"
        )
    events = tmp_path_factory.mktemp("redaction-events") / "service-events.log"
    events.touch()
    files = [Path(app_log), Path(refapp.log_path), events]
    tracker_log = refapp.log_files.get("usage-tracker")
    if tracker_log:  # the run has Kafka: the usage-tracker's log is the store's too
        files.append(Path(tracker_log))
    store = LogStore(elasticsearch.url, shipper_settings(obs_config), files)
    store.events_file = events  # type: ignore[attr-defined]
    return store


@pytest.fixture(scope="session")
def event_logger(log_store: LogStore, obs_config: ObsConfig) -> Iterator[EventLogger]:
    """The services' logger as a MindWeave service configures it, from the config under test."""
    events = log_store.events_file  # type: ignore[attr-defined]
    with open_event_logger(obs_config.root, events) as logger:
        yield logger
