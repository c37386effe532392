"""A pinned universal finding hides nothing: one more offender of the same check, added in a
copy of the config by a one-line change, turns the check red, and the failure names it. And
a finding is removed when it is fixed: with the config fixed, the check passes, which the
judge turns red ("the finding is fixed, remove it") while the finding is still declared.

Each case runs the one check as a child gate, on the copy and, as the control, on the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gate_subprocess import RULES, Breakage, copy_config, edit, run_gate

RUNBOOKS = Path("k8s") / "monitoring" / "runbook-operator.yaml"
ALERT_SCENARIOS = Path("scenarios") / "alerts" / "availability.yaml"

CASES = [
    Breakage(
        id="rule-labels-attached-by-scrape",
        old='up{namespace="mindweave-services"} == 0',
        new='up{namespace="mindweave-services",cluster="mindweave-production"} == 0',
        must_fail=("suites/alerts", "test_rules_select_on_labels_the_scrape_config_attaches"),
        must_say="not in the finding: ['ServiceDown: up cluster']",
        file=RULES,
    ),
    Breakage(
        id="dashboard-metrics-produced",
        old='phase=\\"Running\\"})"',
        new='phase=\\"Running\\"}) + sum(kube_pod_info)"',
        must_fail=("suites/dashboards", "test_every_panel_metric_is_produced"),
        must_say="not in the finding: ['mindweave-overview/Active Pods: kube_pod_info']",
        file=Path("dashboards") / "mindweave-overview.json",
    ),
    Breakage(
        id="dashboard-links-resolve",
        old='description: "Service has been down for more than 1 minute"',
        new='description: "Down for 1 minute: https://grafana.mindweave.io/d/pods/pods"',
        must_fail=(
            "suites/dashboards",
            "test_every_dashboard_link_names_a_dashboard_of_the_config",
        ),
        must_say="not in the finding: ['ServiceDown: description uid pods']",
        file=RULES,
    ),
    Breakage(
        id="runbook-templates-parse",
        old='title: "Pod {{ .Labels.pod }} in restart loop"',
        new='title: "Pod {{ .Labels.pod } in restart loop"',
        must_fail=("suites/alerts", "test_every_runbook_template_parses"),
        must_say="not in the finding: ['pod-restart-loop: steps[create-incident].title: "
        'unexpected "}" in operand\']',
        file=RUNBOOKS,
    ),
    Breakage(
        id="runbook-fields-carried",
        old="kubectl top pod {{ .Labels.pod }} -n {{ .Labels.namespace }}",
        new="kubectl top pod {{ .Labels.pod }} -n {{ .Labels.namespace }} {{ .Labels.node }}",
        must_fail=("suites/alerts", "test_runbooks_read_what_their_alert_carries"),
        must_say="not in the finding: ['pod-restart-loop: .Labels.node not on PodRestartLoop']",
        file=RUNBOOKS,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_second_offender_turns_the_pinned_finding_red(tmp_path: Path, case: Breakage) -> None:
    suite, test = case.must_fail
    assert case.file is not None
    seed = run_gate("-k", test, junit=tmp_path / "seed.xml", suite=suite)
    assert seed.returncode == 0 and "1 xfailed" in seed.output, seed.describe()
    config = copy_config(tmp_path / "config")
    edit(config / case.file, case.old, case.new)
    run = run_gate(f"--obs-config={config}", "-k", test, junit=tmp_path / "junit.xml", suite=suite)
    assert run.returncode == 1, run.describe()
    assert test in run.failed, run.describe()
    assert case.must_say in run.output, run.describe()
    assert f"the finding {case.id} does not explain this" in run.output, run.describe()


def test_a_changed_label_of_a_scenario_finding_s_alert_turns_it_red(tmp_path: Path) -> None:
    """The twelvefold spike's finding pins the alert promtool got, labels included: with
    UnusualApiCallSpike's severity changed, its wrong description no longer counts as the
    finding."""
    test = "test_alert_scenario_exact and twelvefold"
    config = copy_config(tmp_path / "config")
    edit(config / RULES, "severity: info", "severity: warning")
    run = run_gate(f"--obs-config={config}", "-k", test, junit=tmp_path / "junit.xml")
    assert run.returncode == 1, run.describe()
    assert "the finding api-call-spike-twelvefold-fires does not explain this" in run.output, (
        run.describe()
    )
    assert '"severity": "warning"' in run.output, run.describe()


def test_one_more_unmuted_warning_turns_the_inhibition_finding_red(tmp_path: Path) -> None:
    """The critical-mutes-warning finding pins the warnings the rules produce that Alertmanager
    leaves unmuted: with UnusualApiCallSpike made a warning, one more is left unmuted, and the
    end-to-end test fails naming it instead of counting it as the finding."""
    test = "test_rule_mutes_what_the_rules_produce and warning"
    seed = run_gate("-k", test, junit=tmp_path / "seed.xml", suite="suites/inhibition")
    assert seed.returncode == 0 and "1 xfailed" in seed.output, seed.describe()
    config = copy_config(tmp_path / "config")
    edit(config / RULES, "severity: info", "severity: warning")
    run = run_gate(
        f"--obs-config={config}", "-k", test, junit=tmp_path / "junit.xml",
        suite="suites/inhibition",
    )  # fmt: skip
    assert run.returncode == 1, run.describe()
    assert "the finding critical-mutes-warning-of-same-alert does not explain this" in run.output
    assert "not in the finding: ['UnusualApiCallSpike']" in run.output, run.describe()


@dataclass(frozen=True)
class Fix:
    """The edits (file relative to the config, old, new) that fix a finding's offenders."""

    id: str
    edits: tuple[tuple[Path, str, str], ...]
    suite: str
    test: str


