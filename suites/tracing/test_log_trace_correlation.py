"""Log-trace correlation (MW-ENG-071 3.2, logger.ts's mixin): every log line a request makes,
in the gateway and across Kafka in the usage-tracker, reaches Elasticsearch through the
seed's Fluent Bit config carrying the trace id Jaeger shows and the id of one of its spans."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from obsgate.config import ObsConfig
from obsgate.findings import declared_finding, judge
from obsgate.logship import LogShipper, ShipReport
from obsgate.logship.shipper import Line
from obsgate.stack.endpoint import Endpoint
from obsgate.tracing.fluentbit_enrich import added_variables, enrich
from obsgate.tracing.intent import TRACE_INTENT, TraceIntent
from obsgate.tracing.jaeger_query import JaegerQuery
from obsgate.tracing.log_search import any_of, app_log_lines, wait_for_logs
from obsgate.tracing.shape import usage_path_stored
from obsgate.tracing.traced_requests import Caller, message_request

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
            f"errors {shipped_logs.errors[-3:]}\nelasticsearch log:\n{elasticsearch.log_tail(10)}"
        )

    index = f"{shipped_logs.settings.index_prefix}-*"
    stored = wait_for_logs(elasticsearch.url, index, match, source, context=shipper_state)
    span_ids = {s.span_id for s in trace.spans}
    tid, sid = tracing_intent.trace_id_field, tracing_intent.span_id_field
    wrong = [d for d in stored if d.get(tid) != sent.trace_id or d.get(sid) not in span_ids]
    assert not wrong, (
        f"log lines in Elasticsearch without trace {sent.trace_id} or a span of it "
        f"({sorted(span_ids)}):\n"
        + "\n".join(f"    {json.dumps(d, default=str)[:400]}" for d in wrong)
    )


def test_line_as_fluent_bit_enriches_it_keeps_its_trace_in_the_store(
    caller: Caller,
    tracing_intent: TraceIntent,
    obs_config: ObsConfig,
    app_logs: dict[str, str],
    shipped_logs: LogShipper,
    elasticsearch: Endpoint,
) -> None:
    """The gate's shipper adds no Kubernetes fields; Fluent Bit does. The request's log line
    with the fields the config's filters add in the pods' namespace must still be stored,
    trace id and all (in a private index: a rejected mapping must not spoil the shared one)."""
    if not app_logs or not tracing_intent.pod_namespace:
        pytest.fail(f"needs the app's log files and pod_namespace in {TRACE_INTENT}")
    path, body, _ = message_request()
    sent = caller.traced("POST", path, body)
    assert sent.response.ok, f"POST {path}: {sent.response.status_code} {sent.response.text}"
    lines = app_log_lines(app_logs, any_of({"request_id": sent.request_id}))
    assert lines, f"no log line with request_id {sent.request_id} in {app_logs}"
    source = {k: v for k, v in lines[0].items() if k != "_file"}
    report = ShipReport()
    shipped = shipped_logs.record(
        Line(Path("app.log"), 1, json.dumps(source)), datetime.now(UTC), report
    )
    # Fluent Bit reads `${...}` from its environment once at start, not from the record
    # (fluentbit-record-field-as-env-var: unset, it does not start at all). The key
    # conflict does not depend on the value: give that environment the value the config
    # means, this line's own service.
    env = {name: str(source.get("service", "")) for name in added_variables(obs_config)}
    record = enrich(obs_config, shipped, tracing_intent.pod_namespace, env)
    index = f"gate-tracing-{uuid.uuid4().hex}"
    try:
        result = requests.post(
            f"{elasticsearch.url}/{index}/_doc?refresh=true", json=record, timeout=30
        )
        stored = result.json().get("_id") if result.ok else None
        error = "" if result.ok else result.json().get("error", {}).get("type", result.text)
        kept = stored and requests.get(
            f"{elasticsearch.url}/{index}/_doc/{stored}", timeout=10
        ).json().get("_source", {}).get(tracing_intent.trace_id_field)
    finally:
        requests.delete(f"{elasticsearch.url}/{index}", timeout=30)
    finding_id, _, text = (tracing_intent.enriched_line_finding or "").partition(": ")
    judge(
        holds=kept == sent.trace_id,
        observed=error,
        finding=declared_finding(obs_config, finding_id, text, "illegal_argument_exception"),
        failure="Elasticsearch did not keep the line as Fluent Bit would send it "
        f"({error or 'stored'}, trace id {kept!r}): {json.dumps(record)[:600]}\n"
        f"{result.text[:600]}",
    )
