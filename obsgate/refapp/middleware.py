"""The seed's Express middlewares as ASGI: metricsMiddleware, requestLogger, and the
HttpInstrumentation with its ignoreIncomingRequestHook for the health routes.

Express's `req.path` is the raw path, `req.url` the raw path and query (what the seed's
ignore hook compares), `req.query` the query parsed by `qs` (brackets make nested objects).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.exceptions import HTTPException
from starlette.requests import Request

from obsgate.refapp.instruments import Instruments
from obsgate.refapp.logs import PinoLogger
from obsgate.refapp.normalize import PathNormalizer

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def _qs_key(key: str) -> list[str]:
    """`a[b][]` -> ["a", "b", ""] as qs splits it."""
    head, _, rest = key.partition("[")
    if not rest or not head:
        return [key]
    return [head] + [part.rstrip("]") for part in ("[" + rest).split("[")[1:]]


def parse_query(query: str) -> dict[str, Any]:
    """Express's default (`qs`) query parser, enough of it: repeats make a list,
    `a[b]=1` makes {"a": {"b": "1"}}, `a[]=1` a list."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        parts = _qs_key(key)
        node = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                if part == "" and isinstance(node, list):
                    node.append(value)
                elif part in node:
                    prev = node[part]
                    node[part] = [*prev, value] if isinstance(prev, list) else [prev, value]
                else:
                    node[part] = value
            else:
                nxt = parts[i + 1]
                if part not in node or not isinstance(node[part], dict | list):
                    node[part] = [] if nxt == "" else {}
                node = node[part]
                if isinstance(node, list) and nxt != "":
                    break  # qs turns such a mix into an object; rare, not modelled
    return out


def raw_url(scope: Scope) -> tuple[str, str]:
    """(req.path, req.url) from the request line as the client sent it."""
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return path, path + (f"?{query}" if query else "")


class RequestObservability:
    """metricsMiddleware and requestLogger of the seed, in that order, around the app."""

    def __init__(
        self, app: ASGIApp, logger: PinoLogger, instruments: Instruments, normalize: PathNormalizer
    ):
        self.app, self.logger, self.instruments, self.normalize = (
            app,
            logger,
            instruments,
            normalize,
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        path, url = raw_url(scope)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id") or str(uuid.uuid4())
        method = scope["method"]
        log = self.logger.child({"request_id": request_id, "method": method, "path": path})
        scope.setdefault("state", {})["log"] = log
        scope["state"]["request_id"] = request_id
        req = {
            "method": method,
            "url": url,
            "path": path,
            "query": parse_query(scope.get("query_string", b"").decode("latin-1")),
            "headers": headers,
        }
        log.info({"req": req}, "incoming request")
        status = {"code": 500}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            code = status["code"]
            duration = time.monotonic() - start
            labels = {"method": method, "path": self.normalize(path), "status_code": str(code)}
            self.instruments.inc("http_requests_total", labels)
            self.instruments.observe("http_request_duration_seconds", labels, duration)
            level = "error" if code >= 500 else "warn" if code >= 400 else "info"
            log.log(
                level,
                {
                    "res": {"statusCode": code},
                    "duration_ms": int(duration * 1000),
                    "status_code": code,
                },
                "request completed",
            )


class TracedExceptUntraced:
    """OpenTelemetry's ASGI middleware, skipped when req.url equals an untraced route
    exactly, as the seed's ignoreIncomingRequestHook compares (`/health/live?x` is traced)."""

    def __init__(self, app: ASGIApp, untraced: Sequence[str], normalize: PathNormalizer):
        def span_details(scope: Scope) -> tuple[str, dict[str, str]]:
            # "GET /orgs/:id", not "GET /orgs/42": a span name per id is unbounded too
            route = normalize(raw_url(scope)[0])
            return f"{scope.get('method', 'HTTP')} {route}", {"http.route": route}

        self.plain = app
        self.traced = OpenTelemetryMiddleware(
            app, default_span_details=span_details, exclude_spans=["receive", "send"]
        )
        self.untraced = set(untraced)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and raw_url(scope)[1] in self.untraced:
            await self.plain(scope, receive, send)
        else:
            await self.traced(scope, receive, send)


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body; anything else is the client's error (400)."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body
