"""Start each service once per run, also under pytest-xdist.

The first worker that needs a service starts it under a file lock and writes its endpoint
to the run dir; the others read it. A start that failed is recorded too, so every worker
reports the same error instead of retrying. The pytest process that owns the run (the
xdist controller, or the only process) stops everything at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from filelock import FileLock

from obsgate.errors import GateError, ServiceError
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_groups

E = TypeVar("E", bound=Endpoint)


def run_registry() -> StackRegistry:
    """The registry of this pytest run (its dir is made by the plugin at configure)."""
    return StackRegistry(Path(os.environ["OBS_GATE_RUN_DIR"]))


class StackRegistry:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.run_dir.mkdir(parents=True, exist_ok=True)

    def _state(self, name: str) -> Path:
        return self.run_dir / f"{name}.endpoint.json"

    def get_or_start(self, name: str, start: Callable[[Path], E]) -> E:
        """The endpoint of `name`, started by `start(workdir)` if no process of the run has."""
        state = self._state(name)
        with FileLock(str(self.run_dir / f"{name}.lock"), timeout=300):
            if state.exists():
                data = json.loads(state.read_text())
                if "error" in data:
                    raise ServiceError(data["error"])
                return cast(E, Endpoint.from_json(json.dumps(data)))
            try:
                endpoint = start(self.run_dir / name)
            except GateError as exc:
                _write_atomically(state, json.dumps({"error": str(exc)}))
                raise
            _write_atomically(state, endpoint.to_json())
            return endpoint

    def named(self) -> list[tuple[str, Endpoint]]:
        """Each started service with its name in the run (e.g. `lane720-prometheus` beside
        `prometheus`: a time-scale lane's servers are named apart)."""
        out = []
        for state in sorted(self.run_dir.glob("*.endpoint.json")):
            data = json.loads(state.read_text())
            if "error" not in data:
                name = state.name.removesuffix(".endpoint.json")
                out.append((name, Endpoint.from_json(json.dumps(data))))
        return out

    def started(self) -> list[Endpoint]:
        return [endpoint for _, endpoint in self.named()]

    def stop_all(self) -> None:
        """Stop every process this run started (the owner calls this once, at the end)."""
        stop_process_groups([e.pid for e in self.started() if e.pid])


def _write_atomically(path: Path, text: str) -> None:
    """Readers that glob the run dir (stop_all, the crash reports) never see a half file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    partial.replace(path)
