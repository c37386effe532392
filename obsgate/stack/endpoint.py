"""What a test sees of a server: where it answers, its log, and a small client; never how
it runs. One typed endpoint per kind of server, in the shape of testcontainers' modules'
`get_client()`: the fields a test needs are attributes, not keys of a dict.

Endpoints cross process boundaries (pytest-xdist workers read them from the run dir), so
each is JSON with its kind.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import requests

from obsgate.errors import ServiceError
from obsgate.stack.process import log_tail

if TYPE_CHECKING:
    from obsgate.stack.spec import Started


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """A running service: host and port on 127.0.0.1 (or a staging URL), its backend, its
    log, and the pid to stop (the process, or its container's guard)."""

    kinds: ClassVar[dict[str, type[Endpoint]]] = {}

    service: str
    host: str
    port: int
    backend: str
    scheme: str = "http"
    version: str = ""
    log_path: str | None = None
    pid: int | None = None
    container_id: str = ""
    image: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Endpoint.kinds[cls.__name__] = cls

    @classmethod
    def from_started(cls, service: str, started: Started, **fields: Any) -> Self:
        """The endpoint of a server a backend started on 127.0.0.1, with its kind's fields."""
        return cls(
            service=service,
            host="127.0.0.1",
            port=started.port,
            backend=started.backend,
            version=started.version,
            log_path=str(started.log_path),
            pid=started.pid,
            container_id=started.container_id,
            image=started.image,
            **fields,
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(Path(self.log_path) if self.log_path else None, lines)

    def to_json(self) -> str:
        return json.dumps({"kind": type(self).__name__, **dataclasses.asdict(self)})

    @staticmethod
    def from_json(text: str) -> Endpoint:
        data = json.loads(text)
        kind = Endpoint.kinds.get(data.pop("kind", "Endpoint"), Endpoint)
        for name, value in data.items():
            if isinstance(value, list):
                data[name] = tuple(value)
        return kind(**data)


Endpoint.kinds["Endpoint"] = Endpoint


@dataclass(frozen=True, kw_only=True)
class PrometheusEndpoint(Endpoint):
    """Prometheus' HTTP API. `file_sd_dir`: where test targets are written (the gate's own
    Prometheus); `time_scale`: the factor its rules were scaled by (1 on staging)."""

    file_sd_dir: str = ""
    time_scale: float = 1.0
    config: str = ""

    def api(self, path: str, timeout: float = 10, **params: Any) -> Any:
        """GET /api/v1/<path>; its `data`, or a ServiceError with Prometheus' own error."""
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=timeout)
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if not response.ok or body.get("status") != "success":
            raise ServiceError(
                f"prometheus {self.url}/api/v1/{path} {params}: HTTP {response.status_code}: "
                f"{body.get('error') or response.text[:300]}"
            )
        return body["data"]

    def query(self, expr: str, timeout: float = 10, **params: Any) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        return self.api("query", timeout=timeout, query=expr, **params)["result"]

    def alerts(self, timeout: float = 10) -> list[dict[str, Any]]:
        return self.api("alerts", timeout=timeout)["alerts"]

    def rule_groups(self, timeout: float = 10, **params: Any) -> list[dict[str, Any]]:
        return self.api("rules", timeout=timeout, **params)["groups"]


@dataclass(frozen=True, kw_only=True)
class AlertmanagerEndpoint(Endpoint):
    """Alertmanager; `config` is the adapted file it runs, `changes` what the adapter changed
    in the config under test to run it here."""

    config: str = ""
    changes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class KafkaEndpoint(Endpoint):
    """One KRaft broker."""

    controller_port: int = 0

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, kw_only=True)
class JaegerEndpoint(Endpoint):
    """Jaeger v2: the query API at `url`, OTLP in at `otlp_http` / `otlp_grpc`."""

    otlp_http: str = ""
    otlp_grpc: str = ""
    query_grpc: str = ""
    health: str = ""
    metrics: str = ""
    storage: str = "memory"
    config: str = ""


@dataclass(frozen=True, kw_only=True)
class AppEndpoint(Endpoint):
    """A service under test: where its metrics are served, where its logs go, and the
    controls the suites use (the upstream stub's faults, the usage topic)."""

    metrics_url: str = ""
    app_log: str = ""
    log_files: dict[str, str] = field(default_factory=dict)
    upstream_url: str = ""
    upstream_control_url: str | None = None
    kafka_topic: str = ""
    usage_tracker_metrics_url: str = ""
    changes: tuple[str, ...] = ()  # what the build changed in the code under test