HIGH_ERROR_RATE_FIRES = (
    "          - labels: {severity: critical, team: platform}\n"
    "            annotations:\n"
    "              summary: High error rate detected\n"
    "              description: 'Error rate is 6%"
)
BESIDE_BUSY_NAMESPACE_FIRES = (
    "          - labels:\n"
    "              severity: critical\n"
    "              team: platform\n"
    "            annotations:\n"
    "              summary: High error rate detected\n"
)
FIXES = [
    Fix(
        "dashboard-links-resolve",
        ((RULES, "/d/services/services?", "/d/mindweave-overview/mindweave-overview?"),),
        "suites/dashboards",
        "test_every_dashboard_link_names_a_dashboard_of_the_config",
    ),
    Fix(
        "runbook-templates-parse",
        (
            (RUNBOOKS, "{{ .Metrics.error_rate > 0.1 }}", "{{ gt .Metrics.error_rate 0.1 }}"),
            (RUNBOOKS, "{{ .Metrics.restart_count > 10 }}", "{{ gt .Metrics.restart_count 10 }}"),
        ),
        "suites/alerts",
        "test_every_runbook_template_parses",
    ),
    Fix(  # HighErrorRate keeps service, and its scenario says it fires with it
        "runbook-fields-carried",
        (
            (
                RULES,
                '  sum(rate(http_requests_total{status_code=~"5..",',
                '  sum by (service) (rate(http_requests_total{status_code=~"5..",',
            ),
            (
                RULES,
                '  sum(rate(http_requests_total{namespace="mindweave-services"}[5m])) > 0.05',
                '  sum by (service) (rate(http_requests_total{namespace="mindweave-services"}[5m]))'
                " > 0.05",
            ),
            (
                ALERT_SCENARIOS,
                HIGH_ERROR_RATE_FIRES,
                HIGH_ERROR_RATE_FIRES.replace("{severity:", "{service: api-gateway, severity:"),
            ),
            (  # the scenario beside a busy staging namespace fires the same alert
                ALERT_SCENARIOS,
                BESIDE_BUSY_NAMESPACE_FIRES,
                BESIDE_BUSY_NAMESPACE_FIRES.replace(
                    "labels:\n", "labels:\n" + " " * 14 + "service: api-gateway\n", 1
                ),
            ),
        ),
        "suites/alerts",
        "test_runbooks_read_what_their_alert_carries",
    ),
    Fix(  # the parser filter matched on the namespace in the log file's name
        "fluentbit-json-parser-matches-services",
        (
            (
                Path("k8s") / "monitoring" / "fluent-bit-config.yaml",
                "Match         kube.var.log.containers.mindweave*",
                "Match         kube.*_mindweave-services_*",
            ),
        ),
        "suites/redaction",
        "test_json_parser_matches_the_services_container_logs",
    ),
]


@pytest.mark.parametrize("fix", FIXES, ids=lambda f: f.id)
def test_a_fixed_finding_turns_its_check_red_until_it_is_removed(tmp_path: Path, fix: Fix) -> None:
    config = copy_config(tmp_path / "config")
    for file, old, new in fix.edits:
        edit(config / file, old, new)
    run = run_gate(
        f"--obs-config={config}", "-k", fix.test, junit=tmp_path / "junit.xml", suite=fix.suite
    )
    assert run.returncode == 1 and fix.test in run.failed, run.describe()
    assert f"the finding is fixed, remove it: {fix.id}" in run.output, run.describe()


SCRAPE_TEST = "test_rules_select_on_labels_the_scrape_config_attaches"
PROMETHEUS_YAML = Path("prometheus") / "prometheus.yaml"
NAMESPACE_OFFENDERS = (
    "in the finding but not seen: ['HighErrorRate: http_requests_total namespace', "
    "'HighLatency: http_request_duration_seconds_bucket namespace', 'ServiceDown: up namespace']"
)


