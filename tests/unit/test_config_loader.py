"""The config loader and tool wrappers fail in one line that names file:line, and pass real configs.

Every suite trusts these: a loader that points at the wrong line, or a wrapper that hides
promtool's message, would make every later failure harder to act on.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from obsgate.config import (
    DEFAULT_CONFIG_DIR,
    ObsConfig,
    load_json,
    load_yaml,
    load_yaml_documents,
    parse_duration,
)
from obsgate.errors import ConfigError
from obsgate.tools import amtool, promtool

SEED_ALERTS = [
    "HighErrorRate",
    "ServiceDown",
    "HighLatency",
    "HighCPUUsage",
    "HighMemoryUsage",
    "PodRestartLoop",
    "BudgetThresholdApproaching",
    "UnusualApiCallSpike",
    "PolicyViolationsSpike",
    "DatabaseConnectionPoolExhausted",
    "KafkaConsumerLag",
    "RedisHighMemory",
    "CertificateExpiringSoon",
]

GOOD_RULE = """\
groups:
  - name: g1
    interval: 30s
    rules:
      - alert: Fine
        expr: up == 0
        for: 1h30m
        labels: {severity: critical}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config_with_rules(root: Path, rules_yaml: str) -> ObsConfig:
    write(root / "prometheus" / "rules" / "test.yaml", rules_yaml)
    return ObsConfig(root)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "broken.yaml", "a: 1\nb: 2\nc: [unclosed\nd: 4\n")
    with pytest.raises(ConfigError) as err:
        load_yaml(bad)
    msg = str(err.value)
    assert "broken.yaml:" in msg and "\n" not in msg, msg
    line = int(re.search(r"broken\.yaml:(\d+):\d+:", msg).group(1))  # type: ignore[union-attr]
    assert line in (3, 4), msg  # the flow sequence opened on line 3 is cut off by line 4


def test_bad_indentation_points_at_the_offending_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "indent.yaml", "groups:\n  - name: a\n    rules: []\n   oops: 1\n")
    with pytest.raises(ConfigError, match=r"indent\.yaml:4:\d+: "):
        load_yaml_documents(bad)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothere\.yaml: file not found"):
        load_yaml(tmp_path / "nothere.yaml")


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    bad = write(tmp_path / "dash.json", '{\n  "uid": "x",\n  "panels": [,]\n}\n')
    with pytest.raises(ConfigError, match=r"dash\.json:3:\d+: "):
        load_json(bad)


def test_bad_promql_names_rule_and_line(tmp_path: Path) -> None:
    rules = GOOD_RULE + "      - alert: Broken\n        expr: sum(rate(x[5m])\n"
    cfg = config_with_rules(tmp_path, rules)
    with pytest.raises(ConfigError) as err:
        cfg.alert_rules()
    msg = str(err.value)
    assert "test.yaml:10:" in msg and "alert Broken" in msg and "bad PromQL" in msg, msg


def test_bad_duration_names_rule_and_line(tmp_path: Path) -> None:
    cfg = config_with_rules(tmp_path, GOOD_RULE.replace("for: 1h30m", "for: 5 minutes"))
    with pytest.raises(ConfigError, match=r"test\.yaml:7: alert Fine: bad 'for'"):
        cfg.alert_rules()


def test_group_without_name_is_rejected(tmp_path: Path) -> None:
    cfg = config_with_rules(tmp_path, GOOD_RULE.replace("name: g1", "nom: g1"))
    with pytest.raises(ConfigError, match=r"test\.yaml:2: rule group without 'name'"):
        cfg.alert_rules()


def test_rule_without_expr_is_rejected(tmp_path: Path) -> None:
    cfg = config_with_rules(tmp_path, GOOD_RULE.replace("expr: up == 0", "exp: up == 0"))
    with pytest.raises(ConfigError, match=r"test\.yaml:5: alert Fine: missing 'expr'"):
        cfg.alert_rules()


