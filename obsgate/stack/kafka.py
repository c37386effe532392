"""Kafka: one KRaft node (controller and broker in one) from Apache Kafka's jars, its storage
formatted at start in a temp dir, bound to 127.0.0.1; as a local process or in a container.

Both backends run the same two commands (format the storage, then `kafka.Kafka
server.properties`) over the same files, written once by `write_node` into the run dir,
which a container sees at the same path; only where the jars are differs (the cache, or
/opt/kafka/libs in the image, as in the official apache/kafka image). Ready when the broker
answers a Metadata request listing itself: only then has it joined the quorum and been
unfenced, so a producer's first send succeeds.
"""

from __future__ import annotations

import base64
import re
import shlex
import socket
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

from obsgate.stack.endpoint import KafkaEndpoint
from obsgate.stack.jvm import jar_dir, java_argv, java_binary
from obsgate.stack.process import free_port
from obsgate.stack.spec import Backend, Command, Readiness, ServerSpec

LIB_ENV = "KAFKA_LIB_DIR"
HEAP = "384m"
START_TIMEOUT = 90.0
IMAGE_LIB = "/opt/kafka/libs"  # the jars in the image (the official image's layout)
METADATA = 3  # Kafka protocol api key; v4 is the oldest version Kafka 4 still serves
LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.kafka.name = org.apache.kafka
logger.kafka.level = warn
"""


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """A single KRaft node: replication factors of the internal topics are 1."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": (
            f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
        ),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def brokers_in_metadata(port: int) -> int:
    """How many brokers a Metadata v4 request to 127.0.0.1:`port` lists (raw Kafka protocol)."""
    client = b"obs-gate"
    header = struct.pack(">hhih", METADATA, 4, 1, len(client)) + client
    body = struct.pack(">ib", -1, 0)  # all topics (null array), no auto-creation
    request = header + body
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        reply = b""
        while len(reply) < 16:  # size, correlation id, throttle time, broker count
            chunk = sock.recv(4096)
            if not chunk:
                return 0
            reply += chunk
    _size, correlation, _throttle, brokers = struct.unpack(">iiii", reply[:16])
    return brokers if correlation == 1 else 0


@dataclass(frozen=True)
class KafkaNode:
    """The one adaptation both backends run: the ports chosen and the files written."""

    port: int
    controller_port: int
    properties: Path
    log4j: Path


def write_node(workdir: Path) -> KafkaNode:
    """Free 127.0.0.1 ports, server.properties and the Log4j2 config, in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, controller_port = free_port(), free_port()
    properties = workdir / "server.properties"
    properties.write_text(server_properties(workdir / "data", port, controller_port))
    log4j = workdir / "log4j2.properties"
    log4j.write_text(LOG4J2)
    return KafkaNode(port, controller_port, properties, log4j)


def format_argv(lib: Path | str, node: KafkaNode, java: str | None = None) -> list[str]:
    """Kafka refuses to start on unformatted KRaft storage: format it with a fresh cluster id."""
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    argv = java_argv(lib, "128m", "kafka.tools.StorageTool", java=java)
    return [
        *argv,
        "format",
        f"--cluster-id={cluster_id}",
        "-c",
        str(node.properties),
        "--standalone",
    ]


def server_argv(lib: Path | str, node: KafkaNode, java: str | None = None) -> list[str]:
    argv = java_argv(lib, HEAP, "kafka.Kafka", str(node.properties), java=java)
    argv.insert(1, f"-Dlog4j2.configurationFile={node.log4j}")
    return argv


def kafka_version(listing: str) -> str:
    """The version in the name of the broker's jar in a listing of the jar dir."""
    found = re.search(r"^kafka_2\.13-(.+)\.jar$", listing, re.MULTILINE)
    return f"Apache Kafka {found[1] if found else 'unknown version'} (KRaft)"


def start_script(lib: Path | str, node: KafkaNode, java: str) -> list[str]:
    """Format the storage (Kafka refuses unformatted KRaft storage), then exec the broker."""
    script = (
        f"{shlex.join(format_argv(lib, node, java))} && "
        f"exec {shlex.join(server_argv(lib, node, java))}"
    )
    return ["sh", "-c", script]


def spec(workdir: Path) -> ServerSpec:
    """The same two commands over the same files: from the cache's jars as a local process,
    from /opt/kafka/libs in the image. Ready when a Metadata request lists the broker (in a
    container, after it logs "Kafka Server started")."""
    node = write_node(workdir)

    def process() -> Command:
        lib = jar_dir("kafka", LIB_ENV, "kafka_2.13-*.jar")
        return Command(
            argv=start_script(lib, node, java_binary()),
            version_argv=["ls", str(lib)],
            parse_version=kafka_version,
        )

    metadata = f"a Metadata response from 127.0.0.1:{node.port} listing the broker"
    return ServerSpec(
        service="kafka",
        workdir=workdir,
        port=node.port,
        scheme="kafka",
        process=process,
        # `java` is on PATH in the offline image and in apache/kafka.
        container=Command(
            argv=start_script(IMAGE_LIB, node, "java"),
            version_argv=["ls", IMAGE_LIB],
            parse_version=kafka_version,
        ),
        ready=Readiness(
            what=metadata,
            probe=lambda: brokers_in_metadata(node.port) > 0,
            log_line="Kafka Server started",
            timeout=START_TIMEOUT,
        ),
    )


def start(backend: Backend, workdir: Path) -> KafkaEndpoint:
    started = backend.start(spec(workdir))
    properties = (workdir / "server.properties").read_text()
    controller = re.search(r"CONTROLLER://127\.0\.0\.1:(\d+)", properties)
    return KafkaEndpoint.from_started(
        "kafka",
        started,
        scheme="kafka",
        controller_port=int(controller[1]) if controller else 0,
    )
