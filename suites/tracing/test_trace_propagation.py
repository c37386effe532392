"""Where a trace begins: a caller's traceparent is continued, a request without one starts
a new trace, and the health routes make no span at all (MW-ENG-071 2.1, tracing.ts)."""

from __future__ import annotations

import time

import pytest

from obsgate.config import ObsConfig
from obsgate.tracing.intent import TRACE_INTENT, TraceIntent
from obsgate.tracing.jaeger_query import JaegerQuery, Trace
from obsgate.tracing.log_search import any_of, app_log_lines
from obsgate.tracing.shape import is_server, one
from obsgate.tracing.traced_requests import Caller, message_request, policy_request

pytestmark = [
    pytest.mark.tracing,
    pytest.mark.needs("redis", "kafka", "jaeger"),
    pytest.mark.writes("sends traced requests to the app, whose spans go into Jaeger"),
]


def test_server_span_continues_the_callers_trace(
    caller: Caller, jaeger_query: JaegerQuery, tracing_intent: TraceIntent
) -> None:
    """The caller's traceparent makes the gateway's server span its child: same trace id,
    parent = the caller's span, and no other span of the trace without a parent in it."""
    path, body, _ = message_request()
    start = time.time()
    sent = caller.traced("POST", path, body)
    assert sent.response.ok, sent.response.text
    gateway = tracing_intent.gateway

    def server_and_every_parent(t: Trace) -> bool:
        """Spans reach Jaeger in any order (a Redis span before its consumer span): wait
        for every parent too; a span whose parent never comes fails the wait, naming it."""
        ids = {s.span_id for s in t.spans}
        servers = t.where(lambda s: is_server(s, gateway))
        return bool(servers) and all(set(s.parents) & ids for s in t.spans if s not in servers)

    trace = jaeger_query.wait_for_trace(
        sent.trace_id,
        f"the {gateway} server span of POST {path} and every other span's parent",
        server_and_every_parent,
        services=(gateway,),
        since=start,
    )
    server = one(trace.where(lambda s: is_server(s, gateway)), f"{gateway} server span", trace)
    assert server.parent == sent.caller_span_id, (
        f"the server span's parent is {server.parent}, not the caller's span "
        f"{sent.caller_span_id}:\n{trace.describe()}"
    )
    ids = {s.span_id for s in trace.spans}
    roots = [s for s in trace.spans if s is not server and not set(s.parents) & ids]
    assert not roots, f"spans detached from the request's tree:\n{trace.describe()}"


def test_request_without_traceparent_starts_a_new_trace(
    caller: Caller,
    jaeger_query: JaegerQuery,
    tracing_intent: TraceIntent,
    app_logs: dict[str, str],
) -> None:
    """No traceparent: the server span is a root, in a trace id the app chose; the request's
    log lines name that trace (found by the request id the test sent)."""
    if not app_logs:
        pytest.fail("the app's log files are needed to learn the new trace id (not --app-url)")
    path, body, _ = message_request()
    sent = caller.untraced("POST", path, body)
    assert sent.response.ok, sent.response.text
    lines = app_log_lines(app_logs, any_of({"request_id": sent.request_id}))
    field = tracing_intent.trace_id_field
    trace_ids = {line.get(field) for line in lines}
    assert len(trace_ids) == 1 and None not in trace_ids, (
        f"the request's {len(lines)} log line(s) name trace ids {trace_ids}, expected one"
    )
    trace_id = str(trace_ids.pop())
    gateway = tracing_intent.gateway
    trace = jaeger_query.wait_for_trace(
        trace_id,
        f"the {gateway} server span of POST {path} (no traceparent sent)",
        lambda t: bool(t.where(lambda s: is_server(s, gateway))),
    )
    server = one(trace.where(lambda s: is_server(s, gateway)), f"{gateway} server span", trace)
    assert server.parent is None, f"a request without traceparent got a parent:\n{trace.describe()}"


def _mentions(route: str, value: object) -> bool:
    text = str(value)
    return text == route or text.startswith(f"{route}?") or text.endswith(f" {route}")


def test_health_route_makes_no_span(
    caller: Caller, jaeger_query: JaegerQuery, tracing_intent: TraceIntent, health_route: str
) -> None:
    """A probe of a health route, even with a traceparent, leaves no span: not in its own
    trace, nor any gateway span naming the route. Judged once a later request's server span
    is in Jaeger: the health request's spans, if any, were exported before it."""
    gateway = tracing_intent.gateway
    start = time.time()
    probe = caller.traced("GET", health_route)
    assert probe.response.ok, f"GET {health_route}: {probe.response.status_code}"
    # a later request, found by the unique org id in its path whatever trace it landed in
    path, body, ids = policy_request()
    marker = caller.traced("POST", path, body)
    assert marker.response.ok, marker.response.text
    jaeger_query.wait_for_span(
        gateway,
        start,
        f"the server span of POST {path}, sent after GET {health_route}",
        lambda s: is_server(s, gateway) and any(ids["org"] in str(v) for v in s.tags.values()),
    )
    time.sleep(0.5)  # Jaeger stores a batch's spans together, but not atomically
    own = jaeger_query.trace(probe.trace_id)
    assert own is None, f"GET {health_route} made spans:\n{own.describe()}"
    naming = [
        s
        for s in jaeger_query.spans_since(gateway, start)
        if _mentions(health_route, s.name)
        or any(_mentions(health_route, v) for v in s.tags.values())
    ]
    assert not naming, f"spans of GET {health_route}:\n" + "\n".join(
        f"    trace {s.trace_id}: {s.describe()} {s.tags}" for s in naming
    )


def test_only_health_routes_are_untraced(
    obs_config: ObsConfig, tracing_intent: TraceIntent
) -> None:
    """The app's untraced routes are the intent's health routes and nothing more: a route
    added there would vanish from every trace without a test noticing."""
    untraced = obs_config.app_settings("tracing").get("untraced_routes") or []
    extra = sorted(set(untraced) - set(tracing_intent.health_routes))
    assert not extra, (
        f"tracing/propagation.yaml untraces {extra}, which are not health routes "
        f"({list(tracing_intent.health_routes)} in {TRACE_INTENT})"
    )
