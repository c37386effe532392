"""JSON log lines as the seed's pino logger writes them (src/logging/logger.ts).

One line per call: `level` as its label, `time` in ISO, the base and child bindings, the
mixin's trace ids, the logged object through the seed's serializers, then `msg`. Every
top-level key goes through the configured redaction (bindings too, as in pino). Keys are
concatenated, not merged, so a duplicate key appears twice, as pino writes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import trace

from obsgate.refapp.redaction import PinoRedactor

LEVELS = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60}
Serializer = Callable[[Any], Any]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def serialize_err(err: BaseException) -> dict[str, Any]:
    """pino.stdSerializers.err: type, message, stack."""
    stack = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return {"type": type(err).__name__, "message": str(err), "stack": stack}


def trace_mixin() -> dict[str, Any]:
    """The seed's mixin: the active span's ids in every line; nothing without a span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "trace_flags": int(ctx.trace_flags),
    }


class JsonLineSink:
    """Appends whole lines to one file, flushed each time, so a reader never sees half."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def write(self, line: str) -> None:
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()


@dataclass(frozen=True, kw_only=True)
class PinoLogger:
    """A pino logger: where lines go, its redaction, serializers, level and mixin, and the
    bindings of its parents, already serialised (`chindings`, as pino calls them)."""

    sink: JsonLineSink
    redactor: PinoRedactor
    serializers: dict[str, Serializer]
    level: str = "info"
    chindings: str = ""
    mixin: Callable[[], dict[str, Any]] = trace_mixin

    def _fields(self, obj: dict[str, Any]) -> str:
        out = ""
        for key, raw in obj.items():
            value = self.serializers[key](raw) if key in self.serializers else raw
            out += f",{_json(str(key))}:{_json(self.redactor.value(key, value))}"
        return out

    def child(self, bindings: dict[str, Any]) -> PinoLogger:
        return dataclasses.replace(self, chindings=self.chindings + self._fields(bindings))

    def log(self, level: str, obj: dict[str, Any] | None = None, msg: str | None = None) -> None:
        if LEVELS[level] < LEVELS[self.level]:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        merged = {**self.mixin(), **(obj or {})}  # pino: the object wins over the mixin
        line = f'{{"level":{_json(level)},"time":{_json(now)}{self.chindings}'
        line += self._fields(merged)
        if msg is not None:
            line += f',"msg":{_json(msg)}'
        self.sink.write(line + "}")

    def info(self, obj: dict[str, Any] | None = None, msg: str | None = None) -> None:
        self.log("info", obj, msg)

    def warn(self, obj: dict[str, Any] | None = None, msg: str | None = None) -> None:
        self.log("warn", obj, msg)

    def error(self, obj: dict[str, Any] | None = None, msg: str | None = None) -> None:
        self.log("error", obj, msg)


def hash_email(email: str, settings: dict[str, Any]) -> str:
    """The seed's hashEmail: sha256 of the lower-cased email, first 16 hex characters."""
    text = email.lower() if settings.get("lowercase", True) else email
    digest = hashlib.new(str(settings.get("algorithm", "sha256")), text.encode()).hexdigest()
    return digest[: int(settings.get("hex_chars", 16))]


def make_logger(
    path: Path, redactor: PinoRedactor, base: dict[str, Any], level: str = "info"
) -> PinoLogger:
    """The seed's `logger`: base bindings and the req/res/err serializers."""
    serializers: dict[str, Serializer] = {
        "req": serialize_req,
        "res": lambda res: {"statusCode": res["statusCode"]},
        "err": lambda err: serialize_err(err) if isinstance(err, BaseException) else err,
    }
    root = PinoLogger(
        sink=JsonLineSink(path), redactor=redactor, serializers=serializers, level=level
    )
    return root.child(base)


def serialize_req(req: dict[str, Any]) -> dict[str, Any]:
    """The seed's `req` serializer: method, url, path, query and three headers only."""
    headers = req.get("headers", {})
    picked = ("user-agent", "x-request-id", "x-forwarded-for")
    return {
        "method": req.get("method"),
        "url": req.get("url"),
        "path": req.get("path"),
        "query": req.get("query"),
        # JSON.stringify drops an undefined value: a header not sent is not written
        "headers": {name: headers[name] for name in picked if name in headers},
    }
