"""SLO findings (`<config>/scenarios/slo/findings.yaml`) pin each check's exact problems: the
loader refuses a pin it cannot hold the check to, and the judge takes only those problems
as the finding. promtool (the chosen version line) really runs the detection parse's case."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from _pytest.outcomes import Failed, XFailed

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError
from obsgate.slo import detection
from obsgate.slo.intent import Increment, SLIIntent, failure_text, judge, load_intent
from obsgate.tools import promtool
from obsgate.tools.sloth import SlothRefused

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "config" / "mindweave"
FINDINGS = Path("scenarios") / "slo" / "findings.yaml"


def _config(tmp_path: Path, findings: dict) -> ObsConfig:
    root = tmp_path / "config"
    (root / FINDINGS.parent).mkdir(parents=True)
    (root / FINDINGS).write_text(yaml.safe_dump({"findings": findings}))
    return ObsConfig(root)


def _finding(**changes: object) -> dict:
    raw = {
        "slos": ["a", "b"],
        "checks": ["policy-budget"],
        "problems": {"policy-budget": {"a": ["too high"], "b": ["too low"]}},
        "finding": "a finding",
    }
    return {**raw, **changes}


def test_the_shipped_findings_pin_problems_for_every_check_and_slo() -> None:
    intent = load_intent(ObsConfig(SEED))
    assert intent is not None and intent.findings
    for finding in intent.findings:
        pinned = {(c, s) for c in finding.checks for s in finding.slos}
        assert set(finding.problems) == pinned, finding.id
        assert all(finding.problems.values()), finding.id


def test_a_list_pins_every_slo_of_the_finding_and_a_mapping_each_its_own(tmp_path) -> None:
    both = _finding(problems={"policy-budget": ["too high", " too\n  high "]})
    intent = load_intent(_config(tmp_path, {"f": both}))
    assert intent is not None
    (finding,) = intent.findings
    assert finding.problems == {
        ("policy-budget", "a"): frozenset({"too high"}),
        ("policy-budget", "b"): frozenset({"too high"}),
    }


def test_shows_is_refused_in_one_line_saying_what_to_write(tmp_path: Path) -> None:
    old = _finding(shows="slo_target")
    del old["problems"]
    with pytest.raises(ConfigError) as raised:
        load_intent(_config(tmp_path, {"f": old}))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'config' / FINDINGS}: findings.f: 'shows'")
    assert "'problems: {<check>: [<problem>, ...]}' instead" in message


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"problems": None}, "give 'slos', 'checks', 'problems' and 'finding'"),
        ({"problems": {"routing-labels": ["x"]}}, "maps each of the checks ['policy-budget']"),
        ({"problems": {"policy-budget": {"a": ["x"]}}}, "a list per SLO of ['a', 'b']"),
        ({"problems": {"policy-budget": []}}, "a finding has at least one"),
        ({"problems": {"policy-budget": "too high"}}, "give the list of problems"),
    ],
)
def test_a_pin_that_cannot_hold_the_check_is_refused(
    tmp_path: Path, changes: dict, says: str
) -> None:
    with pytest.raises(ConfigError, match=r"findings\.f: ") as raised:
        load_intent(_config(tmp_path, {"f": _finding(**changes)}))
    assert says in str(raised.value)
    assert "\n" not in str(raised.value)


def _pin(tmp_path: Path, slo: str):  # type: ignore[no-untyped-def]
    config = _config(tmp_path, {"f": _finding()})
    intent = load_intent(config)
    assert intent is not None
    finding = intent.finding("policy-budget", slo)
    assert finding is not None
    return finding.pinned("policy-budget", slo, config)


def test_exactly_the_pinned_problems_are_the_finding(tmp_path: Path) -> None:
    with pytest.raises(XFailed, match="finding: f: a finding"):
        judge(["too high"], "broken", _pin(tmp_path, "a"))


@pytest.mark.parametrize(
    ("problems", "says"),
    [
        (["too high", "no budget"], "not in the finding: ['no budget']"),
        (["too low"], "not in the finding: ['too low']; in the finding but not seen: ['too high']"),
        ([], "the finding is fixed, remove it: f"),
    ],
)
def test_one_problem_more_fewer_or_other_fails_naming_it(
    tmp_path: Path, problems: list[str], says: str
) -> None:
    with pytest.raises((Failed, AssertionError)) as raised:
        judge(problems, failure_text("SLO a:", problems), _pin(tmp_path, "a"))
    assert says in str(raised.value)


def test_the_failure_lists_each_problem_then_the_detail() -> None:
    text = failure_text("SLO a: wrong:", ["one", "two"], "$ promtool ...")
    assert text == "SLO a: wrong:\n  - one\n  - two\n$ promtool ..."


@pytest.mark.parametrize(
    ("said", "reason"),
    [
        (
            'error: "generate" command failed: could not generate "my-slo" slo: slo processor '
            'failed: invalid slo "my-slo": invalid alert: page alert: alert name is required',
            "invalid alert: page alert: alert name is required",
        ),
        (
            "error: could not load SPEC: yaml: line 3: bad",
            "could not load my-slo.yaml: yaml: line 3: bad",
        ),
        ("error: could not generate SLOs: timeout", "could not generate SLOs: timeout"),
    ],
)
def test_sloths_refusal_reads_the_same_whatever_the_temp_dir(
    tmp_path: Path, said: str, reason: str
) -> None:
    """Sloth's reason without the wrappers of its error chain and without the temp path."""
    spec = tmp_path / "slo-spec-x1y2" / "my-slo.yaml"
    refused = SlothRefused(spec, said.replace("SPEC", str(spec)))
    assert refused.said == reason
    assert str(spec) in str(refused)


