"""MindWeave's latency-critical paths under load, one user class per kind of client.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8080           # web UI
    locust -f loadtests/locustfile.py --host URL --headless -u 20 -r 10 -t 30s \
        --obs-config fixtures/config/mindweave --client-report reports/load/client.json

With --obs-config, the master judges the run against that config's SLOs when it quits
(obsgate/load/thresholds.py; no threshold is typed here) and the exit code is the verdict:
1 if an SLO threshold was missed, else 0 (request failures alone do not decide it: the
availability SLO allows its share of them). `loadtests/test_load.py` runs this file as a
subprocess: Locust patches its process with gevent, which must not happen inside pytest's.

Every request carries a fresh W3C traceparent. Requests are named by the route label the
gateway's metrics give them (normalizePath), so Locust's stats and Prometheus' series of
one route can be held against each other. A 5xx or a failed connection is recorded as an
"unavailable" failure (the availability SLO's errors), a 4xx as a "client error".
"""

from __future__ import annotations

import json
import os
import random
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, constant_pacing, events, tag, task
from locust.runners import WorkerRunner

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.load.client_report import client_report
from obsgate.load.thresholds import Threshold, slo_thresholds

MODELS = ("claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus")
TOOLS = ("search", "fetch", "calendar")
UNAVAILABLE = "unavailable"
CLIENT_ERROR = "client error"

MESSAGES = "/api/v1/orgs/:id/projects/:id/messages"
MCP_INVOKE = "/api/v1/orgs/:id/mcp/servers/:id/tools/{tool}/invoke"
POLICY = "/api/v1/orgs/:id/policies/evaluate"
USAGE_EVENTS = "/api/v1/usage/events"


@events.init_command_line_parser.add_listener
def add_gate_options(parser: Any) -> None:
    parser.add_argument(
        "--obs-config", default="", help="config dir whose SLOs judge the run (exit code)"
    )
    parser.add_argument(
        "--slo-service", default="api-gateway", help="the service whose SLOs the client judges"
    )
    parser.add_argument("--client-report", default="", help="write the judged stats as JSON")
    parser.add_argument("--org-pool", type=int, default=20, help="distinct org ids to draw from")


class Tenants:
    """The org/project/server ids clients draw from: a pool, as real tenants recur."""

    def __init__(self, size: int, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.orgs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(size)]
        self.projects = [str(rng.randint(1, 9999)) for _ in range(size)]
        self.servers = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5)]


def traceparent() -> str:
    """A new sampled W3C trace context: the gateway continues it."""
    return f"00-{random.getrandbits(128):032x}-{random.getrandbits(64):016x}-01"


class MindWeaveUser(FastHttpUser):
    abstract = True

    def on_start(self) -> None:
        self.tenants = Tenants(max(1, self.environment.parsed_options.org_pool))

    def send(self, method: str, path: str, name: str, body: dict[str, Any] | None = None) -> None:
        headers = {"traceparent": traceparent(), "x-api-key-id": "mw_load_client"}
        with self.client.request(
            method, path, name=name, json=body, headers=headers, catch_response=True
        ) as resp:
            status = resp.status_code or 0
            if status == 0 or status >= 500:
                resp.failure(f"{UNAVAILABLE}: {status or 'no connection'}")
            elif status >= 400:
                resp.failure(f"{CLIENT_ERROR}: {status}")
            else:
                resp.success()


class ApiClient(MindWeaveUser):
    """An application calling Claude through the gateway, with its MCP tools and policies."""

    weight = 6
    wait_time = between(0.05, 0.25)

    @tag("messages")  # the capacity run: `ApiClient --tags messages`
    @task(10)
    def claude_message(self) -> None:
        i = random.randrange(len(self.tenants.orgs))
        body = {
            "model": random.choice(MODELS),
            "max_tokens": 64,
            "user_id": f"user-{random.randint(1, 500)}",
            "messages": [{"role": "user", "content": "summarise the incident"}],
        }
        path = f"/api/v1/orgs/{self.tenants.orgs[i]}/projects/{self.tenants.projects[i]}/messages"
        self.send("POST", path, MESSAGES, body)

    @task(3)
    def mcp_tool(self) -> None:
        org = random.choice(self.tenants.orgs)
        server, tool = random.choice(self.tenants.servers), random.choice(TOOLS)
        path = f"/api/v1/orgs/{org}/mcp/servers/{server}/tools/{tool}/invoke"
        body = {"transport": "stdio", "arguments": {"q": "quarterly usage"}}
        self.send("POST", path, MCP_INVOKE.format(tool=tool), body)

    @task(4)
    def evaluate_policy(self) -> None:
        org = random.choice(self.tenants.orgs)
        body = {"policy_type": "usage", "context": {"tokens_requested": random.randint(1, 4000)}}
        self.send("POST", f"/api/v1/orgs/{org}/policies/evaluate", POLICY, body)


