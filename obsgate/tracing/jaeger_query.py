"""Jaeger's query API as the tracing suite reads it: a trace by id, spans by service since a
time, and bounded waits that, on timeout, say what they waited for and what Jaeger had.

Spans come from `/api/traces/{id}` (Jaeger's JSON model): OpenTelemetry's span kind,
status and resource arrive there as the tags `span.kind`, `otel.status_code` and the
process tags, events as span logs. A span exported but not yet stored reads as absent,
so every read of something that must appear is a wait, never a single look.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from obsgate.stack.endpoint import Endpoint

TRACE_WAIT = 20.0  # batch delay 200 ms + Jaeger's batch processor + a busy 2-core machine
POLL = 0.25


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    name: str
    service: str
    parents: tuple[str, ...]  # CHILD_OF references, as span ids
    tags: dict[str, Any]
    events: tuple[dict[str, Any], ...]
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.tags.get("span.kind", "internal"))

    @property
    def status(self) -> str:
        return str(self.tags.get("otel.status_code", "UNSET"))

    @property
    def parent(self) -> str | None:
        return self.parents[0] if self.parents else None

    def describe(self) -> str:
        parent = f"child of {self.parent}" if self.parent else "root"
        return f"{self.service}: {self.name!r} [{self.kind}, {self.status}] {self.span_id} {parent}"


@dataclass(frozen=True)
class Trace:
    trace_id: str
    spans: tuple[Span, ...]

    def span(self, span_id: str) -> Span | None:
        return next((s for s in self.spans if s.span_id == span_id), None)

    def where(self, predicate: Callable[[Span], bool]) -> list[Span]:
        return [s for s in self.spans if predicate(s)]

    def children(self, span: Span) -> list[Span]:
        return [s for s in self.spans if span.span_id in s.parents]

    def describe(self) -> str:
        """The spans as an indented tree, orphans (parent not in the trace) at the top."""
        ids = {s.span_id for s in self.spans}
        lines: list[str] = []

        def walk(span: Span, depth: int) -> None:
            lines.append("    " + "  " * depth + span.describe())
            for child in self.children(span):
                walk(child, depth + 1)

        for top in [s for s in self.spans if not (set(s.parents) & ids)]:
            walk(top, 0)
        return "\n".join(lines)


def parse_trace(data: dict[str, Any]) -> Trace:
    """One element of /api/traces' `data` as a Trace."""
    processes = data.get("processes", {})
    spans = []
    for raw in data.get("spans", []):
        process = processes.get(raw.get("processID"), {})
        spans.append(
            Span(
                trace_id=raw["traceID"],
                span_id=raw["spanID"],
                name=raw["operationName"],
                service=process.get("serviceName", "?"),
                parents=tuple(
                    r["spanID"] for r in raw.get("references", []) if r["refType"] == "CHILD_OF"
                ),
                tags={t["key"]: t["value"] for t in raw.get("tags", [])},
                events=tuple(
                    {f["key"]: f["value"] for f in log.get("fields", [])}
                    for log in raw.get("logs", [])
                ),
                resource={t["key"]: t["value"] for t in process.get("tags", [])},
            )
        )
    return Trace(data.get("traceID", spans[0].trace_id if spans else ""), tuple(spans))


class JaegerQuery:
    """Reads Jaeger's query API; `context()` adds the service log tails to a failure."""

    def __init__(self, jaeger: Endpoint, context: Callable[[], str] = lambda: ""):
        self.jaeger = jaeger
        self.context = context

    def trace(self, trace_id: str) -> Trace | None:
        """The stored trace, or None while Jaeger has no span of it (HTTP 404)."""
        response = requests.get(f"{self.jaeger.url}/api/traces/{trace_id}", timeout=5)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        data = response.json().get("data") or []
        return parse_trace(data[0]) if data else None

    def spans_since(self, service: str, start: float, limit: int = 500) -> list[Span]:
        """Every stored span of `service` in traces that started at or after `start` (epoch s)."""
        params = {
            "service": service,
            "start": int(start * 1_000_000),
            "end": int((time.time() + 60) * 1_000_000),
            "limit": limit,
        }
        response = requests.get(f"{self.jaeger.url}/api/traces", params=params, timeout=10)
        response.raise_for_status()
        traces = [parse_trace(t) for t in response.json().get("data") or []]
        return [s for t in traces for s in t.spans if s.service == service]

    def recent(self, services: list[str], start: float) -> str:
        """What Jaeger holds for `services` since `start`, for a failure message."""
        lines = []
        for service in services:
            try:
                spans = self.spans_since(service, start, limit=50)
            except requests.RequestException as exc:
                lines.append(f"    {service}: query failed: {exc}")
                continue
            lines.append(f"    {service}: {len(spans)} span(s) since the test began")
            lines += [f"      trace {s.trace_id}: {s.describe()}" for s in spans[-15:]]
        return "\n".join(lines)

    def wait_for_trace(
        self,
        trace_id: str,
        what: str,
        done: Callable[[Trace], bool],
        *,
        services: tuple[str, ...] = (),
        since: float | None = None,
    ) -> Trace:
        """Poll until trace `trace_id` satisfies `done`; AssertionError naming `what` if not
        (with the spans of `services` since `since`, if given)."""
        timeout = TRACE_WAIT
        deadline = time.monotonic() + timeout
        trace = None
        while True:
            trace = self.trace(trace_id)
            if trace is not None and done(trace):
                return trace
            if time.monotonic() > deadline:
                break
            time.sleep(POLL)
        raise AssertionError(
            f"gave up after {timeout:g}s waiting for {what} in trace {trace_id} at "
            f"{self.jaeger.url}/api/traces/{trace_id}\n"
            + self.explain(trace, trace_id, services, since)
        )

    def wait_for_span(
        self, service: str, since: float, what: str, match: Callable[[Span], bool]
    ) -> Span:
        """Poll the spans of `service` since `since` until one matches, whatever its trace."""
        deadline = time.monotonic() + TRACE_WAIT
        while True:
            found = [s for s in self.spans_since(service, since) if match(s)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"gave up after {TRACE_WAIT:g}s waiting for {what} among the {service} "
                    f"spans at {self.jaeger.url}\n{self.recent([service], since)}\n"
                    f"{self.context()}"
                )
            time.sleep(POLL)

    def explain(
        self,
        trace: Trace | None,
        trace_id: str,
        services: tuple[str, ...] = (),
        since: float | None = None,
    ) -> str:
        """What Jaeger has: the trace's spans, other recent spans, the service log tails."""
        had = trace.describe() if trace else "    (no span with this trace id)"
        out = f"Jaeger has for trace {trace_id}:\n{had}\n"
        if services and since is not None:
            out += f"recent spans elsewhere:\n{self.recent(list(services), since)}\n"
        return out + f"jaeger log:\n{self.jaeger.log_tail(15)}\n{self.context()}"
