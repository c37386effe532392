"""`services:` of obs-gate.yaml: MindWeave's Node services read from the declaration, a
team's own declared as it keeps them, and each mistake one line at the manifest's line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import ConfigError
from obsgate.services.contract import NO_OTLP
from obsgate.services.declaration import check_services, services_declared, services_under_test
from obsgate.services.seed_edits import BSP_DELAY_ENV

OWN = {
    "gateway": {
        "name": "edge",
        "command": [sys.executable, "-m", "edge", "--port", "{port}"],
        "cwd": "app",
        "ready": "/healthz",
        "env": {"CONFIG": "{config}/edge.yaml"},
        "logs": "EDGE_LOG_FILE",
        "wiring": {"redis": "REDIS_URL", "upstream": "UPSTREAM"},
    },
    "usage_tracker": {
        "name": "meter",
        "command": [sys.executable, "-m", "meter"],
        "ready": "/ready",
        "metrics": "/internal/metrics",
        "otlp": "grpc",
        "wiring": {"otlp": "OTLP", "kafka": "BROKERS"},
        "image": "example/meter:1.2",
    },
}


def config_with(tmp_path: Path, services: object) -> ObsConfig:
    (tmp_path / "app").mkdir(exist_ok=True)
    text = "# the team's manifest\n" + yaml.safe_dump({"services": services}, sort_keys=False)
    (tmp_path / "obs-gate.yaml").write_text(text)
    return ObsConfig(tmp_path)


def test_mindweave_declares_its_node_services() -> None:
    """The seed's services come from MindWeave's own declaration: the compiled glue entry
    points under Node, the gate's span-delay env, and the Node image for containers."""
    services = services_under_test(ObsConfig(DEFAULT_CONFIG_DIR))
    assert services.kind == "node"
    gateway, tracker = services.gateway, services.usage_tracker
    assert (gateway.name, tracker.name) == ("api-gateway", "usage-tracker")
    assert gateway.argv[0] == "node" and Path(gateway.argv[1]).name == "main-gateway.js"
    assert Path(gateway.argv[1]).is_file() and Path(tracker.argv[1]).is_file()
    assert gateway.ready_path == "/health/ready" and tracker.ready_path == "/health"
    assert gateway.wiring["otlp"] == "OTEL_EXPORTER_OTLP_ENDPOINT" and gateway.otlp == "grpc"
    assert gateway.env[BSP_DELAY_ENV] == "200" and gateway.image == "node"
    _argv, env = gateway.command(4321, {"redis": "redis://127.0.0.1:1/0"})
    assert env["PORT"] == "4321" and env["MW_REDIS_URL"] == "redis://127.0.0.1:1/0"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == NO_OTLP  # no Jaeger: nothing leaves 127.0.0.1
    assert any("logger.ts" in change for change in services.changes)


def test_a_team_declares_its_own_services(tmp_path: Path) -> None:
    config = config_with(tmp_path, OWN)
    services = services_under_test(config)
    gateway, meter = services.gateway, services.usage_tracker
    assert services.kind == "declared" and services.changes == ()
    assert gateway.argv[-1] == "{port}" and gateway.cwd == (tmp_path / "app").resolve()
    assert gateway.env == {"CONFIG": f"{tmp_path}/edge.yaml"}  # no gate env of the Node build
    assert gateway.logs == "EDGE_LOG_FILE" and gateway.image == ""
    assert meter.metrics_path == "/internal/metrics" and meter.image == "example/meter:1.2"
    argv, env = gateway.command(8080, {"redis": "redis://r", "upstream": "http://u"})
    assert argv[-1] == "8080" and env["REDIS_URL"] == "redis://r" and env["UPSTREAM"] == "http://u"
    assert services_declared(config) is None


def test_a_config_without_services_is_not_applicable_there(tmp_path: Path) -> None:
    (tmp_path / "obs-gate.yaml").write_text("policy: {}\n")
    config = ObsConfig(tmp_path)
    assert services_declared(config) == "no services under test (services: in obs-gate.yaml)"
    check_services(config)  # nothing declared, nothing to refuse
    with pytest.raises(ConfigError, match="no services under test"):
        services_under_test(config)


def broken(path: str, value: object) -> dict:
    """OWN with one value replaced (`gateway.ready`), or removed (value None)."""
    out = yaml.safe_load(yaml.safe_dump(OWN))
    *parents, key = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    if value is None:
        del node[key]
    else:
        node[key] = value
    return out


@pytest.mark.parametrize(
    ("services", "message"),
    [
        (broken("gateway.ready", "healthz"), "gateway.ready 'healthz' is not a path"),
        (broken("gateway.command", "python -m edge"), "gateway.command is not a list"),
        (broken("gateway.ready", None), "gateway has no ready"),
        (broken("usage_tracker", None), "no usage_tracker declared"),
        (broken("gateway.port", 80), "unknown key 'port' in gateway"),
        (broken("gateway.wiring.jaeger", "J"), "unknown key 'jaeger' in gateway.wiring"),
        (broken("gateway.otlp", "thrift"), "gateway.otlp is 'thrift'"),
        (broken("gateway.env.URL", "http://{host}/"), "unknown placeholder {host}"),
        (broken("gateway.cwd", "nowhere"), "is not a dir"),
        (broken("usage_tracker.command", ["{build}/meter.js"]), "declare build: node"),
        ({**OWN, "build": "maven"}, "unknown build 'maven'"),
    ],
)
def test_a_wrong_declaration_names_its_line(tmp_path: Path, services: dict, message: str) -> None:
    """Refused before anything starts (preflight's check_services), at the manifest's line
    of the offending value, with what to write instead."""
    config = config_with(tmp_path, services)
    with pytest.raises(ConfigError) as caught:
        check_services(config)
    text = str(caught.value)
    assert message in text
    where, line = text.split(":")[:2]
    assert where == str(tmp_path / "obs-gate.yaml") and int(line) > 1
    lines = (tmp_path / "obs-gate.yaml").read_text().splitlines()
    key = message.split("'")[1] if "unknown key" in message else None
    if key:
        assert key in lines[int(line) - 1]
