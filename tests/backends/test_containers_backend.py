"""The containers backend on a real Docker engine: host networking bound to 127.0.0.1,
removal on every exit path. That every suite gives the same outcomes on both backends is
.ci/run's step 3 (the whole gate on containers, compared test by test with the process run).

Needs a daemon (scripts/start-dockerd) and the images (eval "$(scripts/build-images)");
without them each test skips, which CI=true turns into a failure, as .ci/run starts both.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.refapp.fixtures import start_under_contract
from obsgate.services.build import services_cache
from obsgate.services.declaration import services_under_test
from obsgate.stack import alertmanager as am
from obsgate.stack import containers, crashes
from obsgate.stack import elasticsearch as es
from obsgate.stack import jaeger as jg
from obsgate.stack import kafka as kf
from obsgate.stack import prometheus as prom
from obsgate.stack import redis as rd
from obsgate.stack.backends import ContainersBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_group
from obsgate.stack.redis import ping
from obsgate.tools.versions_line import (
    ALERTMANAGER_VERSION,
    DEBIAN_VERSIONS,
    PROMETHEUS_VERSION,
    chosen_line,
)
from obsgate.wait import eventually
from tests.gate_subprocess import REPO_ROOT, clean_env, run_gate

# The images scripts/build-images exported (both --server-versions lines), for child runs.
IMAGE_ENVS = {k: v for k, v in os.environ.items() if k.startswith("OBS_") and k.endswith("_IMAGE")}


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    """A client of a daemon with every image present. Without one, a failure in one line:
    scripts/test starts the engine and builds the images, so a missing one is a fault."""
    reason = containers.unavailable_reason(containers.IMAGES)
    if reason:
        pytest.fail(
            f"the containers backend's self-tests need it (scripts/test sets it up): {reason}"
        )
    found = containers.docker_client()
    assert found is not None
    yield found
    found.close()


@pytest.fixture
def started(client: docker.DockerClient) -> Iterator[list[Endpoint]]:
    """Endpoints a test started itself; removed afterwards whatever the test did."""
    endpoints: list[Endpoint] = []
    yield endpoints
    for endpoint in endpoints:
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)


def kernel_address(hex_address: str) -> str:
    """An address as /proc/net/tcp or tcp6 prints it (32-bit words in host order); an
    IPv4-mapped IPv6 address (a JVM's socket on 127.0.0.1) as its IPv4 address."""
    words = [hex_address[i : i + 8] for i in range(0, len(hex_address), 8)]
    raw = b"".join(bytes.fromhex(word)[::-1] for word in words)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    address = ipaddress.IPv6Address(raw)
    return str(address.ipv4_mapped or address)


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port`, from /proc/net: with host
    networking a container's sockets are the host's."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path("/proc/net", table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(kernel_address(address))
    return found


def assert_on_loopback_host_network(client: docker.DockerClient, endpoint: Endpoint) -> None:
    container = client.containers.get(endpoint.container_id)
    assert container.attrs["HostConfig"]["NetworkMode"] == "host", container.attrs["HostConfig"]
    assert container.attrs["NetworkSettings"]["Ports"] in ({}, None)
    assert listening_addresses(endpoint.port) == {"127.0.0.1"}, endpoint.log_tail()


def test_three_services_serve_on_127_0_0_1_with_host_networking(
    client: docker.DockerClient, started: list[Endpoint], tmp_path: Path
) -> None:
    """Prometheus alerting to Alertmanager, and Redis: each in its container, answering on
    127.0.0.1 only, with Prometheus reaching Alertmanager over 127.0.0.1 too."""
    config = ObsConfig(REPO_ROOT / "fixtures" / "config" / "mindweave")
    am_config = {"route": {"receiver": "none"}, "receivers": [{"name": "none"}]}
    adapted = am.AdaptedConfig(config=am_config, source="test")
    started.append(am.start(ContainersBackend(), tmp_path / "am", adapted))
    prom_config = prom.write_live_config(config, 240.0, tmp_path / "prom", started[0])
    started.append(
        prom.start(
            ContainersBackend(), tmp_path / "prom", prom_config, factor=240.0, file_sd_dir=None
        )
    )
    started.append(rd.start(ContainersBackend(), tmp_path / "redis"))
    for endpoint in started:
        assert endpoint.backend == "containers"
        assert_on_loopback_host_network(client, endpoint)
    alertmanager, prometheus, redis = started
    # The chosen --server-versions line's: 0.35 and 3.16 (current), or 0.25 and 2.42 (debian).
    if chosen_line() == "current":
        am_version, prom_version = ALERTMANAGER_VERSION, PROMETHEUS_VERSION
    else:
        am_version, prom_version = DEBIAN_VERSIONS["alertmanager"], DEBIAN_VERSIONS["prometheus"]
    assert am_version in alertmanager.version and prom_version in prometheus.version, started
    assert ping(redis.port)
    url = f"{prometheus.url}/api/v1/alertmanagers"
    active = eventually(
        lambda: requests.get(url, timeout=5).json()["data"]["activeAlertmanagers"],
        timeout=30,
        what=f"Prometheus to discover an Alertmanager ({url})",
        interval=0.2,
    )
    assert active == [{"url": f"http://127.0.0.1:{alertmanager.port}/api/v2/alerts"}], active


def test_kafka_elasticsearch_jaeger_serve_on_127_0_0_1_with_host_networking(
    client: docker.DockerClient, started: list[Endpoint], tmp_path: Path
) -> None:
    """The JVM servers and Jaeger in their containers, at the process backend's versions,
    each listener on 127.0.0.1 only; Jaeger stores into the Elasticsearch container, so one
    container reaches another over 127.0.0.1 too."""
    started.append(kf.start(ContainersBackend(), tmp_path / "kafka"))
    started.append(es.start(ContainersBackend(), tmp_path / "elasticsearch"))
    kafka, elasticsearch = started
    started.append(
        jg.start(ContainersBackend(), tmp_path / "jaeger", elasticsearch_url=elasticsearch.url)
    )
    jaeger = started[2]
    for endpoint in started:
        assert endpoint.backend == "containers"
        assert_on_loopback_host_network(client, endpoint)
    assert listening_addresses(kafka.controller_port) == {"127.0.0.1"}
    for name in ("otlp_http", "otlp_grpc", "query_grpc"):
        port = int(getattr(jaeger, name).rsplit(":", 1)[1])
        assert listening_addresses(port) == {"127.0.0.1"}, (name, jaeger.log_tail())
    assert "Apache Kafka 4.4.0" in kafka.version, kafka.version
    assert "Elasticsearch 7.10.2" in elasticsearch.version, elasticsearch.version
    assert "v2.13.0" in jaeger.version, jaeger.version
    assert kf.brokers_in_metadata(kafka.port) == 1
    # Jaeger's query API reads its storage: it answers only if it reaches Elasticsearch.
    services = requests.get(f"{jaeger.url}/api/services", timeout=10)
    assert services.ok and "data" in services.json(), (services.text, jaeger.log_tail())
    assert jaeger.storage == elasticsearch.url


def test_the_node_services_run_in_the_node_image(
    client: docker.DockerClient, started: list[Endpoint], tmp_path: Path
) -> None:
    """MindWeave's gateway as its declaration says (`build: node`, no image of its own): in
    the Node image on the host network, its build and the config mounted read-only, its
    pino lines on stdout in the file the log shipper tails, as on the process backend."""
    services = services_under_test(ObsConfig(DEFAULT_CONFIG_DIR))
    started.append(rd.start(ContainersBackend(), tmp_path / "redis"))
    redis = started[0]
    wired = {"redis": f"redis://127.0.0.1:{redis.port}/0"}
    gateway = start_under_contract(
        services.gateway, tmp_path / "gateway", wired, backend=ContainersBackend()
    )
    started.append(gateway)
    assert gateway.backend == "containers" and gateway.image == containers.image_for("node")
    assert_on_loopback_host_network(client, gateway)
    mounts = client.containers.get(gateway.container_id).attrs["Mounts"]
    read_only = {m["Destination"] for m in mounts if not m["RW"]}
    assert str(DEFAULT_CONFIG_DIR) in read_only and str(services_cache()) in read_only, mounts
    assert requests.get(gateway.metrics_url, timeout=5).text.count("# TYPE ") > 5
    requests.get(f"{gateway.url}/health/ready", timeout=5).raise_for_status()
    lines = eventually(
        lambda: Path(gateway.app_log).read_text().splitlines(),
        timeout=10,
        what=f"the gateway's pino lines in {gateway.app_log}",
    )
    assert json.loads(lines[-1])["service"] == "api-gateway", lines[-3:]


def test_stopping_removes_the_container_and_keeps_its_log(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """The registry stops a service by SIGTERM to its endpoint's pid, the container's guard."""
    endpoint = rd.start(ContainersBackend(), tmp_path)
    assert endpoint.pid is not None
    stop_process_group(endpoint.pid)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(endpoint.container_id)
    assert "Ready to accept connections" in Path(str(endpoint.log_path)).read_text()


def test_a_container_killed_behind_the_gates_back_is_recorded_as_a_crash(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """As for a process: its guard records how it ended, where the plugin reads crashes;
    a container the gate stops (the test above) records nothing."""
    workdir = tmp_path / "redis"
    endpoint = rd.start(ContainersBackend(), workdir)
    try:
        client.containers.get(endpoint.container_id).kill()  # SIGKILL, not through the gate
        found = eventually(
            lambda: crashes.crashes(tmp_path), timeout=15, what="the crash record of redis"
        )
    finally:
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)
    (crash,) = found
    assert crash.name == "redis" and crash.status == -9, crash
    assert crash.describe().startswith("redis (container mindweave-gate-redis-"), crash
    assert "killed by SIGKILL" in crash.describe(), crash
    assert "Ready to accept connections" in crash.with_log()


def test_a_server_that_cannot_start_fails_with_its_log_and_leaves_no_container(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """A config Alertmanager rejects: a ServiceError naming the wait, with the log tail."""
    from obsgate.errors import ServiceError

    bad = {"route": {"receiver": "missing"}, "receivers": [{"name": "none"}]}
    with pytest.raises(ServiceError) as caught:
        am.start(ContainersBackend(), tmp_path, am.AdaptedConfig(config=bad, source="test"))
    message = str(caught.value)
    assert "alertmanager container" in message and "not ready" in message, message
    assert "undefined receiver" in message and "exit code: 1" in message, message
    leftover = client.api.containers(all=True, filters={"label": "mindweave-gate.service"})
    assert not [c for c in leftover if str(tmp_path) in str(c["Mounts"])], leftover


@contextlib.contextmanager
def armed_guard(
    client: docker.DockerClient, owner: int, name: str, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """container_guard.py for container `name` of `owner`, armed (its log in tmp_path/log,
    its exit report in tmp_path/exit.json); afterwards the guard and the container go."""
    script = Path(containers.__file__).with_name("container_guard.py")
    cmd = [sys.executable, str(script), str(owner), name, str(tmp_path / "log")]
    guard = subprocess.Popen(
        [*cmd, str(tmp_path / "exit.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert guard.stdout is not None and guard.stdout.readline().strip() == b"armed"
        yield guard
    finally:
        guard.kill()
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_container(name, force=True)


def test_the_guard_removes_a_container_created_after_its_owner_died(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """A create the owner sent just before it died can land after the guard's first
    `docker rm -f`: the guard keeps removing until the late-create grace is over."""
    owner = subprocess.Popen(["sleep", "60"])
    name = f"mindweave-gate-guard-test-{os.getpid()}"
    with armed_guard(client, owner.pid, name, tmp_path) as guard:
        owner.kill()
        owner.wait()
        time.sleep(2)  # the guard has seen its owner go and removed nothing yet
        client.api.create_container(containers.image_for("redis"), name=name)
        _, err = guard.communicate(timeout=70)  # the guard's bound: 60 s
        assert guard.returncode == 0, err.decode()
        assert not client.api.containers(all=True, filters={"name": name})


def test_the_guard_takes_a_created_container_for_one_about_to_start(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """Between create and start, `docker logs --follow` ends at once: a guard that followed
    then took the container for exited, reported a crash at 0 s and removed a server the
    run was starting (CI, under load). It waits for the start, then guards as ever."""
    name = f"mindweave-gate-guard-test-{os.getpid()}"
    report = tmp_path / "exit.json"
    with armed_guard(client, os.getpid(), name, tmp_path) as guard:
        client.api.create_container(containers.image_for("redis"), name=name)
        time.sleep(2)  # ten of the guard's looks at a created container
        assert guard.poll() is None and not report.exists(), report.read_text()
        client.api.start(name)
        eventually(
            lambda: "Ready to accept connections" in (tmp_path / "log").read_text(),
            timeout=30,
            what="the guard following the started container's log",
        )
        assert guard.poll() is None and not report.exists()
        assert client.api.inspect_container(name)["State"]["Running"]
        guard.terminate()  # the owner stopping the stack: the container goes
        _, err = guard.communicate(timeout=70)
        assert guard.returncode == 0, err.decode()
        assert not client.api.containers(all=True, filters={"name": name})


def gate_containers(client: docker.DockerClient, owner: int) -> list[str]:
    """Names of the containers a gate run with owner pid `owner` has, running or not."""
    label = f"{containers.OWNER_LABEL}={owner}"
    return [c["Names"][0] for c in client.api.containers(all=True, filters={"label": label})]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_an_interrupted_gate_run_leaves_no_container(
    client: docker.DockerClient, signum: signal.Signals, tmp_path: Path
) -> None:
    """Ctrl-C runs pytest's cleanup; SIGKILL runs none, and the guards must remove the
    containers on their own."""
    cmd = [sys.executable, "-m", "pytest", "suites/alerts", "-k", "live", "-q"]
    cmd += ["-p", "no:cacheprovider", "-o", "addopts=", "--stack", "containers"]
    cmd += ["--reports-dir", str(tmp_path)]
    stderr = tmp_path / "gate.stderr"  # the guards' too: they inherit it
    gate = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=clean_env(**IMAGE_ENVS),
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("wb"),
    )
    try:

        def all_up() -> bool:
            assert gate.poll() is None, "the gate run ended before its containers were up"
            return len(gate_containers(client, gate.pid)) >= 4

        eventually(all_up, timeout=60, what="the gate run's containers", interval=0.2)
        # Prometheus and Alertmanager at the base time scale, and the fast lane's pair
        assert len(gate_containers(client, gate.pid)) == 4, "two Prometheus, two Alertmanager"
    finally:
        gate.send_signal(signum)
        gate.wait(60)
    deadline = time.monotonic() + 20
    while gate_containers(client, gate.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    label = f"{containers.OWNER_LABEL}={gate.pid}"
    left = {
        c["Names"][0]: c["State"] for c in client.api.containers(all=True, filters={"label": label})
    }
    assert not left, f"still there 20 s after {signum.name}: {left}\n{stderr.read_text()[-2000:]}"


@pytest.mark.parametrize(
    ("service", "suite", "selection"),
    [
        ("alertmanager", "suites/inhibition", "semantics"),
        ("kafka", "suites/tracing", "kafka_hop"),
    ],
)
def test_missing_image_names_build_images(
    client: docker.DockerClient, service: str, suite: str, selection: str
) -> None:
    """One line naming the image and the script that builds it, and the run fails."""
    env_var = containers.IMAGES[service][0]
    absent = {env_var: "mindweave-gate/absent:0"}
    run = run_gate(
        "--stack",
        "containers",
        "-k",
        selection,
        suite=suite,
        env=clean_env(**{**IMAGE_ENVS, **absent}),
    )
    assert run.returncode != 0, run.describe()
    lines = [line for line in run.output.splitlines() if "mindweave-gate/absent:0" in line]
    assert lines and "scripts/build-images" in lines[0] and env_var in lines[0], run.describe()
    assert "Traceback" not in run.output, run.describe()


@pytest.mark.parametrize(
    ("images", "chosen"),
    [({}, "containers"), ({"OBS_JAEGER_IMAGE": "mindweave-gate/absent:0"}, "process")],
    ids=["all-images", "no-jaeger-image"],
)
def test_auto_picks_containers_only_with_every_image(
    client: docker.DockerClient, images: dict[str, str], chosen: str
) -> None:
    """`--stack auto` asks for the image of every server a run may start, Jaeger's too."""
    run = run_gate(
        "--stack",
        "auto",
        "--collect-only",
        "-v",  # against run_gate's -q: the header is printed
        suite="suites/tracing",
        env=clean_env(**{**IMAGE_ENVS, **images}),
    )
    assert run.returncode == 0, run.describe()
    assert f"stack: {chosen} (requested auto)" in run.output, run.describe()


def gate_container_names(client: docker.DockerClient) -> set[str]:
    """Every container of any gate run on this daemon, running or not."""
    found = client.api.containers(all=True, filters={"label": "mindweave-gate.service"})
    return {c["Names"][0].lstrip("/") for c in found}
