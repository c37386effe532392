"""api-gateway: the seed's instrumented MindWeave gateway, on the latency-critical routes.

    python -m obsgate.refapp.gateway --port P
env: MW_OBS_CONFIG_DIR, MW_LOG_FILE, MW_UPSTREAM_URL, MW_REDIS_URL, MW_KAFKA_BOOTSTRAP
(optional), MW_USAGE_TOPIC, OTEL_EXPORTER_OTLP_ENDPOINT (optional), MW_BSP_SCHEDULE_DELAY_MS.

Routes (ids in paths, so normalizePath has work to do):
  POST /api/v1/orgs/{org}/projects/{project}/messages   Claude call via the upstream stub
  POST /api/v1/usage/events                             usage event -> Kafka -> usage-tracker
  POST /api/v1/orgs/{org}/mcp/servers/{server}/tools/{tool}/invoke   MCP tool invocation
  POST /api/v1/orgs/{org}/policies/evaluate             policy evaluation
  GET  /api/v1/api-keys/{key}/usage                     usage counted by the tracker (Redis)
  POST /api/v1/auth/login                               login attempt (hashed email)
  GET  /health/live, /health/ready (untraced), /metrics
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import uvicorn
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from obsgate.refapp.backends import PolicyStore, UsageProducer, record_exception, redis_op
from obsgate.refapp.instruments import CONTENT_TYPE, Instruments
from obsgate.refapp.logs import hash_email, make_logger
from obsgate.refapp.middleware import RequestObservability, TracedExceptUntraced, json_object
from obsgate.refapp.normalize import PathNormalizer
from obsgate.refapp.redaction import PinoRedactor
from obsgate.refapp.settings import load_settings
from obsgate.refapp.telemetry import setup_tracing, shutdown_tracing
from obsgate.refapp.upstream import forwarded_scope

SERVICE = "api-gateway"
CLAUDE_URL = "https://api.anthropic.com"  # what the seed's span says it calls
PRICE_CENTS_PER_1K = {"input": 0.3, "output": 1.5}
POLICY_SEVERITY = {"deny": "high", "warn": "medium"}


class UpstreamError(Exception):
    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, kw_only=True)
class CallOutcome:
    """How a Claude call ended, as logApiCall logs it: its status, token usage and cost."""

    status: str
    usage: dict[str, int] = field(default_factory=dict)
    cost_cents: float = 0


class Gateway:
    def __init__(self) -> None:
        self.settings = load_settings()
        self.tracer = setup_tracing(self.settings.tracing, SERVICE)
        RedisInstrumentor().instrument()
        self.instruments = Instruments(self.settings.metrics, SERVICE)
        base = {
            "service": os.environ.get("SERVICE_NAME", SERVICE),
            "version": os.environ.get("SERVICE_VERSION", "1.0.0"),
            "environment": os.environ.get("NODE_ENV", "development"),
        }
        redactor = PinoRedactor(self.settings.redact_paths, self.settings.censor)
        log_file = Path(os.environ.get("MW_LOG_FILE", f"{SERVICE}.log.jsonl"))
        self.logger = make_logger(log_file, redactor, base, os.environ.get("LOG_LEVEL", "info"))
        self.upstream_url = os.environ.get("MW_UPSTREAM_URL", "http://127.0.0.1:1")
        self.redis = aioredis.from_url(os.environ.get("MW_REDIS_URL", "redis://127.0.0.1:6379"))
        self.http = httpx.AsyncClient(timeout=float(os.environ.get("MW_UPSTREAM_TIMEOUT_S", "10")))
        self.policies = PolicyStore(self.instruments, self.tracer)
        topic = os.environ.get("MW_USAGE_TOPIC", "usage-events")
        self.kafka = UsageProducer(
            os.environ.get("MW_KAFKA_BOOTSTRAP"), topic, self.instruments, self.tracer
        )
        self.mcp_connected: dict[tuple[str, str], set[str]] = {}

    # --- the seed's tracking helpers (instrumentation.ts, log-patterns.ts) ---------------

    def track_api_call(self, p: dict[str, Any], usage: dict[str, int], status: str) -> float:
        cost = sum(
            usage.get(f"{t}_tokens", 0) * PRICE_CENTS_PER_1K[t] / 1000 for t in ("input", "output")
        )
        org, project, model = p["org_id"], p["project_id"], p["model"]
        self.instruments.inc(
            "mindweave_api_calls_total",
            {"org_id": org, "project_id": project, "model": model, "status": status},
        )
        for token_type in ("input", "output"):
            self.instruments.inc(
                "mindweave_tokens_processed_total",
                {"org_id": org, "model": model, "token_type": token_type},
                usage.get(f"{token_type}_tokens", 0),
            )
        self.instruments.inc(
            "mindweave_cost_cents_total",
            {"org_id": org, "project_id": project, "model": model},
            cost,
        )
        return cost

    async def call_claude(
        self, request: Request, p: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        """traceClaudeApiCall around the upstream call, with the seed's attributes."""
        attrs = {
            "claude.org_id": p["org_id"],
            "claude.project_id": p["project_id"],
            "claude.model": p["model"],
            "http.url": f"{CLAUDE_URL}/v1/messages",
            "http.method": "POST",
        }
        with self.tracer.start_as_current_span(
            "claude.api.call",
            kind=SpanKind.CLIENT,
            attributes=attrs,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            start = time.monotonic()
            try:
                resp = await self.http.post(
                    f"{self.upstream_url}/v1/messages",
                    json=body,
                    headers=forwarded_scope(request.headers),
                )
                if resp.status_code >= 400:
                    raise UpstreamError(resp.status_code, f"Claude API answered {resp.status_code}")
                span.set_attributes(
                    {
                        "http.status_code": 200,
                        "claude.duration_ms": int((time.monotonic() - start) * 1000),
                    }
                )
                span.set_status(Status(StatusCode.OK))
                return resp.json()
            except Exception as exc:
                span.set_attributes(
                    {
                        "http.status_code": getattr(exc, "status_code", 500),
                        "claude.duration_ms": int((time.monotonic() - start) * 1000),
                    }
                )
                record_exception(span, exc, str(exc) or "API call failed")
                raise

    # --- routes --------------------------------------------------------------------------

    async def messages(self, request: Request) -> Response:
        body = await json_object(request)
        org, project = request.path_params["org"], request.path_params["project"]
        p = {"org_id": org, "project_id": project, "model": str(body.get("model", "unknown"))}
        minute = int(time.time() // 60)
        await redis_op(
            self.instruments, "incr", lambda: self.redis.incr(f"ratelimit:{org}:{minute}")
        )
        start = time.monotonic()
        try:
            reply = await self.call_claude(request, p, body)
        except (UpstreamError, httpx.HTTPError) as exc:
            self.track_api_call(p, {}, "error")
            self.log_api_call(request, p, body, start, CallOutcome(status="error"))
            status = 504 if isinstance(exc, httpx.TimeoutException) else 502
            return JSONResponse({"error": "upstream failure", "detail": str(exc)}, status)
        usage = reply.get("usage", {})
        cost = self.track_api_call(p, usage, "success")
        outcome = CallOutcome(status="success", usage=usage, cost_cents=cost)
        self.log_api_call(request, p, body, start, outcome)
        if self.kafka.producer is not None:
            event = {
                **p,
                "user_id": body.get("user_id", ""),
                "input_tokens": usage.get("input_tokens", 0),
                "output_tokens": usage.get("output_tokens", 0),
                "cost_cents": cost,
                "api_key": request.headers.get("x-api-key-id", ""),
            }
            await self.kafka.send(org, event)
        return JSONResponse(reply)

    def log_api_call(
        self,
        request: Request,
        p: dict[str, Any],
        body: dict[str, Any],
        start: float,
        outcome: CallOutcome,
    ) -> None:
        """logApiCall of the seed, on the request's logger (category usage); `start` is the
        call's time.monotonic()."""
        usage = outcome.usage
        i, o = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
        request.state.log.child({"category": "usage"}).info(
            {
                "event": "api.call",
                "org_id": p["org_id"],
                "project_id": p["project_id"],
                "user_id": body.get("user_id"),
                "model": p["model"],
                "tokens": {"input": i, "output": o, "total": i + o},
                "cost_cents": outcome.cost_cents,
                "latency_ms": int((time.monotonic() - start) * 1000),
                "status": outcome.status,
            }
        )

    async def usage_events(self, request: Request) -> Response:
        """Usage ingestion: an audit line with the event's details, then Kafka."""
        event = await json_object(request)
        missing = [k for k in ("org_id", "project_id", "model") if k not in event]
        if missing:
            return JSONResponse({"error": f"missing {missing}"}, 400)
        request.state.log.child({"category": "audit"}).info(
            {
                "event": "audit.action",
                "actor": {"type": "api_key", "id": event.get("api_key_id", "unknown")},
                "action": "usage.ingest",
                "resource": {"type": "project", "id": event["project_id"]},
                "org_id": event["org_id"],
                "result": "success",
                "details": event.get("details"),
            }
        )
        if self.kafka.producer is None:
            return JSONResponse({"error": "no Kafka configured"}, 503)
        await self.kafka.send(str(event["org_id"]), event)
        return JSONResponse({"accepted": True, "request_id": request.state.request_id}, 202)

    async def mcp_invoke(self, request: Request) -> Response:
        body = await json_object(request)
        org, server, tool = (request.path_params[k] for k in ("org", "server", "tool"))
        transport = str(body.get("transport", "stdio"))
        log = request.state.log.child({"category": "mcp"})
        status = "success"
        with self.tracer.start_as_current_span(
            f"mcp.tool.{tool}",
            kind=SpanKind.CLIENT,
            attributes={"mcp.server_id": server, "mcp.tool_name": tool, "mcp.transport": transport},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                resp = await self.http.post(
                    f"{self.upstream_url}/mcp/tools/{tool}",
                    json=body.get("arguments", {}),
                    headers=forwarded_scope(request.headers),
                    timeout=float(os.environ.get("MW_MCP_TIMEOUT_S", "2")),
                )
                if resp.status_code >= 400:
                    raise UpstreamError(resp.status_code, f"tool answered {resp.status_code}")
                span.set_status(Status(StatusCode.OK))
            except (UpstreamError, httpx.HTTPError) as exc:
                status = "timeout" if isinstance(exc, httpx.TimeoutException) else "error"
                span.set_status(Status(StatusCode.ERROR))
                span.record_exception(exc)
        self.instruments.inc(
            "mindweave_mcp_tool_invocations_total",
            {"org_id": org, "server_id": server, "tool_name": tool, "status": status},
        )
        connected = self.mcp_connected.setdefault((org, transport), set())
        was = server in connected
        (connected.add if status == "success" else connected.discard)(server)
        self.instruments.set(
            "mindweave_mcp_servers_active",
            {"org_id": org, "transport_type": transport},
            len(connected),
        )
        if was != (server in connected):
            event = "connected" if status == "success" else "error"
            log.log(
                "info" if event == "connected" else "error",
                {
                    "event": f"mcp.server.{event}",
                    "org_id": org,
                    "server_id": server,
                    "server_name": body.get("server_name", server),
                    "error": None if event == "connected" else f"tool call {status}",
                },
            )
        if status != "success":
            return JSONResponse({"error": f"tool {status}"}, 504 if status == "timeout" else 502)
        return JSONResponse(resp.json())

    async def evaluate_policy(self, request: Request) -> Response:
        body = await json_object(request)
        org = request.path_params["org"]
        policy_type = str(body.get("policy_type", "usage"))
        try:
            policy = await self.policies.select_policy(policy_type)
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        context = body.get("context") or {}
        facts = context if isinstance(context, dict) else {}
        result = self.policies.evaluate(policy_type, policy, facts)
        self.instruments.inc(
            "mindweave_policy_evaluations_total",
            {"org_id": org, "policy_type": policy_type, "result": result},
        )
        if result != "allow":
            policy_id = str(body.get("policy_id", f"{policy_type}-default"))
            severity = POLICY_SEVERITY[result]
            self.instruments.inc(
                "mindweave_policy_violations_total",
                {"org_id": org, "policy_id": policy_id, "severity": severity},
            )
            request.state.log.child({"category": "governance"}).warn(
                {
                    "event": "policy.violation",
                    "org_id": org,
                    "project_id": body.get("project_id"),
                    "user_id": body.get("user_id"),
                    "policy_id": policy_id,
                    "policy_type": policy_type,
                    "violation": f"{policy_type} policy: {result}",
                    "severity": severity,
                    "context": context,
                }
            )
        return JSONResponse({"result": result})

    async def key_usage(self, request: Request) -> Response:
        key = request.path_params["key"]
        counts = await redis_op(
            self.instruments, "hgetall", lambda: self.redis.hgetall(f"usage:key:{key}")
        )
        return JSONResponse({k.decode(): int(float(v)) for k, v in counts.items()})

    async def login(self, request: Request) -> Response:
        body = await json_object(request)
        email, password = str(body.get("email", "")), body.get("password")
        success = "@" in email and bool(password)
        headers = request.headers
        request.state.log.child({"category": "auth"}).log(
            "info" if success else "warn",
            {
                "event": "login.success" if success else "login.failed",
                "email_hash": hash_email(email, self.settings.email_hash),
                "reason": None if success else "invalid credentials",
                "ip": headers.get("x-forwarded-for", request.client.host if request.client else ""),
                "user_agent": headers.get("user-agent"),
            },
        )
        return JSONResponse({"ok": success}, 200 if success else 401)

    async def live(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        try:
            with suppress_instrumentation():  # a health check is untraced, its PING too
                await self.redis.ping()
        except Exception as exc:  # readiness reports, it does not raise
            return JSONResponse({"status": "not ready", "redis": str(exc)}, 503)
        return JSONResponse({"status": "ready", "kafka": self.kafka.producer is not None})

    async def metrics(self, request: Request) -> Response:
        return Response(self.instruments.exposition(), media_type=CONTENT_TYPE)

    def app(self) -> Any:
        async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
            await self.kafka.start()
            yield
            await self.kafka.stop()
            await self.http.aclose()
            shutdown_tracing()

        prefix = "/api/v1/orgs/{org}"
        routes = [
            Route(f"{prefix}/projects/{{project}}/messages", self.messages, methods=["POST"]),
            Route("/api/v1/usage/events", self.usage_events, methods=["POST"]),
            Route(
                f"{prefix}/mcp/servers/{{server}}/tools/{{tool}}/invoke",
                self.mcp_invoke,
                methods=["POST"],
            ),
            Route(f"{prefix}/policies/evaluate", self.evaluate_policy, methods=["POST"]),
            Route("/api/v1/api-keys/{key}/usage", self.key_usage),
            Route("/api/v1/auth/login", self.login, methods=["POST"]),
            Route("/health/live", self.live),
            Route("/health/ready", self.ready),
            Route("/metrics", self.metrics),
        ]
        inner = Starlette(routes=routes, lifespan=lifespan)
        normalize = PathNormalizer(self.settings.path_rules)
        observed = RequestObservability(inner, self.logger, self.instruments, normalize)
        untraced = self.settings.tracing.get("untraced_routes") or []
        return TracedExceptUntraced(observed, untraced, normalize)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(Gateway().app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
