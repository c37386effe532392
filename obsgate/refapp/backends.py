"""What the services call, each recorded as the seed's metrics and spans say: Redis (real),
Kafka (real), and the policy store (in memory: the stack has no PostgreSQL, so this one
stands in for it and records the seed's db.* spans, query histogram and pool gauge).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from obsgate.refapp.instruments import Instruments

T = TypeVar("T")
POOL = "primary"


async def redis_op(instruments: Instruments, operation: str, call: Callable[[], Awaitable[T]]) -> T:
    """One Redis command, counted by status and timed (the spans come from the Redis
    instrumentation, as the seed's RedisInstrumentation makes them)."""
    start = time.perf_counter()
    status = "error"
    try:
        result = await call()
        status = "success"
        return result
    finally:
        instruments.inc("redis_operations_total", {"operation": operation, "status": status})
        instruments.observe(
            "redis_operation_duration_seconds",
            {"operation": operation},
            time.perf_counter() - start,
        )


def record_exception(span: trace.Span, exc: BaseException, message: str | None = None) -> None:
    """The seed's catch blocks: ERROR status with the message, and the exception event."""
    span.set_status(Status(StatusCode.ERROR, message or str(exc) or type(exc).__name__))
    span.record_exception(exc)


class PolicyStore:
    """Policies by id behind a pool of `size` connections, as traceDbQuery records them."""

    POLICIES: ClassVar[dict[str, dict[str, Any]]] = {
        "usage": {"max_tokens": 100_000},
        "access": {"roles": ["admin", "developer"]},
        "compliance": {"forbid_pii": True},
    }

    def __init__(self, instruments: Instruments, tracer: trace.Tracer, size: int = 10):
        self.instruments, self.tracer, self.size = instruments, tracer, size
        self.pool = asyncio.Semaphore(size)
        self.active = 0
        self._gauges()

    def _gauges(self) -> None:
        for state, value in (
            ("total", self.size),
            ("active", self.active),
            ("available", self.size - self.active),
        ):
            self.instruments.set("db_connection_pool_size", {"pool": POOL, "state": state}, value)

    async def select_policy(self, policy_type: str) -> dict[str, Any]:
        """`db.select` on `policies`; an unknown policy type raises, with ERROR status."""
        with self.tracer.start_as_current_span(
            "db.select",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": "postgresql",
                "db.operation": "select",
                "db.sql.table": "policies",
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            start = time.perf_counter()
            try:
                async with self.pool:
                    self.active += 1
                    self._gauges()
                    try:
                        await asyncio.sleep(0.001)  # a round trip's worth
                        if policy_type not in self.POLICIES:
                            raise LookupError(f"no policy of type {policy_type!r}")
                        span.set_status(Status(StatusCode.OK))
                        return self.POLICIES[policy_type]
                    finally:
                        self.active -= 1
                        self._gauges()
            except LookupError as exc:
                span.set_status(Status(StatusCode.ERROR))
                span.record_exception(exc)
                raise
            finally:
                self.instruments.observe(
                    "db_query_duration_seconds",
                    {"query_type": "select", "table": "policies"},
                    time.perf_counter() - start,
                )

    @staticmethod
    def evaluate(policy_type: str, policy: dict[str, Any], context: dict[str, Any]) -> str:
        """allow, deny or warn: a usage, access or compliance policy against the context."""
        if policy_type == "usage":
            try:
                over = float(context.get("tokens_requested", 0)) > policy["max_tokens"]
            except (TypeError, ValueError):
                return "deny"  # fails closed: what cannot be evaluated is not allowed
            return "deny" if over else "allow"
        if policy_type == "access":
            return "allow" if context.get("role") in policy["roles"] else "deny"
        return "warn" if context.get("contains_pii") else "allow"


class UsageProducer:
    """Produces usage events to Kafka with the trace context in the message headers."""

    def __init__(self, bootstrap: str | None, topic: str, instruments: Instruments, tracer):
        self.bootstrap, self.topic = bootstrap, topic
        self.instruments, self.tracer = instruments, tracer
        self.producer: Any = None

    async def start(self) -> None:
        if not self.bootstrap:
            return
        from aiokafka import AIOKafkaProducer

        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self.producer.start()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()

    async def send(self, key: str, event: dict[str, Any]) -> None:
        if self.producer is None:
            raise RuntimeError("no Kafka configured (MW_KAFKA_BOOTSTRAP is not set)")
        with self.tracer.start_as_current_span(
            f"{self.topic} publish",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": self.topic,
                "messaging.operation": "publish",
            },
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)  # the configured propagators: traceparent for W3C
            headers = [(k, v.encode()) for k, v in carrier.items()]
            await self.producer.send_and_wait(
                self.topic, json.dumps(event).encode(), key=key.encode(), headers=headers
            )
        self.instruments.inc("kafka_messages_produced_total", {"topic": self.topic})