class UsageIngest(MindWeaveUser):
    """A producer of usage events: the gateway puts each on Kafka for the usage-tracker."""

    weight = 2
    wait_time = between(0.05, 0.25)

    @task
    def usage_event(self) -> None:
        i = random.randrange(len(self.tenants.orgs))
        body = {
            "org_id": self.tenants.orgs[i],
            "project_id": self.tenants.projects[i],
            "model": random.choice(MODELS),
            "input_tokens": random.randint(10, 2000),
            "output_tokens": random.randint(10, 800),
            "cost_cents": round(random.uniform(0.01, 5.0), 4),
            "api_key_id": "mw_load_client",
        }
        self.send("POST", USAGE_EVENTS, USAGE_EVENTS, body)


class HealthProbe(MindWeaveUser):
    """The kubelet's probes: steady, cheap, and a floor for the client's own overhead."""

    weight = 1
    wait_time = constant_pacing(0.25)

    @task(3)
    def live(self) -> None:
        self.send("GET", "/health/live", "/health/live")

    @task(1)
    def ready(self) -> None:
        self.send("GET", "/health/ready", "/health/ready")


REPORTING_WORKERS: set[str] = set()
THRESHOLDS: list[Threshold] = []


@events.init.add_listener
def read_thresholds(environment: Any, **_kwargs: Any) -> None:
    """Read the SLOs before any load: a bad --obs-config stops the run in one line."""
    opts = environment.parsed_options
    if opts is None or not opts.obs_config or isinstance(environment.runner, WorkerRunner):
        return
    try:
        THRESHOLDS[:] = slo_thresholds(ObsConfig(Path(opts.obs_config)), opts.slo_service)
    except GateError as exc:
        sys.exit(f"locustfile: --obs-config {opts.obs_config}: {exc}")


@events.worker_report.add_listener
def count_reporting_worker(client_id: str, data: dict[str, Any]) -> None:
    """On the master: the workers whose figures it aggregated (they are gone at quit)."""
    REPORTING_WORKERS.add(client_id)


SENT: Counter[str] = Counter()  # "METHOD name" -> requests this process sent, cumulative


@events.request.add_listener
def count_sent(request_type: str, name: str, **_kwargs: Any) -> None:
    SENT[f"{request_type} {name}"] += 1


def worker_report_path(client_report_path: str) -> Path:
    return Path(client_report_path.removesuffix(".json") + f"-worker-{os.getpid()}.json")


@events.quitting.add_listener
def judge_against_slos(environment: Any, **_kwargs: Any) -> None:
    """On the master (or the only process): write the report, and with --obs-config set
    the exit code from the SLO thresholds. On a worker: write what it sent, counted here,
    since the master may quit before a worker's last stats report reaches it."""
    opts = environment.parsed_options
    if isinstance(environment.runner, WorkerRunner):
        if opts.client_report:
            worker_report_path(opts.client_report).write_text(json.dumps({"sent": SENT}))
        return
    workers = len(REPORTING_WORKERS)
    report = client_report(environment.stats, THRESHOLDS, workers, UNAVAILABLE, CLIENT_ERROR)
    if opts.client_report:
        Path(opts.client_report).parent.mkdir(parents=True, exist_ok=True)
        Path(opts.client_report).write_text(json.dumps(report, indent=2))
    for verdict in report["verdicts"]:
        mark = "ok  " if verdict["ok"] else "FAIL"
        print(f"SLO {mark} {verdict['threshold']}: measured {verdict['measured']}")
    if opts.obs_config:
        environment.process_exit_code = 0 if all(v["ok"] for v in report["verdicts"]) else 1
