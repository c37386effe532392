"""The limits of the seed's design, stated as tests: each secret below must not reach the
store. Where the config lets it through, the config's findings.yaml names the limit and pins
its evidence: which placements leak, and in which fields. Exactly those leaks are the
expected failure; one leak more or fewer, or any other failure, is a failure, and a config
that closes the gap turns the finding red until it is removed.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.redaction.events import EventLogger, LoggedError
from obsgate.redaction.logstore import LogStore, Placement, new_secret
from obsgate.redaction.senders import post_logged_body, traceparent
from obsgate.stack.endpoint import Endpoint

from .conftest import RedactionIntent

TRACKER_WAIT = 30.0  # Kafka delivery and the tracker's consume loop

pytestmark = [
    pytest.mark.redaction,
    pytest.mark.needs("elasticsearch"),
    pytest.mark.writes("ships test log lines with secrets into the log store"),
]


def shipped_and_nowhere(store: LogStore, placements: list[Placement]) -> None:
    report = store.ship()
    assert not report.dropped, f"log lines were not stored: {report.dropped[:10]}"
    store.assert_nowhere(placements)


def judged_leaks(
    store: LogStore, placements: list[Placement], config: ObsConfig, check_id: str
) -> None:
    """Ship what the app wrote, then judge the leaks against the finding `check_id` pins."""
    report = store.ship()
    assert not report.dropped, f"log lines were not stored: {report.dropped[:10]}"
    leaks = store.leaks(placements)
    judge(
        holds=not leaks,
        finding=universal_finding(config, check_id),
        observed=leaks,
        failure=f"{len(leaks)} of {len(placements)} secrets reached the log store:\n"
        + "\n".join(leaks),
    )


def test_secret_two_levels_down(
    obs_config: ObsConfig, refapp: Endpoint, log_store: LogStore
) -> None:
    """`details.user.password`: the `*.` paths reach one level below the top only."""
    placements = []
    for route in ("usage", "policy"):
        secret = new_secret("password")
        nested = {"user": {"password": secret}}
        channel, prefix, _ = post_logged_body(refapp, uuid.uuid4().hex, route, nested, {})
        placements.append(Placement(secret, channel, (*prefix, "user", "password"), "*.*.password"))
    judged_leaks(log_store, placements, obs_config, "redact-two-levels-down")


def test_sensitive_key_one_level_down_outside_the_wildcards(
    obs_config: ObsConfig,
    refapp: Endpoint,
    log_store: LogStore,
    redaction_intent: RedactionIntent,
) -> None:
    """`details.email`, `context.secret`: only password, token and api_key have `*.` paths."""
    keys = [k for k in redaction_intent.top_level() if k not in redaction_intent.one_level_down()]
    secrets = {k: new_secret(k) for k in keys}
    channel, prefix, _ = post_logged_body(refapp, uuid.uuid4().hex, "usage", secrets, {})
    placements = [Placement(s, channel, (*prefix, k), f"*.{k}") for k, s in secrets.items()]
    judged_leaks(log_store, placements, obs_config, "redact-sensitive-keys-one-level-down")


@pytest.mark.requires("node_build")  # runs the services' own pino logger
def test_secret_in_a_free_text_message(
    obs_config: ObsConfig,
    event_logger: EventLogger,
    log_store: LogStore,
) -> None:
    """A message is a string: no redact path ever looks inside one."""
    secret = new_secret("password")
    event_logger.warn({"gate_case": uuid.uuid4().hex}, f"login failed, password was {secret}")
    where = Placement(secret, "a log message", ("msg",), "msg")
    judged_leaks(log_store, [where], obs_config, "redact-free-text-message")


def test_secret_in_a_query_string(
    obs_config: ObsConfig, refapp: Endpoint, log_store: LogStore
) -> None:
    """`?token=...`: logged in `req.url` and parsed into `req.query`, two levels down."""
    token, password = new_secret("token"), new_secret("password")
    url = f"{refapp.url}/api/v1/api-keys/mw_test_{uuid.uuid4().hex[:8]}/usage"
    resp = requests.get(url, params={"token": token, "password": password}, timeout=10)
    assert resp.status_code == 200, resp.text
    channel = "GET /api/v1/api-keys/:key/usage query string"
    placements = [
        Placement(token, channel, ("req", "query", "token"), "query token"),
        Placement(password, channel, ("req", "query", "password"), "query password"),
    ]
    judged_leaks(log_store, placements, obs_config, "redact-query-string")


@pytest.mark.requires("node_build")  # runs the services' own pino logger
def test_secret_in_an_error_stack_trace(
    obs_config: ObsConfig,
    event_logger: EventLogger,
    log_store: LogStore,
) -> None:
    """An exception's text carries the value that broke it, and pino's err serializer
    writes it twice, in `err.message` and `err.stack`: strings no path looks inside."""
    secret = new_secret("apikey")
    error = LoggedError(f"cannot use api key {secret}")
    event_logger.error({"err": error, "gate_case": uuid.uuid4().hex}, "call failed")
    where = Placement(secret, "a logged error", ("err", "stack"), "err.message/err.stack")
    judged_leaks(log_store, [where], obs_config, "redact-stack-trace")


@pytest.mark.needs("kafka")
def test_secret_in_the_stack_trace_of_a_dropped_usage_event(
    obs_config: ObsConfig, refapp: Endpoint, log_store: LogStore
) -> None:
    """The real usage-tracker drops an event it cannot count and logs the error: a key sent
    where a token count belongs must not reach `err` (the error's message and stack)."""
    assert refapp.kafka_topic, f"the app under test has no usage-tracker: {refapp}"
    secret, trace_id = new_secret("apikey"), uuid.uuid4().hex
    event = {"org_id": str(uuid.uuid4()), "project_id": "42", "model": "claude-3-5-sonnet"}
    resp = requests.post(
        f"{refapp.url}/api/v1/usage/events",
        json={**event, "input_tokens": secret},
        headers=traceparent(trace_id),
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    dropped = wait_for_line_in_trace(log_store, trace_id, "usage event dropped")
    assert dropped.get("err"), f"the tracker logged the drop without the error: {dropped}"
    where = Placement(secret, "a usage event the tracker fails to count", ("err",), "err")
    log_store.assert_nowhere([where])


def wait_for_line_in_trace(store: LogStore, trace_id: str, msg: str) -> dict[str, object]:
    """The line `msg` of trace `trace_id`, which Kafka carries to the tracker (bounded wait)."""
    deadline = time.monotonic() + TRACKER_WAIT
    while True:
        store.ship()
        lines = [d for d in store.docs("trace_id", [trace_id]) if d.get("msg") == msg]
        if lines:
            return lines[0]
        assert time.monotonic() < deadline, (
            f"no {msg!r} line in trace {trace_id} after {TRACKER_WAIT:.0f}s: the "
            "usage-tracker did not log dropping the event"
        )
        time.sleep(0.5)


@pytest.mark.requires("node_build")  # runs the services' own pino logger
def test_top_level_key_of_other_casing(
    obs_config: ObsConfig,
    event_logger: EventLogger,
    refapp: Endpoint,
    log_store: LogStore,
) -> None:
    """`Password`, `API_KEY`: pino's paths are exact-case keys."""
    keys = ["Password", "Token", "API_KEY", "Email"]
    obj = {k: new_secret(k) for k in keys}
    event_logger.info({"gate_case": uuid.uuid4().hex, **obj}, "gate casing case")
    placements = [Placement(s, "a log event", (k,), k) for k, s in obj.items()]
    nested = {"Password": new_secret("password")}
    channel, prefix, _ = post_logged_body(refapp, uuid.uuid4().hex, "usage", nested, {})
    placements.append(Placement(nested["Password"], channel, (*prefix, "Password"), "*.Password"))
    judged_leaks(log_store, placements, obs_config, "redact-key-casing")


def test_header_of_other_casing_is_never_logged(refapp: Endpoint, log_store: LogStore) -> None:
    """`X-Api-Key`, `Authorization`: the req serializer keeps three named headers only."""
    headers = {"X-Api-Key": new_secret("xapikey"), "Authorization": new_secret("auth")}
    sent = {k: f"Bearer {v}" if k == "Authorization" else v for k, v in headers.items()}
    request_id = uuid.uuid4().hex
    resp = requests.get(
        f"{refapp.url}/health/live", headers={**sent, "X-Request-Id": request_id}, timeout=10
    )
    assert resp.status_code == 200
    placements = [Placement(s, "a request header", ("headers", h), h) for h, s in headers.items()]
    shipped_and_nowhere(log_store, placements)
    logged = [d for d in log_store.docs("request_id", [request_id]) if "req" in d]
    assert logged, f"the request {request_id} was not logged, so this proves nothing"
