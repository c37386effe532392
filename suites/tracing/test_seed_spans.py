"""The seed's own spans (spans.ts, as tracing/propagation.yaml lists them) appear with their
name, kind and attributes, under the request's server span; an upstream failure marks
claude.api.call ERROR with the exception recorded, and the server span ERROR too."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from obsgate.config import ObsConfig
from obsgate.refapp.fixtures import set_upstream_faults
from obsgate.stack.endpoint import Endpoint
from obsgate.tracing.intent import SpanSpec, TraceIntent, span_specs
from obsgate.tracing.jaeger_query import JaegerQuery, Span, Trace
from obsgate.tracing.shape import ancestors, is_server, one
from obsgate.tracing.traced_requests import (
    Caller,
    mcp_request,
    message_request,
    policy_request,
)

pytestmark = [
    pytest.mark.tracing,
    pytest.mark.needs("redis", "kafka", "jaeger"),
    pytest.mark.writes("sends traced requests to the app, whose spans go into Jaeger"),
]
Request = Callable[[], tuple[str, dict[str, Any], dict[str, str]]]
# Which route of the reference app makes each span of the seed's spans.ts.
MADE_BY: dict[str, Request] = {
    "claude.api.call": message_request,
    "db.<queryType>": policy_request,
    "mcp.tool.<toolName>": mcp_request,
}
CLAUDE_CALL = "claude.api.call"


def seed_span_trace(
    jaeger_query: JaegerQuery, trace_id: str, spec: SpanSpec, since: float, gateway: str
) -> tuple[Trace, Span]:
    pattern = spec.name_pattern()
    trace = jaeger_query.wait_for_trace(
        trace_id,
        f"the {gateway} server span and a span named like {spec.name!r} ({pattern.pattern})",
        lambda t: (
            bool(t.where(lambda s: is_server(s, gateway)))
            and bool(t.where(lambda s: pattern.fullmatch(s.name) is not None))
        ),
        services=(gateway,),
        since=since,
    )
    span = one(trace.where(lambda s: pattern.fullmatch(s.name) is not None), spec.name, trace)
    return trace, span


def test_seed_span_has_its_kind_and_attributes(
    caller: Caller, jaeger_query: JaegerQuery, tracing_intent: TraceIntent, span_spec: SpanSpec
) -> None:
    make = MADE_BY.get(span_spec.name)
    assert make, (
        f"tracing/propagation.yaml lists span {span_spec.name!r}, but no route of the "
        f"reference app is known to make it (known: {sorted(MADE_BY)})"
    )
    path, body, _ = make()
    start = time.time()
    sent = caller.traced("POST", path, body)
    assert sent.response.ok, f"POST {path}: {sent.response.status_code} {sent.response.text}"
    gateway = tracing_intent.gateway
    trace, span = seed_span_trace(jaeger_query, sent.trace_id, span_spec, start, gateway)
    assert span.kind == span_spec.kind, f"{span.describe()}: kind {span.kind}, not {span_spec.kind}"
    missing = [a for a in span_spec.attributes if a not in span.tags]
    assert not missing, f"{span.describe()} lacks attributes {missing}; it has {span.tags}"
    constants = span_spec.constant_attributes
    wrong = {k: span.tags.get(k) for k, v in constants.items() if span.tags.get(k) != v}
    assert not wrong, f"{span.describe()}: {wrong}, config says {constants}"
    server = one(trace.where(lambda s: is_server(s, gateway)), f"{gateway} server span", trace)
    assert server in ancestors(trace, span), f"not under the server span:\n{trace.describe()}"


@contextmanager
def upstream_failing(app: Endpoint, status: int = 503) -> Iterator[int]:
    """The upstream stub answers `status` to every call, for as short a time as one request
    (it is shared: a concurrent test of another suite would see the failures too)."""
    set_upstream_faults(app, error_rate=1.0, error_status=status)
    try:
        yield status
    finally:
        set_upstream_faults(app, error_rate=0.0)


@pytest.mark.xdist_group("upstream-faults")
def test_upstream_failure_marks_error_and_records_exception(
    caller: Caller, jaeger_query: JaegerQuery, tracing_intent: TraceIntent, obs_config: ObsConfig
) -> None:
    """traceClaudeApiCall's catch: ERROR status with the message, recordException, the
    upstream's status code; the request answers 5xx, so the server span is ERROR too."""
    spec = next((s for s in span_specs(obs_config) if s.name == CLAUDE_CALL), None)
    assert spec, f"tracing/propagation.yaml lists no {CLAUDE_CALL} span"
    path, body, _ = message_request()
    start = time.time()
    with upstream_failing(caller.app) as status:
        sent = caller.traced("POST", path, body)
    assert sent.response.status_code >= 500, f"upstream failed, yet {sent.response.status_code}"
    gateway = tracing_intent.gateway
    trace, span = seed_span_trace(jaeger_query, sent.trace_id, spec, start, gateway)
    assert span.status == "ERROR", f"{span.describe()}: status {span.status}"
    assert span.tags.get("otel.status_description"), f"no status message: {span.tags}"
    assert span.tags.get("http.status_code") == status, span.tags
    exceptions = [e for e in span.events if e.get("event") == "exception"]
    assert exceptions, f"no exception event on {span.describe()}: {span.events}"
    assert {"exception.type", "exception.message"} <= set(exceptions[0]), exceptions[0]
    server = one(trace.where(lambda s: is_server(s, gateway)), f"{gateway} server span", trace)
    assert server.status == "ERROR", f"{server.describe()}: a 5xx answer, status {server.status}"
