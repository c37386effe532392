"""A secret in a request path (a MindWeave API key, which the seed redacts in logs and
normalises out of labels) must not reach the trace store in clear."""

from __future__ import annotations

import secrets
import string
import time

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import declared_finding, judge
from obsgate.tracing.intent import TRACE_INTENT, TraceIntent
from obsgate.tracing.jaeger_query import JaegerQuery
from obsgate.tracing.shape import is_server
from obsgate.tracing.traced_requests import Caller

pytestmark = [
    pytest.mark.tracing,
    pytest.mark.needs("redis", "jaeger"),
    pytest.mark.writes("sends traced requests to the app, whose spans go into Jaeger"),
]
ALNUM = string.ascii_letters + string.digits


def test_api_key_in_path_stays_out_of_spans(
    caller: Caller, jaeger_query: JaegerQuery, tracing_intent: TraceIntent, obs_config: ObsConfig
) -> None:
    if not tracing_intent.secret_path:
        pytest.fail(f"{TRACE_INTENT} names no secret_in_path: nothing to check")
    # the seed's key shape, /mw_[a-z]+_[a-zA-Z0-9]+/ (normalizePath's /:key rule)
    key = "mw_gate_" + "".join(secrets.choice(ALNUM) for _ in range(20))
    path = tracing_intent.secret_path.replace("{key}", key)
    start = time.time()
    sent = caller.traced("GET", path)
    assert sent.response.ok, f"GET {path}: {sent.response.status_code} {sent.response.text}"
    gateway = tracing_intent.gateway
    trace = jaeger_query.wait_for_trace(
        sent.trace_id,
        f"the {gateway} server span of GET {path}",
        lambda t: bool(t.where(lambda s: is_server(s, gateway))),
        services=(gateway,),
        since=start,
    )
    leaks = sorted(
        {f"{s.name}: name" for s in trace.spans if key in s.name}
        | {k for s in trace.spans for k, v in s.tags.items() if key in str(v)}
    )
    finding_id, _, text = (tracing_intent.secret_finding or "").partition(": ")
    judge(
        holds=not leaks,
        observed=leaks,
        finding=declared_finding(
            obs_config, finding_id, text, sorted(tracing_intent.secret_finding_attributes)
        ),
        failure=f"the API key of GET {path} is in clear in Jaeger, in {leaks}:\n{trace.describe()}",
    )
