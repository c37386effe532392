"""usage-tracker: consumes the gateway's usage events from Kafka and counts usage in Redis.

Each message's headers carry the producer's trace context; the processing span is its child
(extracted with the configured propagators), and the Redis commands are children of that,
so one trace runs HTTP -> Kafka -> usage-tracker -> Redis. Serves /metrics and /health.

    python -m obsgate.refapp.usage_tracker --port P
env: MW_OBS_CONFIG_DIR, MW_LOG_FILE, MW_REDIS_URL, MW_KAFKA_BOOTSTRAP, MW_USAGE_TOPIC,
MW_CONSUMER_GROUP, OTEL_EXPORTER_OTLP_ENDPOINT (optional), MW_BSP_SCHEDULE_DELAY_MS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import uvicorn
from aiokafka import AIOKafkaConsumer
from opentelemetry import propagate
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.trace import SpanKind
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from obsgate.refapp.backends import record_exception, redis_op
from obsgate.refapp.instruments import CONTENT_TYPE, Instruments
from obsgate.refapp.logs import make_logger
from obsgate.refapp.redaction import PinoRedactor
from obsgate.refapp.settings import MetricDef, load_settings
from obsgate.refapp.telemetry import setup_tracing, shutdown_tracing

SERVICE = "usage-tracker"
# Not in the seed's metrics.service.ts, but queried by its SLOs (slo/mindweave-slos.yaml);
# buckets are prometheus-client's defaults, which include the SLO's le="0.1".
OWN_METRICS = (
    MetricDef(
        "usage_event_processing_duration_seconds",
        "histogram",
        ("topic",),
        (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
    ),
    MetricDef("usage_events_received_total", "counter", ("topic",)),
    MetricDef("usage_events_dropped_total", "counter", ("topic", "reason")),
)


def js_number(value: Any, convert: Callable[[float], Any]) -> Any:
    """`Number(value)` as the Node tracker reads a count: null is 0, what does not parse is
    NaN, which Redis refuses (so the error names Redis' reply, not the value)."""
    try:
        number = float(0 if value is None else value)
    except (TypeError, ValueError):
        return "NaN"
    return "NaN" if math.isnan(number) or math.isinf(number) else convert(number)


class UsageTracker:
    def __init__(self) -> None:
        settings = load_settings()
        self.tracer = setup_tracing(settings.tracing, SERVICE)
        RedisInstrumentor().instrument()
        self.instruments = Instruments(settings.metrics, SERVICE)
        for d in OWN_METRICS:
            self.instruments.add(d)
        base = {
            "service": SERVICE,
            "version": os.environ.get("SERVICE_VERSION", "1.0.0"),
            "environment": os.environ.get("NODE_ENV", "development"),
        }
        redactor = PinoRedactor(settings.redact_paths, settings.censor)
        log_file = Path(os.environ.get("MW_LOG_FILE", f"{SERVICE}.log.jsonl"))
        self.logger = make_logger(log_file, redactor, base).child({"category": "usage"})
        self.redis = aioredis.from_url(os.environ.get("MW_REDIS_URL", "redis://127.0.0.1:6379"))
        self.topic = os.environ.get("MW_USAGE_TOPIC", "usage-events")
        self.group = os.environ.get("MW_CONSUMER_GROUP", "usage-tracker")
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self.processed = 0

    async def process(self, message: Any) -> None:
        """One event: the span continues the producer's trace; counts go to Redis."""
        start = time.perf_counter()
        labels = {"topic": message.topic}
        self.instruments.inc("usage_events_received_total", labels)
        carrier = {k: v.decode("latin-1") for k, v in (message.headers or [])}
        parent = propagate.extract(carrier)
        with self.tracer.start_as_current_span(
            f"{message.topic} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": message.topic,
                "messaging.operation": "process",
                "messaging.kafka.consumer.group": self.group,
                "messaging.kafka.message.offset": message.offset,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                event = json.loads(message.value)
                key = f"usage:{event['org_id']}:{event['project_id']}"
                await self.count(key, event)
                if event.get("api_key"):
                    await self.count(f"usage:key:{event['api_key']}", event)
                self.logger.info(
                    {
                        "event": "usage.recorded",
                        "org_id": event["org_id"],
                        "project_id": event["project_id"],
                        "offset": message.offset,
                    },
                    "usage event processed",
                )
            except (ValueError, KeyError, TypeError, RedisError) as exc:
                record_exception(span, exc)
                self.instruments.inc("usage_events_dropped_total", {**labels, "reason": "invalid"})
                self.logger.error({"err": exc, "offset": message.offset}, "usage event dropped")
        self.instruments.inc(
            "kafka_messages_consumed_total", {"topic": message.topic, "consumer_group": self.group}
        )
        self.instruments.observe(
            "usage_event_processing_duration_seconds", labels, time.perf_counter() - start
        )
        self.processed += 1

    async def count(self, key: str, event: dict[str, Any]) -> None:
        for field in ("input_tokens", "output_tokens"):
            value = js_number(event.get(field, 0), math.trunc)
            await redis_op(
                self.instruments, "hincrby", lambda f=field, v=value: self.redis.hincrby(key, f, v)
            )
        cost = js_number(event.get("cost_cents", 0), float)
        await redis_op(
            self.instruments,
            "hincrbyfloat",
            lambda: self.redis.hincrbyfloat(key, "cost_cents", cost),
        )
        await redis_op(self.instruments, "hincrby", lambda: self.redis.hincrby(key, "events", 1))

    async def record_lag(self) -> None:
        assert self.consumer is not None
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            position = await self.consumer.position(tp)
            self.instruments.set(
                "kafka_consumer_lag",
                {"topic": tp.topic, "partition": str(tp.partition), "consumer_group": self.group},
                max(0, high - position),
            )

    async def consume(self) -> None:
        assert self.consumer is not None
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                for message in messages:
                    await self.process(message)
            await self.record_lag()

    async def metrics(self, request: Request) -> Response:
        return Response(self.instruments.exposition(), media_type=CONTENT_TYPE)

    async def health(self, request: Request) -> Response:
        if self.task is not None and self.task.done():  # the consume loop died: say why
            error = repr(self.task.exception()) if not self.task.cancelled() else "cancelled"
            return JSONResponse({"status": "consumer stopped", "error": error}, 503)
        ready = self.consumer is not None and bool(self.consumer.assignment())
        body = {"status": "ready" if ready else "starting", "processed": self.processed}
        return JSONResponse(body, 200 if ready else 503)

    def app(self) -> Starlette:
        async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
            self.consumer = AIOKafkaConsumer(
                self.topic,
                bootstrap_servers=os.environ["MW_KAFKA_BOOTSTRAP"],
                group_id=self.group,
                auto_offset_reset="earliest",
                enable_auto_commit=True,
            )
            await self.consumer.start()
            self.task = asyncio.create_task(self.consume())
            yield
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            await self.consumer.stop()
            shutdown_tracing()

        routes = [Route("/metrics", self.metrics), Route("/health", self.health)]
        return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(UsageTracker().app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
