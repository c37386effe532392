"""The Node gateway as later suites use it, on real processes (Redis, the upstream stub and
the seed's TypeScript built with the glue): x-request-id echoed or made (the seed's
requestLogger), a fault scope passed on to the upstream stub, the request's log lines with
its request and trace ids, health probes untraced, and a bad body answered 400."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.refapp.fixtures import set_upstream_faults, start_under_contract, start_upstream
from obsgate.services.declaration import services_under_test
from obsgate.stack import redis as rd
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import AppEndpoint, Endpoint
from obsgate.stack.process import stop_process_group

CLAUDE_BODY = {"model": "m", "max_tokens": 8, "messages": [{"content": "hello there"}]}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEndpoint]:
    root = tmp_path_factory.mktemp("node-gateway")
    started: list[Endpoint] = []
    try:
        redis = rd.start(ProcessBackend(), root / "redis")
        started.append(redis)
        upstream = start_upstream(root / "upstream")
        started.append(upstream)
        wired = {"redis": f"redis://127.0.0.1:{redis.port}/0", "upstream": upstream.url}
        (root / "gateway").mkdir()
        gw = start_under_contract(
            services_under_test(ObsConfig(DEFAULT_CONFIG_DIR)).gateway, root / "gateway", wired
        )
        started.append(gw)
        yield replace(gw, upstream_control_url=f"{upstream.url}/control")
    finally:
        for endpoint in reversed(started):
            stop_process_group(endpoint.pid or 0)


def messages_url(gateway: AppEndpoint) -> str:
    return f"{gateway.url}/api/v1/orgs/{uuid.uuid4()}/projects/7/messages"


def log_lines(gateway: AppEndpoint) -> list[dict]:
    """The gateway's pino lines (its stdout also holds the SDK's plain start-up lines)."""
    lines = Path(gateway.app_log).read_text().splitlines()
    return [json.loads(x) for x in lines if x.startswith("{")]


def test_request_id_is_echoed_or_made(gateway: AppEndpoint) -> None:
    sent = requests.get(f"{gateway.url}/health/live", headers={"x-request-id": "rid-1"}, timeout=5)
    made = requests.get(f"{gateway.url}/health/live", timeout=5)
    assert sent.headers["x-request-id"] == "rid-1"
    assert uuid.UUID(made.headers["x-request-id"])


def test_fault_scope_reaches_the_upstream_through_the_gateway(gateway: AppEndpoint) -> None:
    set_upstream_faults(gateway, scope="gw-test", error_rate=1.0, error_status=503)
    try:
        scoped = requests.post(
            messages_url(gateway), json=CLAUDE_BODY, headers={"x-mw-fault-scope": "gw-test"},
            timeout=10,
        )  # fmt: skip
        plain = requests.post(messages_url(gateway), json=CLAUDE_BODY, timeout=10)
    finally:
        set_upstream_faults(gateway, scope="gw-test", error_rate=0.0)
    assert (scoped.status_code, plain.status_code) == (502, 200)


def lines_of(gateway: AppEndpoint, request_id: str, until_msg: str, timeout: float = 10.0) -> list:
    """The request's log lines, once `until_msg` is among them: the seed's requestLogger
    writes "request completed" on the response's finish, so the line may lag the reply."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [x for x in log_lines(gateway) if x.get("request_id") == request_id]
        if any(x.get("msg") == until_msg for x in mine) or time.monotonic() > deadline:
            return mine
        time.sleep(0.05)


def test_request_log_lines_carry_request_and_trace_ids(gateway: AppEndpoint) -> None:
    request_id = f"rid-{uuid.uuid4().hex}"
    requests.post(messages_url(gateway), json=CLAUDE_BODY, headers={"x-request-id": request_id},
                  timeout=10)  # fmt: skip
    mine = lines_of(gateway, request_id, "request completed")
    assert [x.get("msg") for x in mine if "msg" in x][:1] == ["incoming request"], mine
    assert mine[-1].get("msg") == "request completed", mine
    assert len({x.get("trace_id") for x in mine}) == 1 and len(mine[0]["trace_id"]) == 32, mine


def test_health_probe_lines_carry_no_trace_ids(gateway: AppEndpoint) -> None:
    request_id = f"rid-{uuid.uuid4().hex}"
    requests.get(f"{gateway.url}/health/ready", headers={"x-request-id": request_id}, timeout=5)
    mine = lines_of(gateway, request_id, "request completed")
    assert mine and not any("trace_id" in x for x in mine), mine


@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_a_body_that_is_no_json_object_is_a_400(gateway: AppEndpoint, body: str) -> None:
    resp = requests.post(
        messages_url(gateway), data=body, headers={"content-type": "application/json"}, timeout=10
    )
    assert resp.status_code == 400
