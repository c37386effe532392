"""Runbook operator templates: read with the user's lines, judged by Go's own text/template
(the gotemplate-check program, built with the machine's go), and held against the labels
and annotations their alert carries."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsgate.applicability import Applicability
from obsgate.config import AlertRule, ObsConfig
from obsgate.config.runbooks import read_runbooks
from obsgate.errors import ConfigError, GateError, ToolMissing
from obsgate.runbooks import field_offenders, parse_offenders, templates
from obsgate.scenarios.model import scenario_from_mapping
from obsgate.tools import gobuild, gotemplate
from obsgate.tools.gotemplate import check_templates, checker_binary

OPERATOR = """\
# runbooks
apiVersion: v1
kind: ConfigMap
metadata: {name: runbook-configs}
data:
  scale.yaml: |
    name: scale
    trigger:
      alert: HighErrors
      severity: critical
    steps:
      - name: scale-up
        condition: "{{ .Metrics.rate > 0.1 }}"
        command: |
          kubectl scale deployment {{ .Labels.service }}
          --replicas={{ add .Current.replicas 2 }}
          {{ if .Labels.pod }}
      - name: notify
        message: "{{ .Annotations.summary }} {{ .Annotations.dashboard_url }}"
  quiet.yaml: "{name: quiet, trigger: {alert: Missing}, steps: [{command: 'x {{ .Labels.a }}'}]}"
