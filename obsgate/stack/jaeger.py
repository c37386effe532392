"""Jaeger v2: OTLP in, query API out, every listener on 127.0.0.1; as a local process or
in a container (the image's entrypoint is the same binary, given the same config file,
written once by `write_config` into the run dir, which the container sees at that path).

The config follows cmd/jaeger/internal/all-in-one.yaml of the tag that
`scripts/install/jaeger.sh` builds, cut to what the gate uses. Every listener the binary
would otherwise open at a default port (OTLP 4317/4318, query 16686/16685, health 13133,
its own metrics 8888, some on all interfaces) gets a free 127.0.0.1 port instead, so it
neither leaves loopback nor collides with another service of the run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests
import yaml

from obsgate.errors import ToolMissing
from obsgate.stack.endpoint import JaegerEndpoint
from obsgate.stack.loopback import require_loopback
from obsgate.stack.process import free_port
from obsgate.stack.spec import Backend, Command, Readiness, ServerSpec, http_ok
from obsgate.tools import CACHE_BIN, find_binary

LISTENERS = ("query_http", "query_grpc", "otlp_grpc", "otlp_http", "health", "metrics")
STORE = "gate_store"


def jaeger_binary() -> str:
    """$JAEGER_BIN, PATH or the cache; Jaeger has no Debian package, so say how it is built."""
    try:
        return find_binary(["jaeger"], "JAEGER_BIN", "jaeger")
    except ToolMissing:
        if os.environ.get("JAEGER_BIN"):
            raise
        raise ToolMissing(
            f"jaeger (Jaeger v2) not found on PATH or in {CACHE_BIN}: run "
            "scripts/install-backends (it builds Jaeger with Go from the module proxy), "
            "or set JAEGER_BIN"
        ) from None


def storage_backend(elasticsearch_url: str | None) -> dict[str, Any]:
    """Memory by default; with an Elasticsearch URL, its indices under the prefix `mwgate`."""
    if elasticsearch_url is None:
        return {"memory": {"max_traces": 100000}}
    return {
        "elasticsearch": {
            "server_urls": [elasticsearch_url],
            "indices": {"index_prefix": "mwgate"},
        }
    }


def jaeger_config(ports: dict[str, int], elasticsearch_url: str | None = None) -> dict[str, Any]:
    """One pipeline, OTLP -> batch -> storage, and the query API reading the same store."""

    def at(name: str) -> str:
        return f"127.0.0.1:{ports[name]}"

    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                }
            },
            "telemetry": {
                "resource": {"service.name": "jaeger"},
                "metrics": {
                    "level": "basic",
                    "readers": [
                        {
                            "pull": {
                                "exporter": {
                                    "prometheus": {"host": "127.0.0.1", "port": ports["metrics"]}
                                }
                            }
                        }
                    ],
                },
                "logs": {"level": "info"},
            },
        },
        "extensions": {
            "jaeger_storage": {"backends": {STORE: storage_backend(elasticsearch_url)}},
            "jaeger_query": {
                "storage": {"traces": STORE},
                "http": {"endpoint": at("query_http")},
                "grpc": {"endpoint": at("query_grpc")},
                # On by default in v2: it would send Jaeger's own spans to localhost:4318,
                # which may be another service of the run.
                "enable_tracing": False,
            },
            # No `grpc` key: the gRPC health service stays off.
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": at("health")}},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": at("otlp_grpc")},
                    "http": {"endpoint": at("otlp_http")},
                }
            }
        },
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": STORE}},
    }


def query_answers(url: str) -> bool:
    """The query API serves from storage: /api/services answers `data`, null while empty."""
    response = requests.get(f"{url}/api/services", timeout=1)
    return response.ok and "data" in response.json()


def write_config(
    workdir: Path, elasticsearch_url: str | None = None
) -> tuple[dict[str, int], Path]:
    """Free 127.0.0.1 ports and the config on them, checked for non-loopback hosts and
    written into `workdir`: the one adaptation both backends run."""
    ports = {name: free_port() for name in LISTENERS}
    config = jaeger_config(ports, elasticsearch_url)
    require_loopback(config, "Jaeger", "obsgate/stack/jaeger.py")
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "jaeger.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return ports, config_path


def spec(workdir: Path, ports: dict[str, int], config_path: Path) -> ServerSpec:
    """Jaeger v2 with the config on `ports`: the binary, or the image whose entrypoint it is.
    Ready when its health check answers and the query API serves `data` (in a container,
    after the collector logs that everything is ready)."""
    health = f"http://127.0.0.1:{ports['health']}/status"
    query = f"http://127.0.0.1:{ports['query_http']}"
    args = ["--config", str(config_path)]
    return ServerSpec(
        service="jaeger",
        workdir=workdir,
        port=ports["query_http"],
        process=lambda: Command(argv=[jaeger_binary(), *args]),
        container=Command(argv=args),
        ready=Readiness(
            what=f"200 from {health}, then `data` from {query}/api/services",
            probe=lambda: http_ok(health)() and query_answers(query),
            log_line="Everything is ready",
        ),
    )


def start(backend: Backend, workdir: Path, elasticsearch_url: str | None = None) -> JaegerEndpoint:
    """Jaeger v2 on free 127.0.0.1 ports, storing in memory or in `elasticsearch_url`."""
    ports, config_path = write_config(workdir, elasticsearch_url)
    started = backend.start(spec(workdir, ports, config_path))
    return JaegerEndpoint.from_started(
        "jaeger",
        started,
        otlp_http=f"http://127.0.0.1:{ports['otlp_http']}",
        otlp_grpc=f"127.0.0.1:{ports['otlp_grpc']}",
        health=f"http://127.0.0.1:{ports['health']}/status",
        query_grpc=f"127.0.0.1:{ports['query_grpc']}",
        metrics=f"http://127.0.0.1:{ports['metrics']}/metrics",
        storage=elasticsearch_url or "memory",
        config=str(config_path),
    )
