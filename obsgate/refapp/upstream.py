"""The upstream stub: stands in for the Claude API and the MCP tool servers, on 127.0.0.1.

Its latency and error distribution are changed at run time over HTTP (PUT /control/faults),
for fault injection by the tracing suite and the load gate (e.g. 10 % 5xx, 3 s latency).
GET /control/stats says what it served, so a test can tell injected failures from others.

Faults are global unless given a scope (`?scope=S`): a request that carries the header
x-mw-fault-scope (the gateway forwards it from its own request) gets only the faults of
its scope, none by default. So a test injecting faults for itself under pytest-xdist never
fails another test's requests, while the load gate's global faults reach all unscoped ones.

    python -m obsgate.refapp.upstream --port P
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SCOPE_HEADER = "x-mw-fault-scope"
GLOBAL = ""


def forwarded_scope(headers: Mapping[str, str]) -> dict[str, str]:
    """The fault scope header of a request, for the gateway to pass on to the stub."""
    scope = headers.get(SCOPE_HEADER)
    return {SCOPE_HEADER: scope} if scope else {}


@dataclass
class Faults:
    """Every response waits latency_ms plus a uniform 0..latency_jitter_ms; a share
    error_rate of them (drawn per request) answers error_status instead of success."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503

    def validate(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be within 0..1")
        if self.latency_ms < 0 or self.latency_jitter_ms < 0:
            raise ValueError("latencies must not be negative")
        if not 400 <= self.error_status <= 599:
            raise ValueError("error_status must be a 4xx or 5xx status")


class Upstream:
    def __init__(self) -> None:
        self.faults: dict[str, Faults] = {GLOBAL: Faults()}
        self.stats = {"requests": 0, "errors": 0}
        self._lock = threading.Lock()
        self._random = random.Random()

    async def apply_faults(self, request: Request) -> int | None:
        """Wait the drawn latency; the injected error status, or None for a success."""
        scope = request.headers.get(SCOPE_HEADER, GLOBAL)
        f = self.faults.get(scope) or Faults()
        delay = f.latency_ms + self._random.uniform(0, f.latency_jitter_ms)
        if delay:
            await asyncio.sleep(delay / 1000)
        failed = self._random.random() < f.error_rate
        with self._lock:
            self.stats["requests"] += 1
            self.stats["errors"] += int(failed)
        return f.error_status if failed else None

    async def messages(self, request: Request) -> JSONResponse:
        body = await request.json()
        status = await self.apply_faults(request)
        if status is not None:
            error = {"type": "api_error", "message": "injected upstream failure"}
            return JSONResponse({"type": "error", "error": error}, status_code=status)
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        output_tokens = min(int(body.get("max_tokens", 64)), 64)
        return JSONResponse(
            {
                "id": f"msg_{self._random.getrandbits(48):012x}",
                "type": "message",
                "model": body.get("model", "claude-3-5-sonnet"),
                "content": [{"type": "text", "text": "stub reply"}],
                "usage": {"input_tokens": max(1, len(prompt) // 4), "output_tokens": output_tokens},
            }
        )

    async def tool(self, request: Request) -> JSONResponse:
        status = await self.apply_faults(request)
        if status is not None:
            return JSONResponse({"error": "injected tool failure"}, status_code=status)
        return JSONResponse({"tool": request.path_params["tool"], "result": "ok"})

    async def control_faults(self, request: Request) -> JSONResponse:
        scope = request.query_params.get("scope", GLOBAL)
        current = self.faults.get(scope) or Faults()
        if request.method == "PUT":
            data: dict[str, Any] = await request.json()
            known = {f.name for f in fields(Faults)}
            unknown = set(data) - known
            if unknown:
                return JSONResponse({"error": f"unknown fields {sorted(unknown)}"}, 400)
            candidate = Faults(**{**asdict(current), **data})
            try:
                candidate.validate()
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, 400)
            self.faults[scope] = current = candidate
        return JSONResponse(asdict(current))

    async def control_stats(self, request: Request) -> JSONResponse:
        if request.method == "DELETE":
            with self._lock:
                self.stats = {"requests": 0, "errors": 0}
        return JSONResponse(self.stats)

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/mcp/tools/{tool}", self.tool, methods=["POST"]),
                Route("/control/faults", self.control_faults, methods=["GET", "PUT"]),
                Route("/control/stats", self.control_stats, methods=["GET", "DELETE"]),
                Route("/health", self.health),
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(Upstream().app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