RULES = """\
groups:
- name: g
  rules:
  - alert: Burn
    expr: burn > 0
    labels: {sloth_severity: page}
"""
TEST = """\
rule_files: [RULES]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: burn
    values: '0x10 1x20'
  alert_rule_test:
  - {eval_time: 5m, alertname: Burn, exp_alerts: []}
  - {eval_time: 1h5m, alertname: Burn, exp_alerts: [{exp_labels: {sloth_severity: page}}]}
  - {eval_time: 15m, alertname: Burn, exp_alerts: []}
  - {eval_time: 20m, alertname: Burn, exp_alerts: [{exp_labels: {sloth_severity: ticket}}]}
  - {eval_time: 25m, alertname: Burn, exp_alerts: [{exp_labels: {sloth_severity: page}}]}
"""


def test_promtools_failures_become_one_stable_problem_per_alert_test(tmp_path: Path) -> None:
    """Per failing alert test: the severity, promtool's eval time, what was expected and
    what fired; a passing one adds nothing, and no path appears."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    test = tmp_path / "page.test.yaml"
    test.write_text(textwrap.dedent(TEST).replace("RULES", str(rules)))
    result = promtool.test_rules(test)
    assert detection.problems("page", result) == [
        "page at 15m: expected none, got firing",
        "page at 20m: fired with other labels or annotations than expected",
        "page at 1h5m: expected firing, got none",
    ], result.describe()


def test_promtool_that_cannot_run_the_test_is_one_problem_without_its_path(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("burn > 0", "burn >"))
    test = tmp_path / "ticket.test.yaml"
    test.write_text(TEST.replace("RULES", str(rules)))
    result = promtool.test_rules(test)
    problems = detection.problems("ticket", result)
    assert len(problems) == 1, (problems, result.describe())
    (problem,) = problems
    assert problem.startswith("ticket: promtool failed: ")
    assert str(tmp_path) not in problem, result.describe()


def test_not_counted_events_are_served_as_much_as_the_slos_own() -> None:
    """Another service's events, beside the SLO's own, as many per step as good and bad
    together: an SLI query that also selected them would read another ratio."""

    def counter(labels: tuple[tuple[str, str], ...]) -> Increment:
        return Increment("counter", "http_requests_total", labels)

    sli = SLIIntent(
        "gw-availability",
        good=(counter((("service", "gw"), ("code", "200"))),),
        bad=(counter((("service", "gw"), ("code", "503"))),),
        not_counted=(counter((("service", "auth"), ("code", "503"))),),
    )
    values = sli.series([(2, 9.0, 1.0)])
    other = next(v for k, v in values.items() if 'service="auth"' in k)
    own_bad = next(v for k, v in values.items() if 'service="gw"' in k and "503" in k)
    assert other == [0.0, 10.0, 20.0] and own_bad == [0.0, 1.0, 2.0]


def test_the_shipped_gateway_slis_name_another_services_events() -> None:
    intent = load_intent(ObsConfig(SEED))
    assert intent is not None
    for slo_id in ("api-gateway-availability", "api-gateway-latency"):
        other = intent.slis[slo_id].not_counted
        assert other and all(("service", "auth-service") in i.labels for i in other), slo_id
