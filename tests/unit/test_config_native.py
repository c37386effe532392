"""Configs in the forms teams keep them: a manifest naming globs, PrometheusRule CRDs, an
Alertmanager config inside a Secret or ConfigMap, Sloth's two spec formats in several files,
dashboards in ConfigMaps and GrafanaDashboard objects.

The configs below are written here, in the shapes public projects use (kube-prometheus' rule
CRDs with severity tiers and `group_left`, a Secret-wrapped alertmanager.yaml with placeholder
receivers, Sloth's examples with page/ticket pairs and disabled alerts). Each bad input must
stop with one line naming the user's file and line; rules from a CRD must reach promtool as a
plain file whose messages still name the user's file and line.
"""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.config.alertmanager import KEY
from obsgate.config.rules import OPERATOR_API
from obsgate.errors import ConfigError
from obsgate.preflight import check_alertmanager_file, check_config
from obsgate.slo.spec import config_slos
from obsgate.tools import promtool, sloth

KUBE_RULES = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: node-exporter-rules
  namespace: monitoring
  labels:
    prometheus: k8s
spec:
  groups:
  - name: node-exporter
    rules:
    - alert: NodeFilesystemSpaceFillingUp
      annotations:
        summary: Filesystem on {{ $labels.device }} is predicted to run out of space.
        runbook_url: https://runbooks.example.org/node/nodefilesystemspacefillingup
      expr: |
        node_filesystem_avail_bytes{job="node-exporter",fstype!=""}
          / node_filesystem_size_bytes < 0.15
      for: 1h
      labels:
        severity: warning
    - alert: NodeFilesystemSpaceFillingUp
      annotations:
        summary: Filesystem on {{ $labels.device }} is predicted to run out of space.
      expr: |
        node_filesystem_avail_bytes{job="node-exporter",fstype!=""}
          / node_filesystem_size_bytes < 0.05
      for: 1h
      labels:
        severity: critical
  - name: kube-pod.rules
    rules:
    - record: namespace_workload_pod:kube_pod_owner:relabel
      expr: |
        max by (namespace, pod) (kube_pod_owner{job="kube-state-metrics", owner_kind="ReplicaSet"})
        * on (namespace, pod) group_left (node) topk by (namespace, pod) (1, kube_pod_info)
    - alert: KubePodNotReady
      expr: sum by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Unknown"}) > 0
      for: 15m
      labels:
        severity: none
"""

OTHER_RULES = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {name}
spec:
  groups:
    - name: {name}
      rules:
        - alert: {alert}
          expr: vector(1)
          labels: {{severity: info}}
"""

AM_CONFIG = """\
global:
  resolve_timeout: 5m
route:
  receiver: "null"
  group_by: [namespace]
  routes:
    - matchers: ['severity = "critical"']
      receiver: pager
receivers:
  - name: "null"
  - name: pager
    webhook_configs:
      - url: http://127.0.0.1:9/placeholder
inhibit_rules:
  - source_matchers: ['severity = "critical"']
    target_matchers: ['severity = "warning"']
    equal: [namespace, alertname]
"""

SLOTH_PLAIN = """\
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Availability of the HTTP requests."
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on 'myservice' requests responses"
      page_alert:
        labels:
          severity: pageteam
      ticket_alert:
        labels:
          severity: "slack"
  - name: "requests-silent"
    objective: 99
    sli:
      raw:
        error_ratio_query: |
          1 - avg_over_time(probe_success{job="myservice"}[{{.window}}])
    alerting:
      page_alert:
        disable: true
      ticket_alert:
        disable: true
"""

SLOTH_K8S = """\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: other
spec:
  service: "other"
  slos:
    - name: "availability"
      objective: 99.5
      sli:
        events:
          errorQuery: sum(rate(http_requests_total{job="other",code=~"5.."}[{{.window}}]))
          totalQuery: sum(rate(http_requests_total{job="other"}[{{.window}}]))
      alerting:
        name: OtherAvailability
        pageAlert:
          labels: {severity: critical}
        ticketAlert:
          disable: true
"""

