"""Log events no route writes (a top-level `ssn`, a secret in a message or in an error),
logged through the services' own logger into a file the log shipper tails.

That is the seed's `logger` (logging/logger.ts, real pino: its redact paths, censor,
serializers and mixin) under Node, driven by the glue's `log-events` entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from obsgate.errors import GateError
from obsgate.services.build import build_services

# The base bindings the logger gets (pino's `base` from SERVICE_NAME, SERVICE_VERSION, NODE_ENV).
SERVICE_ENV = {"SERVICE_NAME": "gate-redaction", "SERVICE_VERSION": "1.0.0", "NODE_ENV": "test"}
ANSWER_TIMEOUT = 30.0


@dataclass(frozen=True)
class LoggedError:
    """An Error whose message is `message`, logged at `err` (pino's err serializer)."""

    message: str


class EventLogger(Protocol):
    def child(self, bindings: dict[str, Any]) -> EventLogger: ...
    def log(self, level: str, obj: dict[str, Any], msg: str | None = None) -> None: ...
    def info(self, obj: dict[str, Any], msg: str | None = None) -> None: ...
    def warn(self, obj: dict[str, Any], msg: str | None = None) -> None: ...
    def error(self, obj: dict[str, Any], msg: str | None = None) -> None: ...


class _Levels:
    def log(self, level: str, obj: dict[str, Any], msg: str | None = None) -> None:
        raise NotImplementedError

    def info(self, obj: dict[str, Any], msg: str | None = None) -> None:
        self.log("info", obj, msg)

    def warn(self, obj: dict[str, Any], msg: str | None = None) -> None:
        self.log("warn", obj, msg)

    def error(self, obj: dict[str, Any], msg: str | None = None) -> None:
        self.log("error", obj, msg)


class _NodeProcess:
    """`node log-events.js`, its pino lines appended to `out`; each call answered once the
    line is written."""

    def __init__(self, script: Path, out: Path):
        self.out = out
        self._stdout = out.open("ab")
        self.proc = subprocess.Popen(
            ["node", str(script)],
            stdin=subprocess.PIPE,
            stdout=self._stdout,
            stderr=subprocess.PIPE,
            env={**os.environ, **SERVICE_ENV},
            text=True,
            bufsize=1,
        )
        self.stderr: deque[str] = deque(maxlen=20)

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        command_id = uuid.uuid4().hex
        try:
            self.proc.stdin.write(json.dumps({**command, "id": command_id}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._died()
        while True:
            line = self.proc.stderr.readline()
            if not line:
                self._died()
            line = line.rstrip("\n")
            if line == f"logged {command_id}":
                return
            if line.startswith("failed "):
                raise GateError(f"the seed's logger refused a log event: {line[7:]}")
            self.stderr.append(line)

    def _died(self) -> None:
        code = self.proc.wait(timeout=ANSWER_TIMEOUT)
        tail = "\n".join(self.stderr) or "(no stderr)"
        raise GateError(f"node {self.proc.args[1]} exited with {code}; stderr tail:\n{tail}")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=ANSWER_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self._stdout.close()


@dataclass(frozen=True)
class NodeEventLogger(_Levels):
    """The seed's pino logger under Node; `child` as createLogger makes one."""

    process: _NodeProcess
    bindings: Mapping[str, Any] = field(default_factory=dict)

    def child(self, bindings: dict[str, Any]) -> NodeEventLogger:
        return NodeEventLogger(self.process, {**self.bindings, **bindings})

    def log(self, level: str, obj: dict[str, Any], msg: str | None = None) -> None:
        obj = dict(obj)
        command: dict[str, Any] = {"level": level, "msg": msg, "bindings": dict(self.bindings)}
        err = obj.pop("err", None)
        if isinstance(err, LoggedError):
            command["err"] = err.message
        elif err is not None:
            obj["err"] = err
        command["obj"] = obj
        self.process.send(command)


@contextmanager
def open_event_logger(config_root: Path, out: Path) -> Iterator[EventLogger]:
    """The services' logger, built from the config under test, its lines appended to `out`."""
    script = build_services(config_root).entry("log-events")
    process = _NodeProcess(script, out)
    try:
        yield NodeEventLogger(process)
    finally:
        process.close()


def logged_line(config_root: Path, workdir: Path, obj: dict[str, Any], msg: str) -> bytes:
    """The bytes the services' logger writes for one `info(obj, msg)`."""
    out = workdir / f"pino-{uuid.uuid4().hex}.log"
    with open_event_logger(config_root, out) as logger:
        logger.info(obj, msg)
    return out.read_bytes()
