"""Elasticsearch: one node, data in a temp dir, bound to 127.0.0.1; as a local process or
in a container.

Both backends start it the same way: `bin/elasticsearch -E key=value ...` with the settings
of `node_settings`, the one adaptation. In the containers backend that is the image's own
bin/elasticsearch (the official image's, or the offline image's launcher); in the process
backend it is that same launcher (docker/elasticsearch/bin/elasticsearch), which runs
Elasticsearch 7.10.2 as one node of codelibs' cluster runner from the jars on Maven Central.

Suites use only the plain REST API (_bulk, _search), so the same tests serve a staging
cluster. Single-node discovery: the node never looks for peers on other hosts. Ready when
_cluster/health reaches yellow.
"""

from __future__ import annotations

import random
import re
import socket
from pathlib import Path

import requests

from obsgate.errors import ServiceError
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.jvm import jar_dir, java_binary
from obsgate.stack.spec import Backend, Command, Readiness, ServerSpec

LIB_ENV = "ELASTICSEARCH_LIB_DIR"
HEAP = "512m"
JAVA_OPTS = f"-Xms{HEAP} -Xmx{HEAP}"
START_TIMEOUT = 90.0
# The launcher both backends run: in the repo for the process backend, in the image for
# containers (the official image's path; the offline image puts its launcher there too).
LAUNCHER = (
    Path(__file__).resolve().parents[2] / "docker" / "elasticsearch" / "bin" / "elasticsearch"
)
IMAGE_LAUNCHER = "/usr/share/elasticsearch/bin/elasticsearch"
CLUSTER = "obs-gate"
# The runner takes the HTTP port as a base and only accepts ports up to 9299.
HTTP_PORTS = range(9201, 9300)
TRANSPORT_PORTS = "9300-9399"


def free_http_port() -> int:
    """A free 127.0.0.1 port in the runner's range (the server's bind is the real check)."""
    for port in random.sample(HTTP_PORTS, len(HTTP_PORTS)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ServiceError(f"elasticsearch: no free port on 127.0.0.1 in {HTTP_PORTS}")


def node_settings(workdir: Path, http_port: int) -> dict[str, str]:
    """Loopback only, one node that elects itself, no disk watermarks, data in `workdir`."""
    return {
        "cluster.name": CLUSTER,
        "network.host": "127.0.0.1",
        "http.port": str(http_port),
        # A range the node binds the first free port of, outside the ephemeral ports: a port
        # picked free and released here could be taken by a client socket before the JVM binds.
        "transport.port": TRANSPORT_PORTS,
        "discovery.type": "single-node",
        "cluster.routing.allocation.disk.threshold_enabled": "false",
        "action.auto_create_index": "true",
        "path.data": str(workdir / "data"),
        "path.logs": str(workdir / "logs"),
    }


def launcher_args(settings: dict[str, str]) -> list[str]:
    return [f"-E{key}={value}" for key, value in settings.items()]


def announced_http_port(log: Path, chosen: int) -> int:
    """The port the runner printed: it moves on to the next free one if `chosen` was taken."""
    found = re.search(r"^HTTP Port:\s+(\d+)$", log.read_text(errors="replace"), re.MULTILINE)
    return int(found[1]) if found else chosen


def cluster_is_up(url: str) -> bool:
    """Health answers 200 once the cluster is yellow or green (408 while it waits)."""
    return requests.get(f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=3).ok


def server_version(url: str) -> str:
    info = requests.get(url, timeout=5).json()
    return f"Elasticsearch {info['version']['number']}"


def spec(workdir: Path) -> ServerSpec:
    """The launcher with the node's settings: the repo's with the cache's jars as a local
    process, the image's own in a container. Ready when /_cluster/health is yellow or green
    at the port the runner announced (it moves on if the chosen one was taken)."""
    port = free_http_port()
    args = launcher_args(node_settings(workdir, port))
    log = workdir / "elasticsearch.log"  # both backends write the server's output there

    def process() -> Command:
        lib = jar_dir("elasticsearch", LIB_ENV, "elasticsearch-cluster-runner-*.jar")
        env = {"ES_LIB": str(lib), "JAVA": java_binary(), "ES_JAVA_OPTS": JAVA_OPTS}
        return Command(argv=["bash", str(LAUNCHER), *args], env=env)

    def url() -> str:
        return f"http://127.0.0.1:{announced_http_port(log, port)}"

    return ServerSpec(
        service="elasticsearch",
        workdir=workdir,
        port=port,
        process=process,
        container=Command(argv=[IMAGE_LAUNCHER, *args], env={"ES_JAVA_OPTS": JAVA_OPTS}),
        ready=Readiness(
            what=f"Elasticsearch to report yellow or green at 127.0.0.1:{port}/_cluster/health "
            "(or the port its log names after `HTTP Port:`)",
            probe=lambda: cluster_is_up(url()),
            # The runner's pattern layout, or the official image's JSON lines.
            log_line=r'(\] started$|"message": "started")',
            timeout=START_TIMEOUT,
        ),
        version_from_api=lambda: server_version(url()),
        port_after_ready=lambda: announced_http_port(log, port),
    )


def start(backend: Backend, workdir: Path) -> Endpoint:
    started = backend.start(spec(workdir))
    return Endpoint.from_started("elasticsearch", started)