"""


def operator_file(tmp_path: Path, text: str = OPERATOR) -> Path:
    path = tmp_path / "runbook-operator.yaml"
    path.write_text(text)
    return path


def rule(name: str, expr: str, **annotations: str) -> AlertRule:
    labels = {"severity": "critical"}
    return AlertRule("g", None, name, expr, 0.0, labels, annotations, Path("r.yaml"), 4)


def test_runbooks_are_read_with_the_user_s_lines(tmp_path: Path) -> None:
    scale, quiet = read_runbooks(operator_file(tmp_path))
    assert (scale.name, scale.alert, scale.severity, scale.line) == ("scale", "HighErrors",
                                                                      "critical", 7)  # fmt: skip
    by_where = {t.where: t for t in scale.templates}
    assert by_where["steps[scale-up].condition"].line == 13
    command = by_where["steps[scale-up].command"]
    assert (command.line, command.block, command.file_line(2)) == (15, True, 16)
    # a runbook written as a flow scalar: its lines do not map, all are placed at its key
    assert quiet.alert == "Missing" and {t.line for t in quiet.templates} == {20}


def test_a_plain_runbook_document_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntrigger: {alert: A}\nsteps:\n  - command: '{{ .Labels.x }}'\n")
    (runbook,) = read_runbooks(path)
    assert runbook.alert == "A" and runbook.templates[-1].where == "steps[0].command"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n", "r.yaml:1: not a runbook"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a.json: '{}'}\n",
         "r.yaml:1: a ConfigMap with no *.yaml key"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a.yaml: |\n"
         "    name: a\n    steps: [\n", "r.yaml:8: data['a.yaml']"),
    ],
)  # fmt: skip
def test_a_bad_runbook_file_is_one_line_naming_file_and_line(
    tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_runbooks(path)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_go_s_parser_places_the_error_and_reports_fields_and_functions() -> None:
    checks = check_templates(
        [
            ("infix", "{{ .Metrics.rate > 0.1 }}"),
            ("unclosed", "line one\n{{ if .Labels.pod }}\nthree"),
            ("ok", "{{ add .Current.replicas 2 }} {{ .Metrics.rate | percent }} "
                   "{{ index .Labels \"pod\" }} {{ with .Other }}{{ .Labels.inner }}"
                   "{{ $.Annotations.summary }}{{ end }} {{ printf \"%s\" .Labels.service }}"
                   "{{ define \"d\" }}{{ $.Labels.defined }}{{ end }}"),
        ]
    )  # fmt: skip
    assert (checks["infix"].error, checks["infix"].line) == ('unexpected ">" in operand', 1)
    assert checks["unclosed"].error == "unexpected EOF" and checks["unclosed"].line == 3
    ok = checks["ok"]
    assert ok.error is None
    # not Labels.inner (inside `with`, dot is .Other) nor Labels.defined (in a define, `$`
    # is the template's argument); `$` in the template itself is the root
    assert {f for f in ok.fields if "." in f} == {
        "Current.replicas",
        "Metrics.rate",
        "Labels.pod",
        "Annotations.summary",
        "Labels.service",
    }
    assert ok.funcs == {"add": (2,), "percent": (1,)}  # printf is text/template's own


def test_parse_offenders_name_runbook_path_and_the_file_line(tmp_path: Path) -> None:
    found = templates(read_runbooks(operator_file(tmp_path)))
    offenders = parse_offenders(found, check_templates((k, t.text) for k, t in found.items()))
    assert set(offenders) == {
        'scale: steps[scale-up].condition: unexpected ">" in operand',
        "scale: steps[scale-up].command: unexpected EOF",
    }
    assert offenders["scale: steps[scale-up].command: unexpected EOF"].startswith(
        f"{tmp_path / 'runbook-operator.yaml'}:17:"
    )


def test_field_offenders_hold_each_runbook_to_its_alert(tmp_path: Path) -> None:
    path = operator_file(tmp_path, OPERATOR.replace("{{ if .Labels.pod }}", ""))
    runbooks = read_runbooks(path)
    found = templates(runbooks)
    checks = check_templates((k, t.text) for k, t in found.items())
    dropped = rule("HighErrors", "sum(rate(errors_total[5m])) > 1", summary="s")
    assert set(field_offenders(runbooks, checks, [dropped], [])) == {
        "scale: .Labels.service not on HighErrors",
        "scale: .Annotations.dashboard_url not on HighErrors",
        "quiet: no rule Missing",
    }
    kept = rule("HighErrors", "sum by (service) (rate(errors_total[5m])) > 1", summary="s",
                dashboard_url="u")  # fmt: skip
    assert set(field_offenders(runbooks, checks, [kept], [])) == {"quiet: no rule Missing"}
    # labels passing through from the series: not judged without a scenario showing them
    raw = rule("HighErrors", "errors_total > 1", summary="s", dashboard_url="u")
    assert set(field_offenders(runbooks, checks, [raw], [])) == {"quiet: no rule Missing"}
    shown = scenario_from_mapping(
        {"id": "fires", "alert": "HighErrors", "interval": "1m", "layers": ["exact"],
         "live_note": "unit", "series": [{"series": "errors_total{pod=\"p\"}", "values": "2x5"}],
         "expect": [{"at": "2m", "firing": [{"labels": {"pod": "p", "severity": "critical"}}]}]},
        Path("s.yaml"),
    )  # fmt: skip
    assert "scale: .Labels.service not on HighErrors" in field_offenders(
        runbooks, checks, [raw], [shown]
    )
    warning = rule("HighErrors", "sum by (service) (x) > 1", summary="s", dashboard_url="u")
    warning.labels["severity"] = "warning"
    assert "scale: no rule HighErrors with severity critical" in field_offenders(
        runbooks, checks, [warning], []
    )


def test_without_go_one_line_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(gobuild.ENV_VAR, "/nonexistent/go")
    with pytest.raises(ToolMissing, match="OBS_GATE_GO=/nonexistent/go is not an executable"):
        gotemplate.go_binary()
    monkeypatch.delenv(gobuild.ENV_VAR)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(gobuild, "GO_DEFAULT_DIR", "/nonexistent")
    with pytest.raises(ToolMissing, match=r"go not found: .* install Go 1\.18 or later"):
        gotemplate.go_binary()


def test_a_failed_build_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBS_GATE_CACHE", str(tmp_path / "cache"))
    broken = tmp_path / "main.go"
    broken.write_text(gotemplate.SOURCE.read_text().replace("func main() {", "func main() {\n\tx"))
    with pytest.raises(GateError) as caught:
        checker_binary(broken)
    said = str(caught.value)
    assert "go build of gotemplate-check" in said and "main.go" in said and "\n" not in said
    assert not [p for p in (tmp_path / "cache").rglob("gotemplate-check*") if p.is_file()]


def test_the_checker_is_built_once_per_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_GATE_CACHE", str(tmp_path / "cache"))
    first = checker_binary()
    assert first.parent.name == gotemplate.source_hash() and first.is_file()
    stamp = first.stat().st_mtime_ns
    assert checker_binary() == first and first.stat().st_mtime_ns == stamp
    changed = tmp_path / "main.go"
    changed.write_text(gotemplate.SOURCE.read_text() + "\n// changed\n")
    assert checker_binary(changed).parent != first.parent


def test_a_config_without_runbooks_is_not_applicable(tmp_path: Path) -> None:
    assert Applicability(ObsConfig(tmp_path)).lacks("runbooks") == (
        "no runbook operator config (k8s/monitoring/runbook-operator.yaml (default layout))"
    )
    (tmp_path / "ops").mkdir()
    operator_file(tmp_path / "ops")
    (tmp_path / "obs-gate.yaml").write_text("runbooks: ops/*.yaml\n")
    config = ObsConfig(tmp_path)
    assert Applicability(config).lacks("runbooks") is None
    assert [r.name for r in config.runbooks()] == ["scale", "quiet"]
