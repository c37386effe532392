"""The gateway as later suites use it, on real processes (Redis, upstream stub, gateway):
x-request-id echoed or made, a fault scope passed on to the upstream stub, the seed's
request log lines with the request's ids, and a bad body answered 400."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from obsgate.config import DEFAULT_CONFIG_DIR
from obsgate.refapp.fixtures import set_upstream_faults, start_service
from obsgate.stack import redis as rd
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_group

CLAUDE_BODY = {"model": "m", "max_tokens": 8, "messages": [{"content": "hello there"}]}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    root = tmp_path_factory.mktemp("refapp")
    started: list[Endpoint] = []
    try:
        redis = rd.start(ProcessBackend(), root / "redis")
        started.append(redis)
        upstream = start_service("upstream", "upstream", root / "upstream", {}, "/health")
        started.append(upstream)
        env = {
            "MW_OBS_CONFIG_DIR": str(DEFAULT_CONFIG_DIR),
            "MW_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "MW_UPSTREAM_URL": upstream.url,
        }
        gw = start_service("api-gateway", "gateway", root / "gateway", env, "/health/ready")
        started.append(gw)
        yield replace(gw, upstream_control_url=f"{upstream.url}/control")
    finally:
        for endpoint in reversed(started):
            stop_process_group(endpoint.pid or 0)


def messages_url(gateway: Endpoint) -> str:
    return f"{gateway.url}/api/v1/orgs/{uuid.uuid4()}/projects/7/messages"


def test_request_id_is_echoed_or_made(gateway: Endpoint) -> None:
    sent = requests.get(f"{gateway.url}/health/live", headers={"x-request-id": "rid-1"}, timeout=5)
    made = requests.get(f"{gateway.url}/health/live", timeout=5)
    assert sent.headers["x-request-id"] == "rid-1"
    assert uuid.UUID(made.headers["x-request-id"])


def test_fault_scope_reaches_the_upstream_through_the_gateway(gateway: Endpoint) -> None:
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


def lines_of(gateway: Endpoint, request_id: str, until_msg: str, timeout: float = 10.0) -> list:
    """The request's log lines, once `until_msg` is among them: like pino-http, the gateway
    writes "request completed" after the response is sent, so the line may lag the reply."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(x) for x in Path(gateway.app_log).read_text().splitlines()]
        mine = [x for x in lines if x.get("request_id") == request_id]
        if any(x.get("msg") == until_msg for x in mine) or time.monotonic() > deadline:
            return mine
        time.sleep(0.05)


def test_request_log_lines_carry_request_and_trace_ids(gateway: Endpoint) -> None:
    request_id = f"rid-{uuid.uuid4().hex}"
    requests.post(messages_url(gateway), json=CLAUDE_BODY, headers={"x-request-id": request_id},
                  timeout=10)  # fmt: skip
    mine = lines_of(gateway, request_id, "request completed")
    assert [x.get("msg") for x in mine if "msg" in x] == ["incoming request", "request completed"]
    assert any(x.get("event") == "api.call" for x in mine)
    assert len({x["trace_id"] for x in mine}) == 1 and len(mine[0]["trace_id"]) == 32


def test_health_probe_lines_carry_no_trace_ids(gateway: Endpoint) -> None:
    request_id = f"rid-{uuid.uuid4().hex}"
    requests.get(f"{gateway.url}/health/ready", headers={"x-request-id": request_id}, timeout=5)
    lines = [json.loads(x) for x in Path(gateway.app_log).read_text().splitlines()]
    mine = [x for x in lines if x.get("request_id") == request_id]
    assert mine and not any("trace_id" in x for x in mine)


@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_a_body_that_is_no_json_object_is_a_400(gateway: Endpoint, body: str) -> None:
    resp = requests.post(messages_url(gateway), data=body, timeout=10)
    assert resp.status_code == 400
