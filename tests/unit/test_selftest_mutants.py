"""The self-test's mutant generator: each operator makes the one-line edit it names, the
mutated file still loads, and the equivalence rules prove what they claim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from obsgate.cli import main
from obsgate.config import ObsConfig
from obsgate.selftest.command import spread
from obsgate.selftest.exprops import nudged
from obsgate.selftest.mutants import Mutant, generate, still_valid
from tests.gate_subprocess import clean_env

RULES = """\
groups:
  - name: g
    rules:
      - alert: Errors
        expr: |
          sum(rate(http_requests_total{status_code=~"5..",job="api"}[5m])) by (service) > 0.05
        for: 5m
        labels:
          severity: critical
          team: platform
        annotations:
          summary: "Errors on {{ $labels.service }}: {{ $value }}"
      - alert: Nested
        expr: sum by (service) (sum by (job) (up{job="api"})) == 0
        for: 0s
        labels:
          severity: warning
          team: search
"""
ALERTMANAGER = """\
global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: ['alertname', 'service']
  group_wait: 30s
  routes:
    - match:
        team: platform
      receiver: platform
      continue: true
receivers:
  - name: default
    slack_configs:
      - channel: '#general'
        send_resolved: true
  - name: platform
    slack_configs:
      - channel: '#platform'
inhibit_rules:
  - source_match:
      severity: 'critical'
    target_match:
      severity: 'warning'
    equal: ['service']
"""
SLOTH_CRD = """\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: api
spec:
  service: api
  slos:
    - name: availability
      objective: 99.9
      sli:
        events:
          errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
          totalQuery: sum(rate(http_requests_total[{{.window}}]))
      alerting:
        name: ApiAvailability
        labels:
          team: platform
"""


@pytest.fixture
def config(tmp_path: Path) -> ObsConfig:
    for rel, text in (("prometheus/rules/r.yaml", RULES),
                      ("alertmanager/alertmanager.yaml", ALERTMANAGER),
                      ("slo/api.yaml", SLOTH_CRD)):  # fmt: skip
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ObsConfig(tmp_path)


def _find(mutants: list[Mutant], operator: str, new_has: str) -> Mutant:
    found = [m for m in mutants if m.operator == operator and new_has in m.new]
    assert len(found) == 1, f"{operator} {new_has!r}: {[m.new for m in found]}"
    return found[0]


def _changed(m: Mutant, old: str, new: str) -> None:
    """The mutant's line is the original with exactly `old` replaced by `new`."""
    assert m.old.count(old) >= 1
    assert m.new == m.old.replace(old, new, 1), (m.old, m.new)


@pytest.mark.parametrize(
    ("operator", "new_has", "old", "new"),
    [
        ("comparison", ">= 0.05", "> 0.05", ">= 0.05"),
        ("threshold", "> 0.06", "0.05", "0.06"),
        ("matcher-drop", '{status_code=~"5.."}', ',job="api"', ""),
        ("matcher-negate", 'job!="api"}[5m]', 'job="api"', 'job!="api"'),
        ("matcher-widen", 'job=~".*"}[5m]', 'job="api"', 'job=~".*"'),
        ("by-label", "by () > 0.05", "by (service)", "by ()"),
        ("range", "[1m]", "[5m]", "[1m]"),
        ("for", "2m30s", "5m", "2m30s"),
        ("for", "10m", "5m", "10m"),
        ("annotation", "service_typo", "$labels.service", "$labels.service_typo"),
        ("annotation", "{{ 0 }}", "$value", "0"),
        ("continue", "false", "true", "false"),
        ("group-by", "['service']", "['alertname', 'service']", "['service']"),
        ("group-by", "[]", "['alertname', 'service']", "[]"),
        ("timing", "group_wait: 1m", "30s", "1m"),
        ("integration", "#platform'", "#general", "#platform"),
        ("integration", "send_resolved: false", "true", "false"),
        ("inhibit-equal", "equal: []", "['service']", "[]"),
        ("slo-objective", "99.0", "99.9", "99.0"),
        ("slo-label", "team: search", "platform", "search"),
    ],
)
def test_each_operator_makes_its_one_line_edit(
    config: ObsConfig, operator: str, new_has: str, old: str, new: str
) -> None:
    mutants = generate(config)
    m = _find(mutants, operator, new_has)
    _changed(m, old, new)
    assert still_valid(m, config.root)
    copy = config.root / m.file
    before = copy.read_text()
    m.apply(config.root)
    after = copy.read_text()
    assert [a for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b] == [
        m.old
    ]
    list(yaml.safe_load_all(after))  # still YAML


def test_routing_labels_take_another_value_the_config_uses(config: ObsConfig) -> None:
    labels = [m for m in generate(config) if m.operator == "routing-label"]
    assert {(m.old.strip(), m.new.strip()) for m in labels} == {
        ("severity: critical", "severity: warning"),
        ("team: platform", "team: search"),
        ("severity: warning", "severity: critical"),
        ("team: search", "team: platform"),
    }


