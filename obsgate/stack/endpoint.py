"""What a test sees of a server: where it answers and where its log is, never how it runs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from obsgate.stack.process import log_tail


@dataclass(frozen=True)
class Endpoint:
    """A running service: host and port on 127.0.0.1 (or a staging URL), its backend, its log."""

    service: str
    host: str
    port: int
    backend: str
    scheme: str = "http"
    version: str = ""
    log_path: str | None = None
    pid: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(Path(self.log_path) if self.log_path else None, lines)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Endpoint:
        return cls(**json.loads(text))