def test_the_seed_s_relabelling_decides_the_scrape_finding(tmp_path: Path) -> None:
    """The scrape finding rests on the seed's relabelling as Prometheus runs it: with
    kubernetes-pods writing the namespace to `namespace` (one line of prometheus.yaml), the
    three namespace offenders are gone, and the gate fails naming them instead of counting
    what is left as the finding."""
    config = copy_config(tmp_path / "config")
    edit(config / PROMETHEUS_YAML, "target_label: kubernetes_namespace", "target_label: namespace")
    run = run_gate(f"--obs-config={config}", "-k", SCRAPE_TEST, junit=tmp_path / "junit.xml")
    assert run.returncode == 1, run.describe()
    assert SCRAPE_TEST in run.failed, run.describe()
    assert "the finding rule-labels-attached-by-scrape does not explain this" in run.output
    assert NAMESPACE_OFFENDERS in run.output, run.describe()


def test_scrape_jobs_that_attach_namespace_and_service_fix_the_finding(tmp_path: Path) -> None:
    """kubernetes-pods writing `namespace` and `service` (the pod's app label): every rule's
    label is attached, so the finding is fixed and the gate says to remove it."""
    config = copy_config(tmp_path / "config")
    edit(config / PROMETHEUS_YAML, "target_label: kubernetes_namespace", "target_label: namespace")
    edit(
        config / PROMETHEUS_YAML,
        "[__meta_kubernetes_pod_name]",
        "[__meta_kubernetes_pod_label_app]",
    )
    edit(config / PROMETHEUS_YAML, "target_label: kubernetes_pod_name", "target_label: service")
    run = run_gate(f"--obs-config={config}", "-k", SCRAPE_TEST, junit=tmp_path / "junit.xml")
    assert run.returncode == 1, run.describe()
    assert SCRAPE_TEST in run.failed, run.describe()
    assert "the finding is fixed, remove it: rule-labels-attached-by-scrape" in run.output


def test_panels_read_through_the_seed_s_relabelling(tmp_path: Path) -> None:
    """dashboard-panels-return-data scrapes the app as the seed's jobs label it: with
    kubernetes-pods writing `namespace`, the overview's request and latency panels return
    data, and the gate fails naming them instead of counting the rest as the finding."""
    test = "test_every_panel_returns_data_through_the_config_s_scrape_jobs"
    config = copy_config(tmp_path / "config")
    edit(config / PROMETHEUS_YAML, "target_label: kubernetes_namespace", "target_label: namespace")
    run = run_gate(
        f"--obs-config={config}", "-k", test, junit=tmp_path / "junit.xml",
        suite="suites/dashboards", timeout=600,
    )  # fmt: skip
    assert run.returncode == 1, run.describe()
    assert test in run.failed, run.describe()
    assert "the finding dashboard-panels-return-data does not explain this" in run.output, (
        run.describe()
    )
    assert (
        "in the finding but not seen: ['mindweave-overview/Latency Percentiles', "
        "'mindweave-overview/P99 Latency', 'mindweave-overview/Request Rate', "
        "'mindweave-overview/Request Rate by Service']"
    ) in run.output, run.describe()


def test_one_more_empty_panel_turns_the_panels_finding_red(tmp_path: Path) -> None:
    """dashboard-panels-return-data pins the overview's empty panels: a ninth panel that
    selects the unattached `namespace` too (rate-limited requests) is one more, and the gate
    fails naming it instead of counting it as the finding."""
    test = "test_every_panel_returns_data_through_the_config_s_scrape_jobs"
    config = copy_config(tmp_path / "config")
    end = '"unit": "percentunit"\n        }\n      }\n    }\n  ]'
    panel = (
        '"unit": "percentunit"\n        }\n      }\n    },\n    {\n'
        '      "title": "Rate Limited",\n      "type": "timeseries",\n'
        '      "gridPos": { "h": 8, "w": 12, "x": 0, "y": 20 },\n'
        '      "targets": [{"expr": "sum(rate(http_requests_total{'
        'namespace=\\"mindweave-services\\",status_code=\\"429\\"}[5m]))"}]\n    }\n  ]'
    )
    edit(config / "dashboards" / "mindweave-overview.json", end, panel)
    run = run_gate(
        f"--obs-config={config}", "-k", test, junit=tmp_path / "junit.xml",
        suite="suites/dashboards", timeout=600,
    )  # fmt: skip
    assert run.returncode == 1 and test in run.failed, run.describe()
    assert "the finding dashboard-panels-return-data does not explain this" in run.output, (
        run.describe()
    )
    assert "not in the finding: ['mindweave-overview/Rate Limited']" in run.output, run.describe()


def test_docker_mode_does_not_hide_that_cri_lines_stay_split(tmp_path: Path) -> None:
    """`Docker_Mode On` joins docker's split lines but knows no CRI line: with it added to
    the tail input, the split-lines finding still holds, pinned to the same input."""
    test = "test_tail_input_joins_the_runtime_s_split_lines"
    config = copy_config(tmp_path / "config")
    edit(
        config / "k8s" / "monitoring" / "fluent-bit-config.yaml",
        "        Parser            docker\n",
        "        Parser            docker\n        Docker_Mode       On\n",
    )
    run = run_gate(
        f"--obs-config={config}", "-k", test, junit=tmp_path / "junit.xml",
        suite="suites/redaction",
    )  # fmt: skip
    assert run.returncode == 0 and "1 xfailed" in run.output, run.describe()