DASHBOARD = {
    "uid": "nodes",
    "title": "Nodes",
    "panels": [{"title": "up", "targets": [{"expr": "up"}]}],
}


GRAFANA_DASHBOARD = (
    "apiVersion: grafana.integreatly.org/v1beta1\nkind: GrafanaDashboard\nmetadata: {name: op}\n"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, text: str, nth: int = 1) -> int:
    """The 1-based line of the nth line of `path` that contains `text`."""
    hits = [i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln]
    return hits[nth - 1]


def one_line(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Materialized rule files go to a run dir of this test's own."""
    monkeypatch.setenv("OBS_GATE_RUN_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


# -- rules -----------------------------------------------------------------------------------


def test_prometheus_rule_crd_keeps_names_and_the_users_lines(tmp_path: Path, cache: Path) -> None:
    crd = write(tmp_path / "deploy" / "node-rules.yaml", KUBE_RULES)
    write(tmp_path / "obs-gate.yaml", "rules: deploy/*.yaml\n")
    cfg = ObsConfig(tmp_path)
    alerts = cfg.alert_rules()
    assert [(r.name, r.labels["severity"]) for r in alerts] == [
        ("NodeFilesystemSpaceFillingUp", "warning"),
        ("NodeFilesystemSpaceFillingUp", "critical"),
        ("KubePodNotReady", "none"),
    ]
    assert [r.line for r in alerts] == [
        line_of(crd, "- alert: NodeFilesystemSpaceFillingUp", 1),
        line_of(crd, "- alert: NodeFilesystemSpaceFillingUp", 2),
        line_of(crd, "- alert: KubePodNotReady"),
    ]
    assert {r.file for r in alerts} == {crd.resolve()}
    assert alerts[0].for_seconds == 3600 and alerts[0].group == "node-exporter"
    (record,) = cfg.recording_rules()
    assert record.line == line_of(crd, "- record: namespace_workload_pod")
    (materialized,) = cfg.rule_files()
    assert materialized != crd.resolve() and cache in materialized.parents
    user_lines, plain_lines = crd.read_text().splitlines(), materialized.read_text().splitlines()
    for rule in [*alerts, record]:  # same line numbers in the file promtool reads
        assert plain_lines[rule.line - 1] == user_lines[rule.line - 1]
    result = promtool.check_rules(materialized)
    assert result.ok and "4 rules found" in result.output, result.describe()


def test_several_crds_per_file_as_documents_and_in_a_list(tmp_path: Path, cache: Path) -> None:
    def indented(text: str) -> str:
        return textwrap.indent(text, "    ")[4:]  # continues a `- ` line

    lst = (
        "apiVersion: v1\nkind: List\nitems:\n  - "
        + indented(OTHER_RULES.format(name="in-list-a", alert="InListA"))
        + "  - "
        + indented(OTHER_RULES.format(name="in-list-b", alert="InListB"))
    )
    multi = "\n---\n".join(
        [
            OTHER_RULES.format(name="doc-a", alert="DocA"),
            OTHER_RULES.format(name="doc-b", alert="DocB"),
        ]
    )
    path_multi = write(tmp_path / "prometheus" / "rules" / "multi.yaml", multi)
    path_list = write(tmp_path / "prometheus" / "rules" / "sub" / "list.yml", lst)
    cfg = ObsConfig(tmp_path)  # the default layout, with a subfolder and .yml
    got = {(r.name, r.file.name, r.line) for r in cfg.alert_rules()}
    assert got == {
        ("DocA", "multi.yaml", line_of(path_multi, "- alert: DocA")),
        ("DocB", "multi.yaml", line_of(path_multi, "- alert: DocB")),
        ("InListA", "list.yml", line_of(path_list, "- alert: InListA")),
        ("InListB", "list.yml", line_of(path_list, "- alert: InListB")),
    }
    assert len(cfg.rule_files()) == 4
    result = promtool.check_rules(*cfg.rule_files())
    assert result.ok, result.describe()


def test_plain_rule_files_stay_the_users_own(tmp_path: Path, cache: Path) -> None:
    plain = write(
        tmp_path / "prometheus" / "rules" / "team" / "a.yml",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n",
    )
    cfg = ObsConfig(tmp_path)
    assert cfg.rule_files() == [plain.resolve()]
    assert not cache.exists()


def test_a_deployment_where_rules_are_expected_is_one_line(tmp_path: Path, cache: Path) -> None:
    bad = write(
        tmp_path / "prometheus" / "rules" / "x.yaml",
        OTHER_RULES.format(name="ok", alert="Ok")
        + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
    )
    with pytest.raises(ConfigError) as exc:
        ObsConfig(tmp_path).alert_rules()
    message = one_line(exc)
    assert message.startswith(f"{bad.resolve()}:{line_of(bad, 'apiVersion: apps/v1')}: ")
    assert "a Deployment (apps/v1), not rules" in message and "PrometheusRule" in message


def test_a_crd_of_another_kind_is_one_line(tmp_path: Path, cache: Path) -> None:
    bad = write(
        tmp_path / "rules.yaml",
        "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\n",
    )
    write(tmp_path / "obs-gate.yaml", "rules: [rules.yaml]\n")
    with pytest.raises(ConfigError) as exc:
        ObsConfig(tmp_path).rule_files()
    assert one_line(exc).startswith(
        f"{bad.resolve()}:1: a ServiceMonitor (monitoring.coreos.com/v1)"
    )


def test_a_bad_rule_in_a_crd_is_named_at_the_users_line(tmp_path: Path, cache: Path) -> None:
    crd = write(tmp_path / "rules.yaml", KUBE_RULES.replace("> 0\n", "> > 0\n"))
    write(tmp_path / "obs-gate.yaml", "rules: rules.yaml\n")
    with pytest.raises(ConfigError) as exc:
        ObsConfig(tmp_path).alert_rules()
    expr_line = line_of(crd, "kube_pod_status_phase")
    assert one_line(exc).startswith(
        f"{crd.resolve()}:{expr_line}: alert KubePodNotReady: bad PromQL"
    )


# -- preflight: promtool on CRD rules ---------------------------------------------------------


def crd_config(root: Path, rules: str) -> Path:
    crd = write(root / "k8s" / "rules.yaml", rules)
    write(root / "k8s" / "alertmanager-secret.yaml", secret_string_data(AM_CONFIG))
    write(
        root / "obs-gate.yaml",
        "rules: k8s/rules.yaml\nalertmanager: k8s/alertmanager-secret.yaml\n"
        "policy: {required_labels: [severity]}\n",
    )
    return crd


def test_preflight_accepts_a_crd_config(tmp_path: Path, cache: Path) -> None:
    crd_config(tmp_path, KUBE_RULES)
    check_config(ObsConfig(tmp_path), 240.0)  # promtool and amtool both judge it


def test_preflight_names_the_crd_file_and_line_promtool_refuses(
    tmp_path: Path, cache: Path
) -> None:
    # A misspelt key: the loader reads only the keys it knows, and promtool (2.x and 3.x
    # alike) refuses an unknown field, naming its line.
    bad = "annotation:"
    broken = KUBE_RULES.replace("annotations:", bad, 1)
    crd = crd_config(tmp_path, broken)
    cfg = ObsConfig(tmp_path)
    cfg.alert_rules()  # the loader's parser lets it through: promtool is the judge
    with pytest.raises(ConfigError) as exc:
        check_config(cfg, 240.0)
    message = one_line(exc)
    line = line_of(crd, bad)
    assert f"{crd.resolve()} (PrometheusRule monitoring/node-exporter-rules)" in message, message
    assert f"line {line}:" in message and "field annotation not found" in message, message
    assert str(cache) not in message


# -- Alertmanager ----------------------------------------------------------------------------


def secret_string_data(config: str) -> str:
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: alertmanager-main\n"
        "  namespace: monitoring\ntype: Opaque\nstringData:\n  alertmanager.yaml: |-\n"
        + textwrap.indent(config, "    ")
    )


def am_config(root: Path, text: str, name: str = "alertmanager-secret.yaml") -> ObsConfig:
    write(root / "manifests" / name, text)
    write(root / "obs-gate.yaml", f"alertmanager: manifests/{name}\n")
    return ObsConfig(root)


def test_alertmanager_in_a_secret_string_data(tmp_path: Path) -> None:
    cfg = am_config(tmp_path, secret_string_data(AM_CONFIG))
    data = cfg.alertmanager()
    assert data["route"]["routes"][0]["receiver"] == "pager"
    assert [r["name"] for r in data["receivers"]] == ["null", "pager"]
    check_alertmanager_file(cfg.alertmanager_source())  # real amtool accepts it


def test_alertmanager_in_a_secret_base64_data(tmp_path: Path) -> None:
    encoded = base64.b64encode(AM_CONFIG.encode()).decode()
    text = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: am}}\ndata:\n  {KEY}: {encoded}\n"
    cfg = am_config(tmp_path, text)
    assert cfg.alertmanager()["inhibit_rules"][0]["equal"] == ["namespace", "alertname"]
    assert "base64" in cfg.alertmanager_source().describe()


