"""What a span is, by OpenTelemetry's conventions rather than by name (the seed's HTTP,
Kafka and Redis spans come from instrumentations whose span names vary by version), and
the judgement of one trace across the Kafka hop, kept apart so it is shown able to fail.
"""

from __future__ import annotations

from obsgate.tracing.jaeger_query import Span, Trace


def is_server(span: Span, service: str) -> bool:
    return span.service == service and span.kind == "server"


def is_kafka(span: Span, kind: str, service: str) -> bool:
    """A Kafka producer or consumer span (messaging.system, as the Kafka instrumentations set)."""
    return (
        span.service == service
        and span.kind == kind
        and span.tags.get("messaging.system") == "kafka"
    )


def is_redis(span: Span, service: str) -> bool:
    return span.service == service and span.tags.get("db.system") == "redis"


def ancestors(trace: Trace, span: Span) -> list[Span]:
    """The chain of parents of `span` inside `trace`, nearest first."""
    out: list[Span] = []
    current: Span | None = span
    while current is not None and current.parent and len(out) < len(trace.spans):
        current = trace.span(current.parent)
        if current is not None:
            out.append(current)
    return out


def one(spans: list[Span], what: str, trace: Trace) -> Span:
    assert len(spans) == 1, (
        f"expected exactly one {what} in trace {trace.trace_id}, found {len(spans)}:\n"
        + trace.describe()
    )
    return spans[0]


def kafka_hop(trace: Trace, gateway: str, tracker: str) -> tuple[Span, Span]:
    """(producer, consumer): the gateway's producer span under its server span, and the
    tracker's consumer span as the producer's child, in this one trace."""
    server = one(trace.where(lambda s: is_server(s, gateway)), f"{gateway} server span", trace)
    producer = one(
        trace.where(lambda s: is_kafka(s, "producer", gateway)),
        f"Kafka producer span of {gateway}",
        trace,
    )
    assert server in ancestors(trace, producer), (
        f"the producer span {producer.span_id} does not descend from the server span "
        f"{server.span_id}:\n{trace.describe()}"
    )
    consumer = one(
        trace.where(lambda s: is_kafka(s, "consumer", tracker)),
        f"Kafka consumer span of {tracker} (one trace across the Kafka hop)",
        trace,
    )
    assert consumer.parent == producer.span_id, (
        f"the consumer span {consumer.span_id} of {tracker} has parent {consumer.parent}, "
        f"not the producer span {producer.span_id}: the parent link broke at the Kafka hop\n"
        + trace.describe()
    )
    return producer, consumer


def usage_path_stored(trace: Trace, gateway: str, tracker: str) -> bool:
    """Every part of a usage request's trace is in: the server span (it ends last in the
    gateway), the producer, and the consumer with its children (it may end before the
    producer span does: the message is consumed before the broker's ack returns)."""
    consumers = trace.where(lambda s: is_kafka(s, "consumer", tracker))
    return (
        bool(trace.where(lambda s: is_server(s, gateway)))
        and bool(trace.where(lambda s: is_kafka(s, "producer", gateway)))
        and any(trace.children(c) for c in consumers)
    )
