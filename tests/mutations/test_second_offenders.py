"""Every pinned finding of the routing, inhibition, SLO and metrics checks hides nothing: one
more offender of a check, added in a copy of the config, turns that check red, and the
failure names the new offender. Each suite's offenders go into one copy (each check reads
its own part of the config, so they do not mask each other) and run as one child gate on
that suite's checks, with the seed as the control (every check a strict xfail).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.gate_subprocess import RULES, Breakage, GateRun, copy_config, edit, run_gate

ALERTMANAGER = Path("alertmanager") / "alertmanager.yaml"
SLOS = Path("slo") / "mindweave-slos.yaml"
PROMETHEUS = Path("prometheus") / "prometheus.yaml"

OFFENDERS: dict[str, list[Breakage]] = {
    "suites/routing": [
        Breakage(
            id="routes-reachable",
            old="        team: customer-success",
            new="        team: customer-succes",
            must_fail=("test_every_route_is_reachable_by_an_alert_the_rules_produce",),
            must_say="not in the finding: ['slack-customer-success']",
            file=ALERTMANAGER,
        ),
        Breakage(
            id="alertmanager-templates-exist",
            old="send_resolved: true\n        title: '{{ template \"slack.default.title\" . }}'\n"
            "        text: '{{ template \"slack.default.text\" . }}'\n\ninhibit_rules:",
            new="send_resolved: true\n        title: '{{ template \"slack.cs.title\" . }}'\n"
            "        text: '{{ template \"slack.default.text\" . }}'\n\ninhibit_rules:",
            must_fail=("test_every_template_a_receiver_uses_exists",),
            must_say="not in the finding: ['slack-customer-success: slack.cs.title']",
            file=ALERTMANAGER,
        ),
        Breakage(
            id="pagerduty-events-api-v1",
            old="  - name: 'slack-customer-success'\n",
            new="  - name: 'pagerduty-oncall'\n    pagerduty_configs:\n"
            "      - service_key: 'oncall-integration-key'\n\n"
            "  - name: 'slack-customer-success'\n",
            must_fail=("test_pagerduty_receivers_use_events_api_v2",),
            must_say="not in the finding: ['pagerduty-oncall: service_key']",
            file=ALERTMANAGER,
        ),
        Breakage(
            id="alertmanager-env-vars-not-expanded",
            old="smtp_from: 'alerts@mindweave.io'",
            new="smtp_from: '${ALERTS_FROM}'",
            must_fail=("test_alertmanager_loads_the_config_as_written",),
            must_say="not in the finding: ['global.smtp_from: ${ALERTS_FROM}']",
            file=ALERTMANAGER,
        ),
    ],
    "suites/inhibition": [
        Breakage(
            id="inhibit-rules-can-match",
            old="    equal: ['namespace']\n",
            new="    equal: ['namespace']\n\n  - source_match:\n      alertname: 'ServiceDown'\n"
            "    target_match:\n      alertname: 'DatabaseDown'\n    equal: ['namespace']\n",
            must_fail=("test_every_inhibit_rule_can_match_what_the_rules_produce",),
            must_say="not in the finding: "
            + repr(
                [
                    'inhibit_rules[2]: {alertname="ServiceDown"} mutes {alertname="DatabaseDown"} '
                    "with equal ['namespace']"
                ]
            ),
            file=ALERTMANAGER,
        ),
    ],
    "suites/slo": [
        Breakage(
            id="sli-labels-attached-by-scrape",
            old='totalQuery: sum(rate(http_requests_total{service="api-gateway"}',
            new='totalQuery: sum(rate(http_requests_total{service="api-gateway",tenant="acme"}',
            must_fail=("test_sli_queries_select_on_labels_the_scrape_config_attaches",),
            must_say="not in the finding: ['api-gateway-availability: http_requests_total tenant']",
            file=SLOS,
        ),
    ],
    "suites/metrics": [
        Breakage(
            id="consumer-metrics-defined",
            old="          mindweave_budget_usage_percent > 80",
            new="          mindweave_budget_usage_percent > 80 unless mindweave_budget_exempt == 1",
            must_fail=("test_every_app_metric_the_config_queries_is_defined",),
            must_say="not in the finding: ['mindweave_budget_exempt']",
            file=RULES,
        ),
        Breakage(
            id="relabel-writes-dropped-label",
            old="target_label: __metrics_path__",
            new="target_label: __meta_metrics_path",
            must_fail=(
                "test_every_relabel_rule_writes_a_label_prometheus_keeps_or_a_later_rule_reads",
            ),
            must_say="not in the finding: "
            "['kubernetes-pods relabel_configs[1]: writes __meta_metrics_path']",
            file=PROMETHEUS,
        ),
        Breakage(
            id="scrape-through-service-address",
            old="        target_label: __meta_kubernetes_pod_container_port_number\n",
            new="        target_label: __meta_kubernetes_pod_container_port_number\n\n"
            "  - job_name: 'mindweave-canary'\n    kubernetes_sd_configs:\n"
            "      - role: service\n        namespaces:\n          names:\n"
            "            - mindweave-services\n",
            must_fail=("test_each_pod_of_the_app_is_scraped_as_itself",),
            must_say="not in the finding: ['mindweave-canary: api-gateway Service at "
            "api-gateway.mindweave-services.svc:3000', 'mindweave-canary: usage-tracker Service "
            "at usage-tracker.mindweave-services.svc:3001']",
            file=PROMETHEUS,
        ),
    ],
}


def suite_run(root: Path, suite: str, mutated: bool) -> GateRun:
    cases = OFFENDERS[suite]
    name = f"{Path(suite).name}-{'mutated' if mutated else 'seed'}"
    config = copy_config(root / name / "config")
    for case in cases if mutated else []:
        assert case.file is not None
        edit(config / case.file, case.old, case.new)
    tests = " or ".join(case.must_fail[0] for case in cases)
    return run_gate(
        f"--obs-config={config}", "-k", tests, junit=root / name / "junit.xml", suite=suite
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], GateRun]:
    root = tmp_path_factory.mktemp("second-offenders")
    jobs = [(suite, mutated) for suite in OFFENDERS for mutated in (False, True)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(lambda job: suite_run(root, *job), jobs)
        return dict(zip(jobs, done, strict=True))


@pytest.mark.parametrize("suite", list(OFFENDERS))
def test_the_seed_shows_each_pinned_finding(
    suite: str, runs: dict[tuple[str, bool], GateRun]
) -> None:
    run = runs[(suite, False)]
    expected = len(OFFENDERS[suite])
    assert run.returncode == 0 and f"{expected} xfailed" in run.output, run.describe()


@pytest.mark.parametrize(
    ("suite", "case"),
    [(suite, case) for suite, cases in OFFENDERS.items() for case in cases],
    ids=lambda x: x.id if isinstance(x, Breakage) else Path(x).name,
)
def test_one_more_offender_turns_the_pinned_finding_red(
    suite: str, case: Breakage, runs: dict[tuple[str, bool], GateRun]
) -> None:
    run = runs[(suite, True)]
    test = case.must_fail[0]
    assert run.returncode == 1 and test in run.failed, run.describe()
    assert case.must_say in run.output, run.describe()
    assert f"the finding {case.id} does not explain this" in run.output, run.describe()
