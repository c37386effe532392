"""A team's own service in MindWeave's place, through its `services:` declaration alone: a
small Python HTTP service (not Node, no build), started in its declared working dir on the
gate's free port, wired to the run's Redis by the env variable it names, logging to the
file the gate gives it. Real process, real socket on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests
import yaml

from obsgate.config import ObsConfig
from obsgate.refapp.fixtures import start_under_contract
from obsgate.services.declaration import services_under_test
from obsgate.stack.process import stop_process_group

SERVICE = """
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Edge(BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.environ["EDGE_LOG"], "a") as log:
            log.write(json.dumps({"path": self.path, "cwd": os.getcwd(),
                                  "redis": os.environ.get("REDIS_URL"),
                                  "mode": os.environ.get("EDGE_MODE")}) + "\\n")
        body = b"edge_requests_total 1\\n" if self.path == "/internal/metrics" else b"ok"
        self.send_response(200 if self.path in ("/healthz", "/internal/metrics") else 404)
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", int(sys.argv[1])), Edge).serve_forever()
"""


def test_a_declared_python_service_starts_under_the_contract(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "edge").mkdir(parents=True)
    (root / "edge" / "edge.py").write_text(SERVICE)
    own = {
        "name": "edge",
        "command": [sys.executable, "edge.py", "{port}"],
        "cwd": "edge",
        "ready": "/healthz",
        "metrics": "/internal/metrics",
        "env": {"EDGE_MODE": "{config}/mode"},
        "logs": "EDGE_LOG",
        "wiring": {"redis": "REDIS_URL"},
    }
    manifest = {"services": {"gateway": own, "usage_tracker": {**own, "name": "meter"}}}
    (root / "obs-gate.yaml").write_text(yaml.safe_dump(manifest))
    services = services_under_test(ObsConfig(root))
    wired = {"redis": "redis://127.0.0.1:6390/2", "kafka": "127.0.0.1:9"}  # kafka: not wired
    edge = start_under_contract(services.gateway, tmp_path / "run", wired)
    try:
        assert requests.get(edge.metrics_url, timeout=5).text == "edge_requests_total 1\n"
        lines = [json.loads(line) for line in Path(edge.app_log).read_text().splitlines()]
    finally:
        assert edge.pid is not None
        stop_process_group(edge.pid)
    assert edge.app_log == str(tmp_path / "run" / "edge.jsonl")
    assert {line["path"] for line in lines} == {"/healthz", "/internal/metrics"}
    assert lines[-1] == {
        "path": "/internal/metrics",
        "cwd": str((root / "edge").resolve()),
        "redis": "redis://127.0.0.1:6390/2",
        "mode": f"{root.resolve()}/mode",
    }
