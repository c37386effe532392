"""Kafka and Elasticsearch in the process backend are the real servers the app suites need.

The tracing and redaction suites will trust them blindly, so here each one proves what they
rely on: a message produced to Kafka comes back to a consumer; a document sent through
Elasticsearch's _bulk API is found by _search; both listen on 127.0.0.1 only; a missing
install is one line naming the command to run; and a stop leaves no process behind.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import uuid
from pathlib import Path
from types import ModuleType

import pytest
import requests
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from obsgate.errors import ToolMissing
from obsgate.stack import elasticsearch as es
from obsgate.stack import kafka as kf
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_group
from obsgate.tools import run_tool

KAFKA_TIMEOUT = 30.0
INSTALL = Path(__file__).resolve().parents[2] / "scripts" / "install"
SERVICES: dict[str, ModuleType] = {"kafka": kf, "elasticsearch": es}


def group_pids(pgid: int) -> list[int]:
    """Every live process in a server's process group: the guard, the JVM, anything forked."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone while we looked
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def kernel_address(hex_addr: str) -> str:
    """An address as /proc/net/tcp{,6} writes it: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_addr)
    swapped = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, swapped)


def listening(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that one of `pids` holds."""
    inodes = set().union(*(socket_inodes(pid) for pid in pids))
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:
                address, port = local.split(":")
                found.add((kernel_address(address), int(port, 16)))
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)  # a JVM's IPv6 socket bound to 127.0.0.1
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


async def produce_and_consume(bootstrap: str, topic: str, value: bytes) -> list[bytes]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"gate")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=KAFKA_TIMEOUT * 1000, max_records=1)
    finally:
        await consumer.stop()
    return [record.value for records in batch.values() for record in records]


@pytest.mark.needs("kafka")
@pytest.mark.writes("produces to and consumes from its own topic")
def test_kafka_round_trips_a_message(kafka: Endpoint) -> None:
    """The Kafka hop of the tracing suite: what a producer sends, a consumer group reads."""
    assert kafka.scheme == "kafka" and kafka.host == "127.0.0.1", kafka
    assert kafka.version, kafka
    topic, value = f"gate-{uuid.uuid4().hex}", uuid.uuid4().hex.encode()
    received = asyncio.run(
        asyncio.wait_for(
            produce_and_consume(f"{kafka.host}:{kafka.port}", topic, value), 2 * KAFKA_TIMEOUT
        )
    )
    assert received == [value], f"topic {topic}: sent {value!r}\n{kafka.log_tail()}"


@pytest.mark.needs("elasticsearch")
@pytest.mark.writes("indexes a document into its own index")
def test_elasticsearch_bulk_then_search(elasticsearch: Endpoint) -> None:
    """The log store of the redaction suite: _bulk in, _search out, plain REST only."""
    assert elasticsearch.version, elasticsearch
    index, marker = f"gate-{uuid.uuid4().hex}", uuid.uuid4().hex
    lines = [{"index": {"_index": index}}, {"message": "hello from the gate", "marker": marker}]
    body = "".join(f"{requests.compat.json.dumps(line)}\n" for line in lines)
    bulk = requests.post(
        f"{elasticsearch.url}/_bulk?refresh=wait_for",
        data=body,
        headers={"Content-Type": "application/x-ndjson"},
        timeout=30,
    )
    assert bulk.ok and not bulk.json()["errors"], bulk.text
    search = requests.post(
        f"{elasticsearch.url}/{index}/_search",
        json={"query": {"term": {"marker.keyword": marker}}},
        timeout=30,
    )
    hits = search.json()["hits"]["hits"]
    assert [hit["_source"]["marker"] for hit in hits] == [marker], search.text


@pytest.mark.parametrize("service", SERVICES)
def test_server_listens_on_loopback_only(service: str, request: pytest.FixtureRequest) -> None:
    """Nothing leaves 127.0.0.1: no socket of the server's processes listens elsewhere."""
    endpoint: Endpoint = request.getfixturevalue(service)
    assert endpoint.pid, f"{service}: not a process of this run ({endpoint.backend})"
    sockets = listening(group_pids(endpoint.pid))
    assert ("127.0.0.1", endpoint.port) in {(a.removeprefix("::ffff:"), p) for a, p in sockets}
    exposed = sorted((a, p) for a, p in sockets if not is_loopback(a))
    assert not exposed, f"{service} listens beyond loopback on {exposed}"


@pytest.mark.parametrize("service", SERVICES)
def test_missing_install_is_one_line_naming_the_command(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = SERVICES[service]
    monkeypatch.setenv(module.LIB_ENV, str(tmp_path))  # an empty jar folder
    with pytest.raises(ToolMissing) as caught:
        module.start(ProcessBackend(), tmp_path / "work")
    message = str(caught.value)
    assert "\n" not in message, message
    assert "scripts/install-backends" in message and module.LIB_ENV in message, message


@pytest.mark.parametrize("service", SERVICES)
def test_stop_leaves_no_process_behind(service: str, tmp_path: Path) -> None:
    """A run's end stops the process group: the guard, the JVM and its port all go."""
    endpoint = SERVICES[service].start(ProcessBackend(), tmp_path)
    pids = group_pids(endpoint.pid)
    assert len(pids) >= 2, f"{service}: expected the guard and the JVM, found {pids}"
    stop_process_group(endpoint.pid)
    assert group_pids(endpoint.pid) == [], f"{service}: left running: {pids}"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", endpoint.port), timeout=2).close()


def test_elasticsearch_endpoint_follows_the_port_the_runner_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner moves on when its port is taken between our choice and its start."""
    chosen = next(p for p in iter(es.free_http_port, None) if p < es.HTTP_PORTS[-1])
    with socket.create_server(("127.0.0.1", chosen)):  # someone else got there first
        monkeypatch.setattr(es, "free_http_port", lambda: chosen)
        endpoint = es.start(ProcessBackend(), tmp_path)
    try:
        assert endpoint.port != chosen, endpoint
        assert requests.get(f"{endpoint.url}/_cluster/health", timeout=10).ok
    finally:
        stop_process_group(endpoint.pid)


@pytest.mark.parametrize("script", ["kafka.sh", "elasticsearch.sh"])
def test_install_script_second_run_fetches_nothing(script: str) -> None:
    """scripts/test runs install-backends every time: once installed, nothing is fetched."""
    first = run_tool(["bash", str(INSTALL / script)], timeout=600)
    assert first.ok, first.describe()
    again = run_tool(["bash", str(INSTALL / script)], timeout=60)
    assert again.ok and "nothing downloaded" in again.stdout, again.describe()
