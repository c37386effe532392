"""The contract a service under test meets, so that a team can put its own in place of
MindWeave's: how it starts (argv, env, working dir), its HTTP port and /metrics, where its
logs go (stdout or a file, which the log shipper tails), and which env variables give it
the OTLP endpoint, Redis, Kafka and the upstream it calls.

The instance here is MindWeave's: the seed's TypeScript under Node (glue in services/, the
seed's modules from the config dir, built by build.py). Each service runs in the run's work
dir for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from obsgate.services.build import build_services
from obsgate.services.seed_edits import BSP_DELAY_ENV

PORT = "{port}"
BSP_DELAY_MS = "200"  # the batch span processor's export delay under test (seed_edits.py)
# The seed falls back to http://otel-collector:4317 without an endpoint; nothing may leave
# 127.0.0.1, so a run without Jaeger gives it a closed local port instead (export fails).
NO_OTLP = "http://127.0.0.1:9"


@dataclass(frozen=True)
class ServiceDef:
    """One service: `{port}` in argv or env is its HTTP port (chosen free at start)."""

    name: str
    argv: tuple[str, ...]
    ready_path: str
    env: Mapping[str, str] = field(default_factory=dict)
    metrics_path: str = "/metrics"
    logs: str = "stdout"  # "stdout", or the env variable that names its log file
    # role -> env variable: otlp (OTLP endpoint URL), redis (redis:// URL), kafka
    # (bootstrap host:port), upstream (the upstream stub's URL), topic (usage topic),
    # consumer_group (the usage-tracker's Kafka consumer group)
    wiring: Mapping[str, str] = field(default_factory=dict)
    otlp: str = "http"  # which of Jaeger's OTLP receivers it speaks: grpc or http
    otlp_fallback: str = ""  # the otlp value when the run has no Jaeger ("": unset)

    def command(self, port: int, wired: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
        """argv and env for this port and these values by role (a role not given stays
        unset, but for otlp's fallback)."""
        env = {k: v.replace(PORT, str(port)) for k, v in self.env.items()}
        for role, var in self.wiring.items():
            value = wired.get(role) or (self.otlp_fallback if role == "otlp" else "")
            if value:
                env[var] = value
        return [a.replace(PORT, str(port)) for a in self.argv], env


@dataclass(frozen=True)
class ServicesUnderTest:
    """The services one run tests: the gateway, and the usage-tracker behind Kafka."""

    kind: str
    gateway: ServiceDef
    usage_tracker: ServiceDef
    changes: tuple[str, ...] = ()  # what the build changed in the code under test


WIRING = {
    "otlp": "OTEL_EXPORTER_OTLP_ENDPOINT",
    "redis": "MW_REDIS_URL",
    "kafka": "MW_KAFKA_BOOTSTRAP",
    "upstream": "MW_UPSTREAM_URL",
    "topic": "MW_USAGE_TOPIC",
    "consumer_group": "MW_CONSUMER_GROUP",
}


def node_services(config_root: Path) -> ServicesUnderTest:
    """The MindWeave services: the seed's TypeScript from `config_root`, built with the glue."""
    build = build_services(config_root)

    def service(name: str, entry: str, ready: str) -> ServiceDef:
        return ServiceDef(
            name=name,
            argv=("node", str(build.entry(entry))),
            ready_path=ready,
            env={"PORT": PORT, "SERVICE_NAME": name, BSP_DELAY_ENV: BSP_DELAY_MS},
            logs="stdout",
            wiring=WIRING,
            otlp="grpc",
            otlp_fallback=NO_OTLP,
        )

    return ServicesUnderTest(
        kind="node",
        gateway=service("api-gateway", "main-gateway", "/health/ready"),
        usage_tracker=service("usage-tracker", "main-usage-tracker", "/health"),
        changes=tuple(e.describe() for e in build.edits),
    )


def services_under_test(config_root: Path) -> ServicesUnderTest:
    return node_services(config_root)
