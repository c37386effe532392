"""OpenTelemetry as the seed's tracing.ts sets it up, from tracing/propagation.yaml.

Resource attributes, propagators and the BatchSpanProcessor come from the config dir.
Spans go over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (Jaeger's OTLP receiver); with no
endpoint nothing is exported but spans and trace ids still exist for the logs. An export
failure is logged by the SDK on stderr and never fails a request. MW_BSP_SCHEDULE_DELAY_MS
overrides the configured 5 s batch delay so that tests need not wait for it.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from obsgate.errors import ConfigError

PROPAGATORS = {"tracecontext": TraceContextTextMapPropagator, "baggage": W3CBaggagePropagator}


def resource_attributes(spec: dict[str, Any], service_name: str) -> dict[str, str]:
    """`{env, default}` values read the environment; SERVICE_NAME is this service's name."""
    env = {**os.environ, "SERVICE_NAME": os.environ.get("SERVICE_NAME", service_name)}
    out = {}
    for key, value in spec.items():
        if isinstance(value, dict):
            out[key] = str(env.get(value["env"]) or value.get("default", ""))
        else:
            out[key] = str(value)
    return out


def propagator(names: list[str]) -> CompositePropagator:
    unknown = [n for n in names if n not in PROPAGATORS]
    if unknown:
        raise ConfigError(
            f"tracing/propagation.yaml: propagators {unknown} not supported "
            f"(the reference app knows {sorted(PROPAGATORS)})"
        )
    return CompositePropagator([PROPAGATORS[n]() for n in names])


def setup_tracing(tracing: dict[str, Any], service_name: str) -> trace.Tracer:
    """Install the provider and propagator; return the seed's tracer (`mindweave-api`)."""
    attrs = resource_attributes(tracing.get("resource") or {}, service_name)
    provider = TracerProvider(resource=Resource.create(attrs))
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        bsp = tracing.get("batch_span_processor") or {}
        delay = os.environ.get("MW_BSP_SCHEDULE_DELAY_MS") or bsp.get("scheduled_delay_millis")
        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=5),
                max_queue_size=bsp.get("max_queue_size"),
                max_export_batch_size=bsp.get("max_export_batch_size"),
                schedule_delay_millis=float(delay) if delay else None,
                export_timeout_millis=bsp.get("export_timeout_millis"),
            )
        )
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(propagator(list(tracing.get("propagators") or [])))
    tracer = tracing.get("tracer") or {}
    return trace.get_tracer(tracer.get("name", "mindweave-api"), tracer.get("version"))


def shutdown_tracing() -> None:
    """Flush what the batch processor holds (the seed's SIGTERM handler does the same)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()
