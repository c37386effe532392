"""The contract a service under test meets, so that a team can put its own in place of
MindWeave's: how it starts (argv, env, working dir), its HTTP port and /metrics, where its
logs go (stdout or a file, which the log shipper tails), which env variables give it the
OTLP endpoint, Redis, Kafka and the upstream it calls, and its image for --stack containers.

A config declares its services in `services:` of its obs-gate.yaml (declaration.py reads
it); MindWeave's declares the seed's TypeScript under Node, built by build.py. Each service
runs in the run's work dir for it unless its declaration names another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PORT = "{port}"
# The roles a service's wiring may give an env variable (ServiceDef.wiring says what each is).
ROLES = ("otlp", "redis", "kafka", "upstream", "topic", "consumer_group")
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
    cwd: Path | None = None  # its working dir (None: the run's work dir for it)
    image: str = ""  # its image under --stack containers ("": it runs as a process there too)
    mounts: tuple[Path, ...] = ()  # dirs it reads, mounted read-only in its image

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
