"""The seed's auth logging writes a hash of the email, never the address (hashEmail)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
import requests

from obsgate.redaction.logstore import LogStore, Placement, new_secret
from obsgate.redaction.senders import traceparent
from obsgate.stack.endpoint import Endpoint

from .conftest import RedactionIntent

pytestmark = [
    pytest.mark.redaction,
    pytest.mark.needs("elasticsearch"),
    pytest.mark.writes("ships login log lines into the log store"),
]


def expected_hash(email: str, spec: dict[str, object]) -> str:
    text = email.lower() if spec.get("lowercase") else email
    digest = hashlib.new(str(spec["algorithm"]), text.encode()).hexdigest()
    return digest[: int(spec["hex_chars"])]  # type: ignore[call-overload]


def distinct_lines(docs: list[dict[str, Any]], time_key: str) -> list[dict[str, Any]]:
    """One document per line the app wrote: a line that two shippers tailed (the tracing
    suite ships the same files in the background) is stored twice, differing only in the
    shipper's time key and the index."""
    seen: dict[str, dict[str, Any]] = {}
    for doc in docs:
        own = {k: v for k, v in doc.items() if k not in (time_key, "_index")}
        seen.setdefault(json.dumps(own, sort_keys=True), doc)
    return list(seen.values())


@pytest.mark.parametrize("outcome", ["success", "failed"])
def test_login_logs_the_email_hash_and_never_the_address(
    refapp: Endpoint, log_store: LogStore, redaction_intent: RedactionIntent, outcome: str
) -> None:
    spec = redaction_intent.email_hash
    local = f"Gate{uuid.uuid4().hex}"
    email = f"{local}@Example.COM"  # mixed case: the hash is of the lower-cased address
    password = new_secret("password") if outcome == "success" else ""
    trace_id = uuid.uuid4().hex  # authLogger's lines carry the trace id, no request_id
    resp = requests.post(
        f"{refapp.url}/api/v1/auth/login",
        json={"email": email, "password": password},
        headers=traceparent(trace_id),
        timeout=10,
    )
    assert resp.status_code == (200 if outcome == "success" else 401), resp.text
    report = log_store.ship()
    assert not report.dropped, report.dropped
    docs = [d for d in log_store.docs("trace_id", [trace_id]) if d.get("category") == "auth"]
    lines = distinct_lines(docs, log_store.settings.time_key)
    assert [d.get("event") for d in lines] == [f"login.{outcome}"], lines
    stored = lines[0].get(spec["field"])
    assert stored == expected_hash(email, spec), (
        f"{spec['field']} is {stored!r}; {spec['algorithm']} of the lower-cased address, "
        f"first {spec['hex_chars']} hex characters, is {expected_hash(email, spec)!r}"
    )
    channel = "POST /api/v1/auth/login body"
    placements = [
        Placement(email, channel, ("email",), "email"),
        Placement(local.lower(), channel, ("email",), "email (local part)"),
    ]
    if password:
        placements.append(Placement(password, channel, ("password",), "password"))
    log_store.assert_nowhere(placements)