def test_alertmanager_in_a_configmap(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: am}\ndata:\n  alertmanager.yaml: |\n"
    cfg = am_config(tmp_path, text + textwrap.indent(AM_CONFIG, "    "), "cm.yaml")
    assert cfg.alertmanager()["route"]["receiver"] == "null"


def test_amtool_errors_in_a_secret_name_the_users_line(tmp_path: Path) -> None:
    broken = AM_CONFIG.replace(
        "  group_by: [namespace]", "  group_by: [namespace]\n  group_wiat: 1m"
    )
    cfg = am_config(tmp_path, secret_string_data(broken))
    path = tmp_path / "manifests" / "alertmanager-secret.yaml"
    with pytest.raises(ConfigError) as exc:
        check_alertmanager_file(cfg.alertmanager_source())
    message = one_line(exc)
    assert str(path.resolve()) in message and "Secret monitoring/alertmanager-main" in message
    assert f"line {line_of(path, 'group_wiat')}" in message, message


def test_a_secret_without_alertmanager_yaml_is_one_line(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: am}\nstringData:\n  config.yaml: x\n"
    cfg = am_config(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        cfg.alertmanager()
    message = one_line(exc)
    assert message.startswith(
        f"{(tmp_path / 'manifests' / 'alertmanager-secret.yaml').resolve()}:1: "
    )
    assert "no 'alertmanager.yaml'" in message and "config.yaml" in message


def test_alertmanager_config_crd_is_not_supported_yet(tmp_path: Path) -> None:
    text = f"apiVersion: {OPERATOR_API}alpha1\nkind: AlertmanagerConfig\nmetadata: {{name: x}}\n"
    with pytest.raises(ConfigError, match=r":1: AlertmanagerConfig x: .*not supported yet") as exc:
        am_config(tmp_path, text).alertmanager()
    one_line(exc)


# -- Sloth -----------------------------------------------------------------------------------


def slo_config(root: Path, files: dict[str, str]) -> ObsConfig:
    for name, text in files.items():
        write(root / "slos" / name, text)
    write(root / "obs-gate.yaml", "slos: slos/*\n")
    return ObsConfig(root)


def test_sloth_specs_of_both_formats_in_several_files(tmp_path: Path) -> None:
    cfg = slo_config(tmp_path, {"myservice.yml": SLOTH_PLAIN, "other.yaml": SLOTH_K8S})
    slos = {s.id: s for s in config_slos(cfg)}
    assert sorted(slos) == [
        "myservice-requests-availability",
        "myservice-requests-silent",
        "other-availability",
    ]
    avail = slos["myservice-requests-availability"]
    assert avail.query("error", "5m").endswith('code=~"(5..|429)"}[5m]))')
    assert avail.page.labels == {"category": "availability", "severity": "pageteam"}
    assert avail.ticket.labels["severity"] == "slack" and not avail.ticket.disabled
    assert avail.line == line_of(
        tmp_path / "slos" / "myservice.yml", '- name: "requests-availability"'
    )
    silent = slos["myservice-requests-silent"]
    assert silent.page.disabled and silent.ticket.disabled
    assert silent.ratio_query("1h").startswith("(1 - avg_over_time(probe_success")
    assert "[1h]" in silent.ratio_query("1h")
    other = slos["other-availability"]
    assert other.page.labels == {"severity": "critical"} and other.ticket.disabled


def test_sloth_itself_accepts_the_plain_spec(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yml", SLOTH_PLAIN)
    groups = sloth.generate(spec)
    alerts = [r["alert"] for g in groups for r in g["rules"] if "alert" in r]
    assert alerts == ["MyServiceHighErrorRate", "MyServiceHighErrorRate"]  # page and ticket


def test_an_unknown_sloth_version_is_one_line(tmp_path: Path) -> None:
    cfg = slo_config(
        tmp_path, {"a.yaml": SLOTH_PLAIN.replace('"prometheus/v1"', '"prometheus/v2"')}
    )
    with pytest.raises(ConfigError) as exc:
        config_slos(cfg)
    message = one_line(exc)
    assert message.startswith(
        f"{(tmp_path / 'slos' / 'a.yaml').resolve()}:1: unknown Sloth spec version"
    )


def test_the_crds_key_in_a_plain_spec_is_named_with_the_right_one(tmp_path: Path) -> None:
    cfg = slo_config(tmp_path, {"a.yaml": SLOTH_PLAIN.replace("error_query:", "errorQuery:")})
    with pytest.raises(ConfigError) as exc:
        config_slos(cfg)
    message = one_line(exc)
    line = line_of(tmp_path / "slos" / "a.yaml", '- name: "requests-availability"')
    assert message.startswith(f"{(tmp_path / 'slos' / 'a.yaml').resolve()}:{line}: ")
    assert "sli.events.errorQuery" in message and "write sli.events.error_query" in message


def test_an_sli_plugin_is_refused_in_one_line(tmp_path: Path) -> None:
    events = SLOTH_K8S[SLOTH_K8S.index("        events:") : SLOTH_K8S.index("      alerting:")]
    plugin = SLOTH_K8S.replace(
        events, "        plugin:\n          id: sloth-common/kubernetes/apiserver/availability\n"
    )
    cfg = slo_config(tmp_path, {"p.yaml": plugin})
    with pytest.raises(ConfigError, match=r"SLI plugins .* are not supported yet") as exc:
        config_slos(cfg)
    one_line(exc)


def test_a_duplicate_slo_across_files_names_both(tmp_path: Path) -> None:
    cfg = slo_config(tmp_path, {"a.yaml": SLOTH_K8S, "b.yaml": SLOTH_K8S})
    with pytest.raises(
        ConfigError,
        match=r"b\.yaml:\d+: SLO other-availability: duplicate SLO id, also at .*a\.yaml:\d+",
    ):
        config_slos(cfg)


# -- dashboards ------------------------------------------------------------------------------


def test_dashboards_plain_in_a_configmap_and_in_a_grafana_dashboard(tmp_path: Path) -> None:
    write(tmp_path / "grafana" / "plain.json", json.dumps(DASHBOARD))
    data = {"nodes-cm.json": json.dumps({**DASHBOARD, "uid": "cm"}), "README": "x"}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dash"}, "data": data}
    operator = (
        GRAFANA_DASHBOARD
        + "spec:\n  json: |\n"
        + textwrap.indent(json.dumps({**DASHBOARD, "uid": "op"}, indent=2), "    ")
    )
    write(tmp_path / "grafana" / "cm.yaml", yaml.safe_dump(cm))
    write(tmp_path / "grafana" / "operator.yaml", operator)
    write(tmp_path / "obs-gate.yaml", "dashboards: grafana/*\n")
    got = {(d.doc["uid"], d.file.name, d.obj) for d in ObsConfig(tmp_path).dashboards()}
    assert got == {
        ("nodes", "plain.json", ""),
        ("cm", "cm.yaml", 'ConfigMap dash, data["nodes-cm.json"]'),
        ("op", "operator.yaml", "GrafanaDashboard op, spec.json"),
    }


def test_bad_json_in_a_grafana_dashboard_names_the_users_line(tmp_path: Path) -> None:
    body = json.dumps(DASHBOARD, indent=2).replace('"title": "up"', '"title": "up",,')
    path = write(
        tmp_path / "dashboards" / "op.yaml",
        GRAFANA_DASHBOARD + "spec:\n  json: |\n" + textwrap.indent(body, "    "),
    )
    with pytest.raises(ConfigError) as exc:
        ObsConfig(tmp_path).dashboards()
    assert one_line(exc).startswith(f"{path.resolve()}:{line_of(path, ',,')}: GrafanaDashboard op")


def test_a_configmap_without_dashboards_is_one_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "dashboards" / "x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
    )
    with pytest.raises(ConfigError, match=r"x\.yaml:1: ConfigMap x has no \*\.json key") as exc:
        ObsConfig(tmp_path).dashboards()
    assert str(path.resolve()) in one_line(exc)


# -- the manifest ----------------------------------------------------------------------------


def test_an_unknown_manifest_key_names_its_line_and_the_known_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "obs-gate.yaml", "policy: {}\nservers_versions: current\n")
    with pytest.raises(ConfigError) as exc:
        ObsConfig(tmp_path)
    message = one_line(exc)
    assert message.startswith(f"{path}:2: unknown key 'servers_versions'")
    assert "server_versions" in message and "promtool_tests" in message


