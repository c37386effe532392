"""The upstream stub's fault injection, which the load gate and the tracing suite rely on:
faults change at run time over HTTP, take effect on the next request, and bad settings are
refused. The stub runs as the real process the refapp fixture starts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from obsgate.refapp.fixtures import set_upstream_faults, start_upstream
from obsgate.stack.endpoint import AppEndpoint, Endpoint
from obsgate.stack.process import stop_process_group

CLAUDE_BODY = {"model": "m", "max_tokens": 8, "messages": [{"content": "hello there"}]}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    endpoint = start_upstream(tmp_path_factory.mktemp("upstream"))
    try:
        yield endpoint
    finally:
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)


def app_with(upstream: Endpoint) -> AppEndpoint:
    return AppEndpoint(
        service="api-gateway",
        host="127.0.0.1",
        port=1,
        backend="process",
        upstream_control_url=f"{upstream.url}/control",
    )


def test_healthy_by_default_with_usage(upstream: Endpoint) -> None:
    resp = requests.post(f"{upstream.url}/v1/messages", json=CLAUDE_BODY, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["usage"]["output_tokens"] == 8


def test_error_rate_one_fails_every_request_with_the_set_status(upstream: Endpoint) -> None:
    set_upstream_faults(app_with(upstream), error_rate=1.0, error_status=503)
    try:
        statuses = {
            requests.post(f"{upstream.url}/v1/messages", json=CLAUDE_BODY, timeout=10).status_code
            for _ in range(5)
        }
        tool = requests.post(f"{upstream.url}/mcp/tools/search", json={}, timeout=10)
        assert statuses == {503}
        assert tool.status_code == 503
    finally:
        set_upstream_faults(app_with(upstream), error_rate=0.0)


def test_error_rate_is_a_share_of_requests(upstream: Endpoint) -> None:
    requests.delete(f"{upstream.url}/control/stats", timeout=5)
    set_upstream_faults(app_with(upstream), error_rate=0.1)
    try:
        codes = [
            requests.post(f"{upstream.url}/mcp/tools/t", json={}, timeout=10).status_code
            for _ in range(400)
        ]
    finally:
        set_upstream_faults(app_with(upstream), error_rate=0.0)
    failed = sum(c >= 500 for c in codes)
    assert 15 <= failed <= 70, f"{failed} of 400 failed at error_rate 0.1"  # binomial, ~5 sd
    assert requests.get(f"{upstream.url}/control/stats", timeout=5).json() == {
        "requests": 400, "errors": failed}  # fmt: skip


def test_latency_applies_to_the_next_request(upstream: Endpoint) -> None:
    set_upstream_faults(app_with(upstream), latency_ms=400)
    try:
        start = time.monotonic()
        requests.post(f"{upstream.url}/v1/messages", json=CLAUDE_BODY, timeout=10)
        assert time.monotonic() - start >= 0.4
    finally:
        set_upstream_faults(app_with(upstream), latency_ms=0)


@pytest.mark.parametrize(
    "bad", [{"error_rate": 1.5}, {"latency_ms": -1}, {"error_status": 200}, {"jitter": 1}]
)
def test_bad_fault_settings_are_refused_and_change_nothing(upstream: Endpoint, bad: dict) -> None:
    before = requests.get(f"{upstream.url}/control/faults", timeout=5).json()
    resp = requests.put(f"{upstream.url}/control/faults", json=bad, timeout=5)
    assert resp.status_code == 400, resp.text
    assert requests.get(f"{upstream.url}/control/faults", timeout=5).json() == before


def test_scoped_faults_reach_only_their_scope(upstream: Endpoint) -> None:
    """A test's own faults (scope) fail its requests only; unscoped ones stay healthy."""
    set_upstream_faults(app_with(upstream), scope="t1", error_rate=1.0, error_status=502)
    try:
        mine = requests.post(
            f"{upstream.url}/v1/messages",
            json=CLAUDE_BODY,
            headers={"x-mw-fault-scope": "t1"},
            timeout=10,
        )
        other = requests.post(
            f"{upstream.url}/v1/messages",
            json=CLAUDE_BODY,
            headers={"x-mw-fault-scope": "t2"},
            timeout=10,
        )
        unscoped = requests.post(f"{upstream.url}/v1/messages", json=CLAUDE_BODY, timeout=10)
        assert (mine.status_code, other.status_code, unscoped.status_code) == (502, 200, 200)
    finally:
        set_upstream_faults(app_with(upstream), scope="t1", error_rate=0.0)
