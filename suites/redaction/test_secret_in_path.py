"""A secret in a request's path (a MindWeave API key in /api/v1/api-keys/<key>/usage) reaches
no log field in clear: redact paths censor whole values by key, so only a serializer or a
pipeline filter that masks path segments can keep it out of `path`, `req.path`, `req.url`.
The request goes to the real services; what they logged is searched in the log store."""

from __future__ import annotations

import uuid

import pytest
import requests

from obsgate.applicability import not_applicable
from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.redaction.logstore import LogStore
from obsgate.stack.endpoint import Endpoint

from .conftest import RedactionIntent

pytestmark = [
    pytest.mark.redaction,
    pytest.mark.needs("elasticsearch"),
    pytest.mark.writes("ships the log lines of a request with a key in its path"),
]


def test_key_in_a_request_path_reaches_no_log_field(
    obs_config: ObsConfig,
    refapp: Endpoint,
    log_store: LogStore,
    redaction_intent: RedactionIntent,
) -> None:
    intent = redaction_intent.secret_in_path
    if not intent:
        not_applicable("the redaction intent names no secret_in_path")
    key = f"{intent['prefix']}{uuid.uuid4().hex}"
    path = intent["path"].replace("{key}", key)
    request_id = uuid.uuid4().hex
    resp = requests.get(f"{refapp.url}{path}", headers={"X-Request-Id": request_id}, timeout=10)
    assert resp.status_code < 500, f"GET {intent['path']}: {resp.status_code} {resp.text}"
    report = log_store.ship()
    assert not report.dropped, f"log lines were not stored: {report.dropped[:10]}"
    logged = log_store.docs("request_id", [request_id])
    assert logged, f"the request {request_id} was not logged, so this proves nothing"
    fields = log_store.fields_holding(key)
    judge(
        holds=not fields,
        finding=universal_finding(obs_config, "redact-api-key-in-path"),
        observed=fields,
        failure=f"the key in GET {intent['path']} is stored in clear in {sorted(fields)} "
        f"(found in {log_store.where([key]).get(key, [])[:6]})",
    )
