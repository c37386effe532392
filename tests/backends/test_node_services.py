"""The Node services' bad input, each one line: a service that exits before it is ready
(with its stderr tail), a seed module tsc refuses (file, line and the first error), a lock
file npm ci refuses (the module). Real node, npm and tsc; no registry is reached."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from obsgate.config import DEFAULT_CONFIG_DIR
from obsgate.errors import ConfigError, GateError, ServiceError
from obsgate.refapp.fixtures import start_under_contract
from obsgate.services.build import GLUE_DIR, build_services
from obsgate.services.contract import ServiceDef

pytestmark = pytest.mark.skipif(not shutil.which("npm"), reason="needs Node 20 and npm")


def test_a_service_that_exits_before_ready_is_one_line_with_its_stderr(tmp_path: Path) -> None:
    crash = ServiceDef(
        name="api-gateway",
        argv=("node", "-e", "console.error('cannot reach redis: ECONNREFUSED'); process.exit(3)"),
        ready_path="/health/ready",
    )
    with pytest.raises(ServiceError) as caught:
        start_under_contract(crash, tmp_path, {})
    first, *tail = str(caught.value).splitlines()
    assert first.startswith("api-gateway exited with status 3 before"), first
    assert any("cannot reach redis: ECONNREFUSED" in line for line in tail), tail


def config_copy(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR / "services", root / "services")
    return root


def test_a_seed_module_tsc_refuses_names_its_file_line_and_first_error(tmp_path: Path) -> None:
    root = config_copy(tmp_path)
    module = root / "services" / "src" / "metrics" / "instrumentation.ts"
    text = module.read_text(encoding="utf-8")
    module.write_text(
        text.replace("const startTime = Date.now();", "const startTime: string = Date.now();")
    )
    line = text[: text.index("const startTime = Date.now();")].count("\n") + 1
    with pytest.raises(ConfigError) as caught:
        build_services(root)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    # one added line above it: the listed type import
    assert f"seed/metrics/instrumentation.ts({line + 1}," in message, message
    assert "error TS2322" in message, message


def test_a_lock_npm_ci_refuses_names_the_module(tmp_path: Path) -> None:
    glue = tmp_path / "glue"
    shutil.copytree(GLUE_DIR, glue, ignore=shutil.ignore_patterns("node_modules", "build"))
    manifest = json.loads((glue / "package.json").read_text())
    manifest["dependencies"]["left-pad-not-in-the-lock"] = "1.3.0"
    (glue / "package.json").write_text(json.dumps(manifest))
    with pytest.raises(GateError) as caught:
        build_services(DEFAULT_CONFIG_DIR, glue=glue)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("npm ci of "), message
    assert "left-pad-not-in-the-lock" in message, message
