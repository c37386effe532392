"""The self-test's mutants of the services' TypeScript and of dashboard panel queries: each
operator makes the one-line edit it names, on the shapes of pino, prom-client and
OpenTelemetry JS code, and a panel query stays valid JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.selftest.mutants import Mutant, generate, still_valid

LOGGER = """\
import pino from 'pino';

export const logger = pino({
  level: 'info',
  redact: {
    paths: [
      'password',
      '*.token',
    ],
    censor: '[REDACTED]',
  },
});
export const audit = pino({ redact: ['secret', 'req.headers.cookie'] });
"""
METRICS = """\
import { Counter, Histogram } from 'prom-client';

export const requests = new Counter({
  name: 'http_requests_total',
  help: 'Requests',
  labelNames: ['method'],
});
export const latency = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Latency',
  buckets: [0.1, 0.5, 1],
});
"""
TRACING = """\
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const sdk = new NodeSDK({
  textMapPropagator: new W3CTraceContextPropagator(),
  instrumentations: [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => {
        return req.url === '/health/live' || req.url === '/health/ready';
      },
    }),
  ],
});
"""
RULES = """\
groups:
  - name: g
    rules:
      - alert: Slow
        expr: sum(rate(http_request_duration_seconds_bucket{le="0.5"}[5m])) < 1
        labels: {severity: warning}
"""
DASHBOARD = {
    "title": "Overview",
    "panels": [
        {
            "title": "Errors",
            "targets": [
                {"expr": 'sum(rate(http_requests_total{job="api",code=~"5.."}[5m])) by (service)'}
            ],
        }
    ],
}


@pytest.fixture
def config(tmp_path: Path) -> ObsConfig:
    src = tmp_path / "services" / "src"
    for rel, text in (("logging/logger.ts", LOGGER), ("metrics/metrics.service.ts", METRICS),
                      ("tracing/tracing.ts", TRACING)):  # fmt: skip
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    (tmp_path / "prometheus" / "rules").mkdir(parents=True)
    (tmp_path / "prometheus" / "rules" / "r.yaml").write_text(RULES)
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "overview.json").write_text(json.dumps(DASHBOARD, indent=2))
    return ObsConfig(tmp_path)


def _of(mutants: list[Mutant], operator: str) -> list[Mutant]:
    return [m for m in mutants if m.operator == operator]


def test_each_redact_path_is_removed_from_both_list_shapes(config: ObsConfig) -> None:
    found = {(m.subject, m.new.strip()) for m in _of(generate(config), "redact-path")}
    assert found == {
        ("password", "// 'password',"),
        ("*.token", "// '*.token',"),
        ("secret", "export const audit = pino({ redact: ['req.headers.cookie'] });"),
        ("req.headers.cookie", "export const audit = pino({ redact: ['secret'] });"),
    }
    assert {m.part for m in _of(generate(config), "redact-path")} == {"redaction"}


def test_metric_names_lose_their_last_segment(config: ObsConfig) -> None:
    renamed = {m.new.strip() for m in _of(generate(config), "metric-name")
               if m.file.endswith(".ts")}  # fmt: skip
    assert renamed == {"name: 'http_requests',", "name: 'http_request_duration',"}


def test_only_a_bucket_a_query_selects_is_removed(config: ObsConfig) -> None:
    buckets = _of(generate(config), "metric-bucket")
    assert [(m.subject, m.new.strip()) for m in buckets] == [
        ("http_request_duration_seconds", "buckets: [0.1, 1],")
    ]


def test_propagator_and_ignored_paths(config: ObsConfig) -> None:
    mutants = generate(config)
    (swap,) = _of(mutants, "propagator")
    assert swap.new == (
        "import { W3CBaggagePropagator as W3CTraceContextPropagator } from '@opentelemetry/core';"
    )
    ignored = {m.new.strip() for m in _of(mutants, "ignored-path")}
    assert ignored == {"return req.url === '/health/ready';", "return req.url === '/health/live';"}
    assert {m.part for m in (swap, *_of(mutants, "ignored-path"))} == {"propagation"}


def test_panel_query_mutants_are_json_lines_of_their_panel(config: ObsConfig) -> None:
    panel = [m for m in generate(config) if m.part == "dashboards"]
    assert {m.operator for m in panel} == {
        "matcher-drop", "matcher-negate", "matcher-widen", "by-label", "range", "metric-name",
    }  # fmt: skip
    for m in panel:
        assert m.subject == "Errors" and m.file == "dashboards/overview.json"
        assert still_valid(m, config.root), m
        assert (
            json.loads("{" + m.new.strip().rstrip(",") + "}")["expr"]
            != json.loads("{" + m.old.strip().rstrip(",") + "}")["expr"]
        )
    loosened = [m for m in panel if "loosened" in m.description]
    assert loosened and all(m.equivalent for m in loosened)  # 5.. and 5.* on status codes


def test_applied_mutant_changes_only_its_line(config: ObsConfig) -> None:
    mutant = _of(generate(config), "propagator")[0]
    before = (config.root / mutant.file).read_text().split("\n")
    mutant.apply(config.root)
    after = (config.root / mutant.file).read_text().split("\n")
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [
        mutant.line - 1
    ]
