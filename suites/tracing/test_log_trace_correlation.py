"""Log-trace correlation (MW-ENG-071 3.2, logger.ts's mixin): every log line a request makes,
in the gateway and across Kafka in the usage-tracker, reaches Elasticsearch through the
seed's Fluent Bit config carrying the trace id Jaeger shows and the id of one of its spans."""

from __future__ import annotations

import json

import pytest

from fixtures.logship import LogShipper
from fixtures.stack.endpoint import Endpoint
from fixtures.tracing.intent import TraceIntent
from fixtures.tracing.jaeger_query import JaegerQuery
from fixtures.tracing.log_search import any_of, app_log_lines, wait_for_logs
from fixtures.tracing.shape import usage_path_stored
from fixtures.tracing.traced_requests import Caller, message_request

pytestmark = [
    pytest.mark.tracing,
    pytest.mark.needs("redis", "kafka", "jaeger", "elasticsearch"),
    pytest.mark.writes("sends traced requests and ships the app's log lines to Elasticsearch"),
]


def test_every_log_line_of_the_request_carries_its_trace(
    caller: Caller,
    jaeger_query: JaegerQuery,
    tracing_intent: TraceIntent,
    app_logs: dict[str, str],
    shipped_logs: LogShipper,
    elasticsearch: Endpoint,
) -> None:
    if not app_logs:
        pytest.fail("the app's log files are needed to know the request's lines (not --app-url)")
    path, body, ids = message_request()
    sent = caller.traced("POST", path, body)
    assert sent.response.ok, f"POST {path}: {sent.response.status_code} {sent.response.text}"
    tracker = tracing_intent.usage_tracker

    trace = jaeger_query.wait_for_trace(
        sent.trace_id,
        f"the server, producer and {tracker} consumer spans",
        lambda t: usage_path_stored(t, tracing_intent.gateway, tracker),
    )
    # the gateway's lines name the request id; the tracker's, across Kafka, the org
    match = {"request_id": sent.request_id, "org_id": ids["org"]}
    source = app_log_lines(app_logs, any_of(match))
    by_service = sorted({line["_file"] for line in source})
    assert by_service == sorted(app_logs), (
        f"the request logged in {by_service} only, expected lines from each of {sorted(app_logs)}"
    )

    def shipper_state() -> str:
        total = shipped_logs.total
        return (
            f"log shipper: {total.shipped} shipped, dropped {total.dropped[-5:]}, "
            f"errors {shipped_logs.errors[-3:]}"
        )

    index = f"{shipped_logs.settings.index_prefix}-*"
    stored = wait_for_logs(elasticsearch.url, index, match, source, shipper_state)
    span_ids = {s.span_id for s in trace.spans}
    tid, sid = tracing_intent.trace_id_field, tracing_intent.span_id_field
    wrong = [d for d in stored if d.get(tid) != sent.trace_id or d.get(sid) not in span_ids]
    assert not wrong, (
        f"log lines in Elasticsearch without trace {sent.trace_id} or a span of it "
        f"({sorted(span_ids)}):\n"
        + "\n".join(f"    {json.dumps(d, default=str)[:400]}" for d in wrong)
    )
