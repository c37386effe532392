"""Which suites a -k expression can select before anything is collected, and what a config
lacks, said in the user's words."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsgate.applicability import Applicability, keyword_excludes
from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig


@pytest.mark.parametrize(
    ("expression", "suite", "excluded"),
    [
        ("alerts", "alerts", False),
        ("alerts", "tracing", True),
        ("alerts", "load", True),
        ("routing or slo", "slo", False),
        ("routing or slo", "dashboards", True),
        ("not tracing", "alerts", False),
        ("not tracing", "tracing", True),
        ("load", "load", False),
        ("HighErrorRate", "alerts", False),  # not a suite name: collect all, as pytest does
        ("alerts and HighErrorRate", "tracing", False),
        ("alerts and (", "tracing", False),  # malformed: pytest itself says so
    ],
)
def test_keyword_naming_suites_excludes_the_others(
    expression: str, suite: str, excluded: bool
) -> None:
    assert keyword_excludes(expression, suite) is excluded


def test_a_config_with_rules_alone_lacks_the_rest(tmp_path: Path) -> None:
    rules = tmp_path / "prometheus" / "rules"
    rules.mkdir(parents=True)
    (rules / "r.yml").write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n")
    judge = Applicability(ObsConfig(tmp_path))
    assert judge.lacks("rules") is None
    assert judge.lacks("alertmanager").startswith("no Alertmanager config (")  # type: ignore[union-attr]
    assert judge.lacks("inhibit_rules") == judge.lacks("alertmanager")
    assert judge.lacks("scenarios/alerts") == "no alert intent (scenarios/alerts/*.yaml)"
    reason = judge.reason(["rules", "slos", "scenarios/alerts"])
    assert reason is not None and reason.endswith(f" in {tmp_path.resolve()}")
    assert reason.startswith("no SLO specs (") and "; no alert intent" in reason


def test_an_intent_file_is_judged_on_its_own(tmp_path: Path) -> None:
    """Dashboard intent with mirrors but no readings: the readings check is not applicable
    (an empty parameter set would be a skip, which CI=true turns into a failure)."""
    intent = tmp_path / "scenarios" / "dashboards"
    intent.mkdir(parents=True)
    (intent / "mirrors.yaml").write_text("mirrors: []\n")
    judge = Applicability(ObsConfig(tmp_path))
    assert judge.lacks("scenarios/dashboards") is None
    assert judge.lacks("scenarios/dashboards/mirrors.yaml") is None
    assert judge.lacks("scenarios/dashboards/readings.yaml") == (
        "no panel readings (scenarios/dashboards/readings.yaml)"
    )


def test_services_of_a_teams_own_need_no_node_build_but_pinos_checks_do(tmp_path: Path) -> None:
    """Declared services make the app-level suites applicable; the redaction checks that run
    the services' own pino logger apart need MindWeave's `build: node`."""
    judge = Applicability(ObsConfig(tmp_path))
    assert judge.lacks("services") == "no services under test (services: in obs-gate.yaml)"
    own = {"name": "edge", "command": ["edge"], "ready": "/healthz"}
    manifest = {"services": {"build": "none", "gateway": own, "usage_tracker": own}}
    (tmp_path / "obs-gate.yaml").write_text(yaml.safe_dump(manifest))
    judge = Applicability(ObsConfig(tmp_path))
    assert judge.lacks("services") is None
    assert judge.lacks("node_build") == "no `build: node` services (services: in obs-gate.yaml)"
    mindweave = Applicability(ObsConfig(DEFAULT_CONFIG_DIR))
    assert mindweave.lacks("services") is None and mindweave.lacks("node_build") is None