def test_a_glob_matching_nothing_names_the_glob_and_its_line(tmp_path: Path) -> None:
    write(tmp_path / "rules" / "a.yaml", OTHER_RULES.format(name="a", alert="A"))
    path = write(tmp_path / "obs-gate.yaml", "rules:\n  - rules/*.yaml\n  - rulez/*.yaml\n")
    with pytest.raises(ConfigError) as exc:
        ObsConfig(tmp_path)
    assert one_line(exc).startswith(f"{path}:3: rules glob 'rulez/*.yaml' matches no file")


def test_the_manifest_says_which_parts_the_config_has(tmp_path: Path, cache: Path) -> None:
    write(tmp_path / "k8s" / "rules.yaml", KUBE_RULES)
    write(tmp_path / "dashboards" / "d.json", json.dumps(DASHBOARD))  # default layout
    write(
        tmp_path / "obs-gate.yaml",
        "rules: k8s/*.yaml\ndashboards: []\npolicy: {severities: [critical, warning]}\n"
        "server_versions: current\nservices: {}\n",
    )
    cfg = ObsConfig(tmp_path)
    assert cfg.parts_present() == ["rules"]
    assert not cfg.has("dashboards") and cfg.dashboards() == []  # declared absent
    assert cfg.manifest.raw["policy"] == {"severities": ["critical", "warning"]}
    assert "no slos in" in cfg.missing("slos")


def test_the_mindweave_config_keeps_its_layout() -> None:
    cfg = ObsConfig(DEFAULT_CONFIG_DIR)
    root = cfg.root
    assert cfg.rule_files() == [root / "prometheus" / "rules" / "mindweave-alerts.yaml"]
    assert cfg.alertmanager_file() == root / "alertmanager" / "alertmanager.yaml"
    assert cfg.slo_files() == [root / "slo" / "mindweave-slos.yaml"]
    assert cfg.slo_policy_file() == root / "slo" / "error-budget-policy.yaml"
    assert [d.file.name for d in cfg.dashboards()] == [
        "mindweave-business.json",
        "mindweave-overview.json",
    ]
    assert cfg.scenarios_dir == root / "scenarios"
    assert set(cfg.parts_present()) >= {
        "rules",
        "alertmanager",
        "slos",
        "dashboards",
        "prometheus",
        "app_settings",
        "scenarios",
    }
