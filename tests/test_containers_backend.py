"""The containers backend on a real Docker engine: host networking bound to 127.0.0.1,
removal on every exit path, and the same outcomes as the process backend.

Needs a daemon (scripts/start-dockerd) and the images (eval "$(scripts/build-images)");
without them each test skips, which CI=true turns into a failure, as .ci/run starts both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
import requests
from gate_subprocess import REPO_ROOT, clean_env, run_gate

from fixtures.config import ObsConfig
from fixtures.flake_check import outcomes
from fixtures.plugin import is_ci
from fixtures.stack import alertmanager as am
from fixtures.stack import containers
from fixtures.stack import prometheus as prom
from fixtures.stack import redis as rd
from fixtures.stack.endpoint import Endpoint
from fixtures.stack.process import stop_process_group
from fixtures.stack.redis import ping

SUITES = ("suites/alerts", "suites/routing", "suites/inhibition")
IMAGE_ENVS = {env: os.environ.get(env, "") for env, _ in containers.IMAGES.values()}


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    """A client of a daemon with every image present. Without one: in CI a failure (the
    containers backend must be proven there), locally a skip that says how to get them."""
    reason = containers.unavailable_reason(containers.IMAGES)
    if reason and is_ci():
        pytest.fail(f"CI=true needs the containers backend: {reason}")
    if reason:
        pytest.skip(reason)
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


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (IPv6 ones as "ipv6"), from
    /proc/net: with host networking a container's sockets are the host's."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path("/proc/net", table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            if table == "tcp6":
                found.add("ipv6")
            else:
                found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def assert_on_loopback_host_network(client: docker.DockerClient, endpoint: Endpoint) -> None:
    container = client.containers.get(endpoint.extras["container"])
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
    started.append(am.start_container(tmp_path / "am", am_config, "test"))
    prom_config = prom.write_live_config(config, 240.0, tmp_path / "prom", started[0])
    started.append(prom.start_container(tmp_path / "prom", prom_config, 240.0, {}))
    started.append(rd.start_container(tmp_path / "redis"))
    for endpoint in started:
        assert endpoint.backend == "containers"
        assert_on_loopback_host_network(client, endpoint)
    alertmanager, prometheus, redis = started
    assert "0.25" in alertmanager.version and "2.42" in prometheus.version, started
    assert ping(redis.port)
    deadline = time.monotonic() + 30
    active: list[object] = []
    while time.monotonic() < deadline and not active:
        url = f"{prometheus.url}/api/v1/alertmanagers"
        active = requests.get(url, timeout=5).json()["data"]["activeAlertmanagers"]
        time.sleep(0.2)
    assert active == [{"url": f"http://127.0.0.1:{alertmanager.port}/api/v2/alerts"}], active


def test_stopping_removes_the_container_and_keeps_its_log(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """The registry stops a service by SIGTERM to its endpoint's pid, the container's guard."""
    endpoint = rd.start_container(tmp_path)
    assert endpoint.pid is not None
    stop_process_group(endpoint.pid)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(endpoint.extras["container"])
    assert "Ready to accept connections" in Path(str(endpoint.log_path)).read_text()


def test_a_server_that_cannot_start_fails_with_its_log_and_leaves_no_container(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """A config Alertmanager rejects: a ServiceError naming the wait, with the log tail."""
    from fixtures.errors import ServiceError

    bad = {"route": {"receiver": "missing"}, "receivers": [{"name": "none"}]}
    with pytest.raises(ServiceError) as caught:
        am.start_container(tmp_path, bad, "test")
    message = str(caught.value)
    assert "alertmanager container" in message and "not ready" in message, message
    assert "undefined receiver" in message and "exit code: 1" in message, message
    leftover = client.api.containers(all=True, filters={"label": "mindweave-gate.service"})
    assert not [c for c in leftover if str(tmp_path) in str(c["Mounts"])], leftover


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
    gate = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=clean_env(**IMAGE_ENVS),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(gate_containers(client, gate.pid)) < 2 and time.monotonic() < deadline:
            assert gate.poll() is None, "the gate run ended before its containers were up"
            time.sleep(0.2)
        assert len(gate_containers(client, gate.pid)) == 2, "Prometheus and Alertmanager"
    finally:
        gate.send_signal(signum)
        gate.wait(60)
    deadline = time.monotonic() + 20
    while gate_containers(client, gate.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = gate_containers(client, gate.pid)
    assert not left, f"still there 20 s after {signum.name}: {left}"


def test_missing_image_names_build_images(client: docker.DockerClient) -> None:
    run = run_gate(
        "--stack",
        "containers",
        "-k",
        "semantics",
        suite="suites/inhibition",
        env=clean_env(**{**IMAGE_ENVS, "OBS_ALERTMANAGER_IMAGE": "mindweave-gate/absent:0"}),
    )
    assert run.returncode != 0, run.describe()
    lines = [line for line in run.output.splitlines() if "mindweave-gate/absent:0" in line]
    assert lines and "scripts/build-images" in lines[0], run.describe()


def test_suites_give_the_same_outcomes_on_containers_as_on_process(
    client: docker.DockerClient, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """The bar of issue 7: the same passes and the same strict xfails on both backends; the
    wall time of each run is printed and recorded (JUnit property gate_wall_<backend>_s)."""
    results, walls = {}, {}
    for backend in ("process", "containers"):
        junit = tmp_path / f"{backend}.xml"
        began = time.monotonic()
        run_gate(
            "--stack",
            backend,
            *SUITES[1:],
            junit=junit,
            env=clean_env(**IMAGE_ENVS),
            timeout=600,
            suite=SUITES[0],
        )
        walls[backend] = time.monotonic() - began
        record_property(f"gate_wall_{backend}_s", round(walls[backend], 1))
        results[backend] = outcomes(junit)
    timing = ", ".join(f"{backend} {seconds:.0f} s" for backend, seconds in walls.items())
    print(f"wall time of pytest {' '.join(SUITES)}: {timing}")
    process, on_containers = results["process"], results["containers"]
    assert process, "the process run produced no JUnit results"
    differ = {
        t: (process.get(t), on_containers.get(t))
        for t in process.keys() | on_containers.keys()
        if process.get(t) != on_containers.get(t)
    }
    listed = [f"{t}: process {p}, containers {c}" for t, (p, c) in sorted(differ.items())]
    assert not differ, "\n".join(listed)
    broken = [t for t, o in process.items() if o in ("failed", "error")]
    assert not broken, broken
