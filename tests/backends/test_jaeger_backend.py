"""The process backend's Jaeger v2: a span sent the way the app sends it (OpenTelemetry SDK,
OTLP over HTTP) comes back from the query API whole; it listens on loopback only; it is
missing with one line naming the install command; and stopping it leaves no process."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import obsgate.tools
from obsgate.errors import GateError, ToolMissing
from obsgate.stack import jaeger as jg
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_group
from obsgate.wait import eventually

pytestmark = [pytest.mark.needs("jaeger"), pytest.mark.writes("exports spans into Jaeger")]
TRACE_WAIT = 20.0  # the batch processor flushes every 200 ms; the rest is a busy machine's slack
LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


def export_parent_and_child(endpoint: Endpoint, service: str) -> tuple[str, str, str]:
    """Record a parent and a child span with the SDK, export them over OTLP HTTP in one call.

    Returns (trace id, parent span id, child span id) in the hex the query API uses."""
    recorded = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(recorded))
    tracer = provider.get_tracer("gate.test_jaeger_backend")
    with (  # the second span starts inside the first: its child
        tracer.start_as_current_span("GET /api/usage") as parent,
        tracer.start_as_current_span(
            "redis INCR", attributes={"db.system": "redis", "usage.count": 3}
        ) as child,
    ):
        pass
    provider.shutdown()
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.otlp_http}/v1/traces", timeout=10)
    result = exporter.export(recorded.get_finished_spans())
    exporter.shutdown()
    assert result is SpanExportResult.SUCCESS, (
        f"OTLP HTTP export to {endpoint.otlp_http} failed\n{endpoint.log_tail()}"
    )
    pctx, cctx = parent.get_span_context(), child.get_span_context()
    return f"{pctx.trace_id:032x}", f"{pctx.span_id:016x}", f"{cctx.span_id:016x}"


def wait_for_trace(endpoint: Endpoint, trace_id: str, spans: int) -> dict[str, Any]:
    """The trace from /api/traces/{id} once it holds `spans` spans (404 until it is stored)."""
    url = f"{endpoint.url}/api/traces/{trace_id}"
    deadline = time.monotonic() + TRACE_WAIT
    seen = "nothing yet"
    while time.monotonic() < deadline:
        response = requests.get(url, timeout=2)
        seen = f"HTTP {response.status_code}: {response.text[:300]}"
        if response.ok:
            trace = response.json()["data"][0]
            if len(trace["spans"]) >= spans:
                return trace
        time.sleep(0.2)
    raise AssertionError(
        f"gave up after {TRACE_WAIT:g}s waiting for trace {trace_id} with {spans} spans at "
        f"{url}; last answer {seen}\n{endpoint.log_tail()}"
    )


def server_pid(guard_pid: int, timeout: float = 5.0) -> int:
    """The Jaeger process under the guard that ManagedProcess starts."""
    children = Path(f"/proc/{guard_pid}/task/{guard_pid}/children")
    pids = eventually(
        lambda: children.read_text().split(),
        timeout=timeout,
        what=f"a server child of guard {guard_pid}",
        interval=0.05,
    )
    return int(pids[0])


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket `pid` listens on, from its fds and /proc/net/tcp*."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = fd.readlink().name
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and inode in inodes:
                address, port = local.split(":")
                found.append((decode_address(address), int(port, 16)))
    return sorted(found)


def gone_within(pid: int, seconds: float) -> bool:
    """True once `pid` is gone (an orphaned server may take a moment to be reaped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False


def decode_address(hex_address: str) -> str:
    """/proc/net/tcp writes IPv4 as 8 little-endian hex digits; IPv6 as 32, shown raw."""
    if len(hex_address) == 8:
        return ".".join(str(b) for b in reversed(bytes.fromhex(hex_address)))
    return hex_address


def test_span_exported_over_otlp_http_is_served_by_the_query_api(jaeger: Endpoint) -> None:
    """Service name, span names, attributes and the parent link survive the round trip."""
    service = f"gate-jaeger-{uuid.uuid4().hex[:8]}"
    trace_id, parent_id, child_id = export_parent_and_child(jaeger, service)

    trace = wait_for_trace(jaeger, trace_id, spans=2)

    spans = {span["spanID"]: span for span in trace["spans"]}
    assert set(spans) == {parent_id, child_id}, trace
    parent, child = spans[parent_id], spans[child_id]
    assert trace["processes"][child["processID"]]["serviceName"] == service
    assert (parent["operationName"], child["operationName"]) == ("GET /api/usage", "redis INCR")
    tags = {tag["key"]: tag["value"] for tag in child["tags"]}
    assert tags["db.system"] == "redis" and tags["usage.count"] == 3, child["tags"]
    assert child["references"] == [
        {"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent_id}
    ]
    assert parent["references"] == []
    services = requests.get(f"{jaeger.url}/api/services", timeout=5).json()["data"]
    assert service in services


def test_every_listener_is_on_loopback_at_a_port_the_gate_chose(jaeger: Endpoint) -> None:
    """No default port (4317, 16686, 13133, 8888, ...) and no 0.0.0.0: only the config's own."""
    assert jaeger.pid is not None
    sockets = listening_sockets(server_pid(jaeger.pid))
    chosen = {jaeger.port} | {
        int(getattr(jaeger, name).rsplit(":", 1)[1].split("/")[0])
        for name in ("otlp_http", "otlp_grpc", "health", "query_grpc", "metrics")
    }
    assert {address for address, _ in sockets} == {"127.0.0.1"}, sockets
    assert {port for _, port in sockets} == chosen, sockets


def test_missing_binary_is_one_line_naming_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAEGER_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(obsgate.tools, "CACHE_BIN", tmp_path)
    with pytest.raises(ToolMissing, match="run scripts/install-backends") as caught:
        jg.start(ProcessBackend(), tmp_path / "jaeger")
    assert "\n" not in str(caught.value)


@pytest.mark.needs("jaeger", "elasticsearch")
def test_elasticsearch_storage_serves_what_it_stored(
    elasticsearch: Endpoint, tmp_path: Path
) -> None:
    """Storage beside memory, for traces kept with the logs: spans land in Elasticsearch
    indices under the prefix `mwgate` and come back through the query API."""
    jaeger = jg.start(ProcessBackend(), tmp_path, elasticsearch_url=elasticsearch.url)
    assert jaeger.pid is not None
    try:
        trace_id, _, _ = export_parent_and_child(jaeger, f"gate-es-{uuid.uuid4().hex[:8]}")
        assert len(wait_for_trace(jaeger, trace_id, spans=2)["spans"]) == 2
        search = requests.get(
            f"{elasticsearch.url}/mwgate-jaeger-span-*/_search",
            params={"q": f"traceID:{trace_id}"},
            timeout=10,
        ).json()
        assert search["hits"]["total"]["value"] == 2, search
    finally:
        stop_process_group(jaeger.pid)


def test_elasticsearch_storage_off_loopback_is_refused_before_start(tmp_path: Path) -> None:
    with pytest.raises(GateError, match=r"refusing to start Jaeger.*10\.0\.0\.9"):
        jg.start(ProcessBackend(), tmp_path, elasticsearch_url="http://10.0.0.9:9200")
    assert not (tmp_path / "jaeger.log").exists(), "nothing may start"


def test_stop_leaves_no_process_and_frees_its_ports(tmp_path: Path) -> None:
    endpoint = jg.start(ProcessBackend(), tmp_path)
    assert endpoint.pid is not None
    try:
        jaeger_pid = server_pid(endpoint.pid)
        ports = [port for _, port in listening_sockets(jaeger_pid)]
    finally:
        stop_process_group(endpoint.pid)
    for pid in (endpoint.pid, jaeger_pid):
        assert gone_within(pid, 3), f"process {pid} is still there after stop"
    for port in ports:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