def test_valid_rule_fields(tmp_path: Path) -> None:
    rules = (
        GOOD_RULE + "  - name: g2\n    rules:\n      - record: job:up:sum\n        expr: sum(up)\n"
    )
    cfg = config_with_rules(tmp_path, rules)
    (rule,) = cfg.alert_rules()
    assert (rule.group, rule.group_interval, rule.name) == ("g1", 30.0, "Fine")
    assert (rule.for_seconds, rule.labels, rule.line) == (5400.0, {"severity": "critical"}, 5)
    (rec,) = cfg.recording_rules()
    assert (rec.name, rec.group, rec.group_interval, rec.line) == ("job:up:sum", "g2", None, 11)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0s", 0.0),
        ("0", 0.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("100ms", 0.1),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("1y", 31536000.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "1m30", "5 m", "30m1h", "-1s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_duration_names_where_the_duration_was_read() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_duration("5 m", "prometheus.yaml: global")
    assert str(raised.value) == (
        "prometheus.yaml: global: not a Prometheus duration: '5 m' (use e.g. 30s, 5m, 1h30m)"
    )


def test_shipped_config_loads_the_seeds_13_alerts() -> None:
    cfg = ObsConfig(DEFAULT_CONFIG_DIR)
    rules = cfg.alert_rules()
    assert [r.name for r in rules] == SEED_ALERTS
    lines = cfg.rule_files()[0].read_text(encoding="utf-8").splitlines()
    for r in rules:
        assert lines[r.line - 1].strip() == f"- alert: {r.name}", r
    assert cfg.recording_rules() == []


def test_shipped_config_other_artifacts_load() -> None:
    cfg = ObsConfig(DEFAULT_CONFIG_DIR)
    assert "scrape_configs" in cfg.prometheus()
    assert "route" in cfg.alertmanager()
    assert len(load_yaml_documents(cfg.path("slo/mindweave-slos.yaml"))) == 2
    assert load_json(cfg.path("dashboards/mindweave-overview.json"))["uid"] == "mindweave-overview"
    redaction = cfg.app_settings("logging")
    assert len(redaction["paths"]) == 13 and redaction["censor"] == "[REDACTED]"
    assert cfg.app_settings("tracing")["untraced_routes"] == ["/health/live", "/health/ready"]
    assert len(cfg.app_settings("metrics")["metrics"]) == 16
    assert cfg.scenarios_dir == cfg.root / "scenarios"


def test_missing_config_dir_mentions_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--obs-config"):
        ObsConfig(tmp_path / "no-such-dir")


def test_missing_artifact_is_named(tmp_path: Path) -> None:
    cfg = ObsConfig(tmp_path)
    with pytest.raises(ConfigError, match=r"alertmanager/alertmanager\.yaml"):
        cfg.alertmanager()
    with pytest.raises(ConfigError, match=r"no rules in .*prometheus/rules/\*\*/\*.yaml"):
        cfg.rule_files()


def test_promtool_accepts_the_shipped_rules() -> None:
    result = promtool.check_rules(*ObsConfig(DEFAULT_CONFIG_DIR).rule_files())
    assert result.ok, result.describe()
    assert "13 rules found" in result.output


def test_promtool_failure_carries_its_message(tmp_path: Path) -> None:
    src = ObsConfig(DEFAULT_CONFIG_DIR).rule_files()[0]
    broken = tmp_path / "broken.yaml"
    shutil.copy(src, broken)
    text = broken.read_text(encoding="utf-8").replace("up{namespace=", "up{namespace=~=", 1)
    broken.write_text(text, encoding="utf-8")
    result = promtool.check_rules(broken)
    assert not result.ok
    described = result.describe()
    assert "promtool check rules" in described and "ServiceDown" in described, described
    assert "could not parse expression" in described, described


def test_amtool_routes_a_label_set(tmp_path: Path) -> None:
    config = write(
        tmp_path / "am.yaml",
        """\
        route:
          receiver: default
          routes:
            - matchers: ['severity="critical"']
              receiver: pager
              continue: true
            - matchers: ['team="platform"']
              receiver: platform-slack
        receivers:
          - name: default
          - name: pager
          - name: platform-slack
        """,
    )
    assert amtool.check_config(config).ok
    both = {"severity": "critical", "team": "platform"}
    assert amtool.routes_test(config, both) == ["pager", "platform-slack"]
    assert amtool.routes_test(config, {"team": "platform", "note": 'a "b", c=d'}) == [
        "platform-slack"
    ]
    assert amtool.routes_test(config, {"x": "y"}, verify=["default"]) == ["default"]
    with pytest.raises(ConfigError, match=r"routes to \['default'\], expected \['pager'\]"):
        amtool.routes_test(config, {"x": "y"}, verify=["pager"])
    assert "receiver: platform-slack" in amtool.routes_show(config)


def test_tool_versions_are_reported() -> None:
    assert re.match(r"\d+\.\d+", promtool.version())
    assert re.match(r"\d+\.\d+", amtool.version())


def test_default_layout_reads_yml_subfolders_and_multi_document_rule_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_GATE_RUN_DIR", str(tmp_path / "cache"))
    second = GOOD_RULE.replace("g1", "g2").replace("Fine", "AlsoFine")
    multi = write(
        tmp_path / "prometheus" / "rules" / "team-a" / "more.yml", f"{GOOD_RULE}---\n{second}"
    )
    cfg = ObsConfig(tmp_path)
    rules = cfg.alert_rules()
    lines = multi.read_text(encoding="utf-8").splitlines()
    assert [(r.name, r.file) for r in rules] == [
        ("Fine", multi.resolve()),
        ("AlsoFine", multi.resolve()),
    ]
    for rule in rules:
        assert lines[rule.line - 1].strip() == f"- alert: {rule.name}", rule
    result = promtool.check_rules(*cfg.rule_files())  # one plain file per document
    assert result.ok and result.output.count("1 rules found") == 2, result.describe()
