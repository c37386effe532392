"""One trace follows a usage request across HTTP, Kafka and Redis: the gateway's server span
under the caller, its Redis and Kafka producer spans under it, the usage-tracker's consumer
span as the producer's child (a consumer span that only links to it is another trace), the
tracker's Redis spans under that, and every span with the resource the config promises."""

from __future__ import annotations

import time

import pytest

from obsgate.config import ObsConfig
from obsgate.tracing.intent import TraceIntent, expected_resource
from obsgate.tracing.jaeger_query import JaegerQuery, Trace
from obsgate.tracing.shape import (
    ancestors,
    is_kafka,
    is_redis,
    is_server,
    kafka_hop,
    one,
    usage_path_stored,
)
from obsgate.tracing.traced_requests import Caller, Sent, message_request

pytestmark = [
    pytest.mark.tracing,
    pytest.mark.needs("redis", "kafka", "jaeger"),
    pytest.mark.writes("sends traced requests to the app, whose spans go into Jaeger"),
]


@pytest.fixture(scope="module")
def usage_request(caller: Caller) -> tuple[Sent, float]:
    """One traced POST to the messages route, whose usage event crosses Kafka."""
    path, body, ids = message_request()
    start = time.time()
    sent = caller.traced("POST", path, body)
    assert sent.response.ok, f"POST {path}: {sent.response.status_code} {sent.response.text}"
    return Sent(sent.trace_id, sent.caller_span_id, sent.request_id, sent.response, ids), start


def whole_trace(
    jaeger_query: JaegerQuery, intent: TraceIntent, request: tuple[Sent, float], what: str
) -> Trace:
    """The usage request's trace once the server, producer and consumer spans are in."""
    sent, start = request
    tracker = intent.usage_tracker

    return jaeger_query.wait_for_trace(
        sent.trace_id,
        what,
        lambda t: usage_path_stored(t, intent.gateway, tracker),
        services=(intent.gateway, tracker),
        since=start,
    )


def test_kafka_hop_keeps_one_trace(
    jaeger_query: JaegerQuery, tracing_intent: TraceIntent, usage_request: tuple[Sent, float]
) -> None:
    """The producer span descends from the gateway's server span; the tracker's consumer
    span is the producer's child, in the caller's trace."""
    trace = whole_trace(
        jaeger_query,
        tracing_intent,
        usage_request,
        f"the {tracing_intent.usage_tracker} consumer span of the usage event with a child",
    )
    kafka_hop(trace, tracing_intent.gateway, tracing_intent.usage_tracker)


def test_redis_spans_sit_under_their_service_spans(
    jaeger_query: JaegerQuery, tracing_intent: TraceIntent, usage_request: tuple[Sent, float]
) -> None:
    """The gateway's rate-limit command is under its server span; the tracker's commands
    are children of its consumer span (the seed's RedisInstrumentation in both)."""
    gateway, tracker = tracing_intent.gateway, tracing_intent.usage_tracker
    trace = whole_trace(jaeger_query, tracing_intent, usage_request, "the Redis spans")
    server = one(trace.where(lambda s: is_server(s, gateway)), f"{gateway} server span", trace)
    gateway_redis = trace.where(lambda s: is_redis(s, gateway))
    assert gateway_redis, f"no Redis span of {gateway}:\n{trace.describe()}"
    assert all(server in ancestors(trace, s) for s in gateway_redis), trace.describe()
    consumer = one(trace.where(lambda s: is_kafka(s, "consumer", tracker)), "consumer span", trace)
    tracker_redis = trace.where(lambda s: is_redis(s, tracker))
    assert tracker_redis, f"no Redis span of {tracker}:\n{trace.describe()}"
    stray = [s for s in tracker_redis if s.parent != consumer.span_id]
    assert not stray, f"{tracker} Redis spans not under the consumer span:\n{trace.describe()}"


def test_spans_carry_the_configured_resource(
    jaeger_query: JaegerQuery,
    tracing_intent: TraceIntent,
    obs_config: ObsConfig,
    usage_request: tuple[Sent, float],
) -> None:
    """Every span's resource holds tracing/propagation.yaml's `resource` for its service."""
    trace = whole_trace(jaeger_query, tracing_intent, usage_request, "the spans of both services")
    wrong = []
    for span in trace.spans:
        expected = expected_resource(obs_config, span.service)
        got = {**span.resource, "service.name": span.service}
        diff = {k: (v, got.get(k)) for k, v in expected.items() if str(got.get(k)) != v}
        if diff:
            wrong.append(f"    {span.describe()}: (expected, got) {diff}")
    assert not wrong, "resource attributes differ from the config:\n" + "\n".join(wrong)


def _server_name(jaeger_query: JaegerQuery, gateway: str, sent: Sent) -> tuple[str, str]:
    trace = jaeger_query.wait_for_trace(
        sent.trace_id,
        f"the {gateway} server span",
        lambda t: bool(t.where(lambda s: is_server(s, gateway))),
    )
    server = one(trace.where(lambda s: is_server(s, gateway)), f"{gateway} server span", trace)
    return server.name, str(server.tags.get("http.route", ""))


def test_server_span_name_is_the_same_for_any_ids(
    caller: Caller,
    jaeger_query: JaegerQuery,
    tracing_intent: TraceIntent,
    usage_request: tuple[Sent, float],
) -> None:
    """The server span's name and route name the route, never the ids in the path, not even
    in part: requests whose ids differ (in one last digit too) get one name, or Jaeger's
    operation list grows with every org and project."""
    gateway = tracing_intent.gateway
    sent, _ = usage_request
    names = {_server_name(jaeger_query, gateway, sent)}
    org, project = sent.ids["org"], sent.ids["project"]
    last = "0" if org[-1] != "0" else "1"
    for other_org, other_project in ((org[:-1] + last, project[:-1] + last), ("7", "42")):
        path, body, _ = message_request(other_org, other_project)
        other = caller.traced("POST", path, body)
        assert other.response.ok, f"POST {path}: {other.response.status_code}"
        names.add(_server_name(jaeger_query, gateway, other))
    assert len(names) == 1, f"server span (name, http.route) differ with the ids: {sorted(names)}"
    shown = names.pop()
    leaked = [i for i in (org, project) if any(i in text for text in shown)]
    assert not leaked, f"ids {leaked} in the server span's name or route: {shown}"
