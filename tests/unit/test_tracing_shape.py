"""The judgement of one trace across the Kafka hop (obsgate/tracing/shape.py: kafka_hop):
it accepts a consumer span under the producer span and fails on a consumer span that only
links to the producer, in a trace of its own, as some Kafka instrumentations make it."""

from __future__ import annotations

import pytest

from obsgate.tracing.jaeger_query import Span, Trace
from obsgate.tracing.shape import kafka_hop


def _span(span_id: str, service: str, kind: str, parent: str | None, **tags: str) -> Span:
    return Span(
        "t" * 32,
        span_id,
        f"{service} {kind}",
        service,
        (parent,) if parent else (),
        {"span.kind": kind, **tags},
        (),
    )


GATEWAY_SPANS = (
    _span("s1", "api-gateway", "server", "caller"),
    _span("p1", "api-gateway", "producer", "s1", **{"messaging.system": "kafka"}),
)


def test_kafka_hop_judge_accepts_a_consumer_under_the_producer() -> None:
    consumer = _span("c1", "usage-tracker", "consumer", "p1", **{"messaging.system": "kafka"})
    producer, found = kafka_hop(
        Trace("t", (*GATEWAY_SPANS, consumer)), "api-gateway", "usage-tracker"
    )
    assert (producer.span_id, found.span_id) == ("p1", "c1")


@pytest.mark.parametrize(
    "consumer",
    [
        # confluent-kafka's instrumentation: the consumer span only links, in its own trace
        None,
        # a consumer span that started its own root inside the trace id (context not extracted)
        _span("c1", "usage-tracker", "consumer", None, **{"messaging.system": "kafka"}),
        # a consumer span under the server span: the message's context was not used
        _span("c1", "usage-tracker", "consumer", "s1", **{"messaging.system": "kafka"}),
    ],
    ids=["consumer-in-another-trace", "consumer-is-a-root", "consumer-under-the-server-span"],
)
def test_kafka_hop_judge_fails_on_a_broken_hop(consumer: Span | None) -> None:
    spans = (*GATEWAY_SPANS, consumer) if consumer else GATEWAY_SPANS
    with pytest.raises(AssertionError, match="consumer span"):
        kafka_hop(Trace("t", spans), "api-gateway", "usage-tracker")