def test_matchers_and_receivers_in_alertmanager(config: ObsConfig) -> None:
    mutants = generate(config)
    _changed(_find(mutants, "am-matcher", "team: search"), "platform", "search")
    receivers = {m.new.strip() for m in mutants if m.operator == "receiver"}
    assert receivers == {"receiver: platform", "receiver: default"}
    inhibit = {m.new.strip() for m in mutants if m.operator == "inhibit-matcher"}
    assert inhibit == {"severity: 'warning'", "severity: 'critical'"}


def test_slo_error_query_replaced_by_total(config: ObsConfig) -> None:
    m = _find(generate(config), "slo-query", "errorQuery: sum(rate(http_requests_total[")
    assert "totalQuery" not in m.new and "code" not in m.new


def test_zero_for_is_left_alone(config: ObsConfig) -> None:
    assert not [m for m in generate(config) if m.operator == "for" and "0s" in m.old]


def test_status_code_regex_loosened_is_equivalent(config: ObsConfig) -> None:
    loose = [m for m in generate(config) if '=~"5.*"' in m.new]
    assert loose, "no loosened regex mutant"
    assert all(m.equivalent and "3-digit" in m.equivalent for m in loose)
    # A widened regex is not: it matches 2xx too.
    wide = [m for m in generate(config) if 'status_code=~".*"' in m.new]
    assert wide and not any(m.equivalent for m in wide)


def test_resolve_timeout_is_equivalent_and_route_timings_are_not(config: ObsConfig) -> None:
    """Prometheus sends every alert with an end time, so resolve_timeout never applies to
    it; a route's group_wait changes when notifications go out."""
    timings = [m for m in generate(config) if m.operator == "timing"]
    resolve = [m for m in timings if "resolve_timeout" in m.old]
    route = [m for m in timings if "resolve_timeout" not in m.old]
    assert len(resolve) == 2 and all(m.equivalent and "end time" in m.equivalent for m in resolve)
    assert route and not any(m.equivalent for m in route)


def test_by_label_the_input_never_carries_is_equivalent(config: ObsConfig) -> None:
    nested = [m for m in generate(config) if m.operator == "by-label" and m.subject == "Nested"]
    by_service = [m for m in nested if "sum by () (sum by (job)" in m.new]
    by_job = [m for m in nested if "sum by () (up" in m.new]
    assert (
        by_service
        and by_service[0].equivalent
        and "never carries `service`" in (by_service[0].equivalent)
    )
    assert by_job and by_job[0].equivalent is None  # `up` may carry job: no proof


def test_mutants_that_do_not_parse_are_dropped(tmp_path: Path) -> None:
    rules = tmp_path / "prometheus" / "rules" / "r.yaml"
    rules.parent.mkdir(parents=True)
    rules.write_text(RULES.replace("sum by (service) (sum by (job) (up{job=\"api\"}))",
                                   "count({job=\"api\"})"))  # fmt: skip
    config = ObsConfig(tmp_path)
    nested = [m for m in generate(config) if m.subject == "Nested"]
    assert [m for m in nested if m.operator == "comparison"], "the rule is mutated"
    # Dropping, negating or widening its only matcher leaves a selector that matches the
    # empty label set, which PromQL refuses: no such mutant.
    assert not [m for m in nested if m.operator.startswith("matcher-")]


def test_nudge_moves_the_last_written_digit() -> None:
    assert nudged("0.05", up=True) == "0.06"
    assert nudged("80", up=False) == "79"
    assert nudged("0.90", up=True) == "0.91"
    assert nudged("0", up=False) is None


def test_limit_spreads_over_operators(config: ObsConfig) -> None:
    mutants = generate(config)
    picked = spread(mutants, 8)
    assert len(picked) == 8
    assert len({m.operator for m in picked}) == 8


def test_a_config_that_does_not_load_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "prometheus" / "rules" / "r.yaml"
    rules.parent.mkdir(parents=True)
    rules.write_text(RULES.replace("for: 5m", "for: soon"))
    assert main(["self-test", str(tmp_path), "--reports-dir", str(tmp_path / "reports")]) == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "r.yaml" in err and "self-test" in err
    assert not (tmp_path / "reports").exists()


def test_pytest_self_test_refuses_a_config_that_does_not_load_in_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "cfg" / "prometheus" / "rules" / "r.yaml"
    rules.parent.mkdir(parents=True)
    rules.write_text(RULES.replace("for: 5m", "for: soon"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--self-test", f"--obs-config={tmp_path / 'cfg'}",
         "-p", "no:locust", f"--reports-dir={tmp_path / 'reports'}"],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "r.yaml" in proc.stderr, proc.stderr
    assert not (tmp_path / "reports" / "self-test.md").exists()
