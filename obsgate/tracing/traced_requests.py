"""Requests as a traced or untraced caller sends them, with ids a test can find again."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from obsgate.errors import ConfigError
from obsgate.stack.endpoint import Endpoint
from obsgate.tracing.intent import TRACE_INTENT


@dataclass(frozen=True)
class Sent:
    """A request the test sent: its ids, the caller's span it claimed, the response."""

    trace_id: str
    caller_span_id: str | None
    request_id: str
    response: requests.Response
    ids: dict[str, str] = field(default_factory=dict)


def new_trace_id() -> str:
    return secrets.token_hex(16)


def caller_headers(propagation: str, trace_id: str, span_id: str) -> dict[str, str]:
    """The headers a caller sends to continue its trace (W3C Trace Context, sampled)."""
    if propagation != "tracecontext":
        raise ConfigError(
            f"{TRACE_INTENT}: caller_propagation {propagation!r}: the gate sends "
            "`tracecontext` (W3C traceparent) only"
        )
    return {"traceparent": f"00-{trace_id}-{span_id}-01"}


def message_request(
    org: str | None = None, project: str | None = None
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The Claude messages route: rate limit in Redis, claude.api.call, usage to Kafka."""
    org = org or str(uuid.uuid4())
    project = project or str(uuid.uuid4())
    body = {
        "model": "claude-3-5-sonnet",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "trace me"}],
    }
    path = f"/api/v1/orgs/{org}/projects/{project}/messages"
    return path, body, {"org": org, "project": project}


def policy_request(org: str | None = None) -> tuple[str, dict[str, Any], dict[str, str]]:
    """Policy evaluation: the policy store's db.select span."""
    org = org or str(uuid.uuid4())
    body = {"policy_type": "usage", "context": {"tokens_requested": 10}}
    return f"/api/v1/orgs/{org}/policies/evaluate", body, {"org": org}


def mcp_request(org: str | None = None) -> tuple[str, dict[str, Any], dict[str, str]]:
    """An MCP tool invocation: the mcp.tool.<toolName> span."""
    org, server = org or str(uuid.uuid4()), str(uuid.uuid4())
    path = f"/api/v1/orgs/{org}/mcp/servers/{server}/tools/search/invoke"
    return path, {"transport": "stdio", "arguments": {"q": "trace"}}, {"org": org, "server": server}


@dataclass(frozen=True)
class Caller:
    """A client of the app that propagates its trace as the intent says callers do."""

    app: Endpoint
    propagation: str

    def traced(self, method: str, path: str, body: dict[str, Any] | None = None) -> Sent:
        return self._send(method, path, body, new_trace_id())

    def untraced(self, method: str, path: str, body: dict[str, Any] | None = None) -> Sent:
        return self._send(method, path, body, None)

    def _send(
        self, method: str, path: str, body: dict[str, Any] | None, trace_id: str | None
    ) -> Sent:
        """Send one request as a traced caller would (`trace_id` given) or an untraced one,
        with a unique x-request-id so its log lines can be found."""
        request_id = f"tracing-{uuid.uuid4()}"
        headers = {"x-request-id": request_id}
        caller = None
        if trace_id is not None:
            caller = secrets.token_hex(8)
            headers.update(caller_headers(self.propagation, trace_id, caller))
        response = requests.request(
            method, f"{self.app.url}{path}", json=body, headers=headers, timeout=30
        )
        return Sent(trace_id or "", caller, request_id, response)
