"""Putting secrets where the app logs them: requests to the real gateway, and log events
through the app's logger. Each returns the Placements it made, with how to find its line."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from obsgate.redaction.events import EventLogger
from obsgate.redaction.logstore import Placement, new_secret
from obsgate.stack.endpoint import Endpoint

# Routes of the gateway that log part of the request body, with the key they log it under.
USAGE_ROUTE = "/api/v1/usage/events"  # the audit line logs the event's `details`
AUDIT_EVENT = "audit.action"
VIOLATION_EVENT = "policy.violation"  # a compliance warning logs the request's `context`


def traceparent(trace_id: str) -> dict[str, str]:
    """The W3C header that puts a request in trace `trace_id`. The seed's mixin writes the
    active trace id into every line, the event loggers' too: authLogger, auditLogger and
    governanceLogger are module-level, so their lines carry no request_id."""
    return {"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}


def post_logged_body(
    app: Endpoint, trace_id: str, route: str, nested: dict[str, Any], headers: dict[str, str]
) -> tuple[str, tuple[str, ...], str]:
    """POST `nested` where the gateway logs it, in trace `trace_id`: (channel, path prefix,
    event of the line)."""
    hdrs = {"x-request-id": uuid.uuid4().hex, **traceparent(trace_id), **headers}
    if route == "usage":
        body = {"org_id": str(uuid.uuid4()), "project_id": "42", "model": "claude-3-5-sonnet"}
        resp = requests.post(
            f"{app.url}{USAGE_ROUTE}", json={**body, "details": nested}, headers=hdrs, timeout=10
        )
        # 202, or 503 where the run has no Kafka: the audit line is written before either
        assert resp.status_code in (202, 503), f"{USAGE_ROUTE}: {resp.status_code} {resp.text}"
        return f"POST {USAGE_ROUTE} body", ("details",), AUDIT_EVENT
    org = uuid.uuid4()
    path = f"/api/v1/orgs/{org}/policies/evaluate"
    context = {"contains_pii": True, **nested}  # a compliance warning: the context is logged
    resp = requests.post(
        f"{app.url}{path}",
        json={"policy_type": "compliance", "context": context},
        headers=hdrs,
        timeout=10,
    )
    assert resp.status_code == 200 and resp.json() == {"result": "warn"}, resp.text
    return "POST /api/v1/orgs/:id/policies/evaluate body", ("context",), VIOLATION_EVENT


@dataclass(frozen=True, kw_only=True)
class RequestCase:
    """One request to `route` ("usage" or "policy"): a secret under each of `keys` one level
    into the body the gateway logs, and one in each of `headers`. `intent` is the redact
    path that covers a key, formatted with it."""

    route: str
    keys: Sequence[str]
    headers: Sequence[str]
    intent: str


def send_request_case(app: Endpoint, case: RequestCase) -> list[Placement]:
    """Secrets under the case's keys one level into the logged body, and in its headers;
    each line found again by its trace id."""
    secrets = {key: new_secret(key) for key in case.keys}
    header_secrets = {h: new_secret(h) for h in case.headers}
    header_values = {
        h: (f"Bearer {s}" if h == "authorization" else f"session={s}" if h == "cookie" else s)
        for h, s in header_secrets.items()
    }
    trace_id = uuid.uuid4().hex
    channel, prefix, event = post_logged_body(app, trace_id, case.route, secrets, header_values)
    locator = {"trace_id": trace_id, "event": event}
    out = [
        Placement(s, channel, (*prefix, k), case.intent.format(key=k), locator)
        for k, s in secrets.items()
    ]
    out += [
        Placement(s, "a request header", ("headers", h), f"header {h}", {})
        for h, s in header_secrets.items()
    ]
    return out


@dataclass(frozen=True, kw_only=True)
class EventCase:
    """One log call at `level`: `top` keys in the logged object, `bound` keys in a child
    binding, `(container, key)` one level down."""

    top: Sequence[str] = ()
    bound: Sequence[str] = ()
    nested: Sequence[tuple[str, str]] = ()
    level: str = "info"


def log_event_case(logger: EventLogger, case_id: str, case: EventCase) -> list[Placement]:
    """The case's log call, every value a fresh secret."""
    placements = []
    obj: dict[str, Any] = {"gate_case": case_id, "event": "gate.redaction"}
    bindings: dict[str, Any] = {}
    for key in case.top:
        placements.append(Placement(new_secret(key), "a log event", (key,), key))
        obj[key] = placements[-1].secret
    for key in case.bound:
        placements.append(Placement(new_secret(key), "a child logger's bindings", (key,), key))
        bindings[key] = placements[-1].secret
    for container, key in case.nested:
        secret = new_secret(key)
        placements.append(Placement(secret, "a log event", (container, key), f"*.{key}"))
        obj.setdefault(container, {"kind": container})[key] = secret
    (logger.child(bindings) if bindings else logger).log(case.level, obj, "gate redaction case")
    locator = {"gate_case": case_id}
    return [Placement(p.secret, p.channel, p.path, p.intent, locator) for p in placements]
