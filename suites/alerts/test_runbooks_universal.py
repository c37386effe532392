"""Universal checks of a runbook operator's runbooks, judged by Go's own text/template: each
template parses, and reads only labels and annotations its triggering alert carries."""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.config.runbooks import RunbookTemplate
from obsgate.findings import judge, universal_finding
from obsgate.runbooks import field_offenders, parse_offenders, runbook_inputs, templates
from obsgate.tools.gotemplate import TemplateCheck, check_templates

pytestmark = [
    pytest.mark.alerts,
    pytest.mark.requires("runbooks"),
    pytest.mark.needs("gotemplate-check"),
]

Checked = tuple[dict[str, RunbookTemplate], dict[str, TemplateCheck]]


@pytest.fixture(scope="module")
def checked(obs_config: ObsConfig) -> Checked:
    """Every runbook template, and what text/template made of it."""
    found = templates(obs_config.runbooks())
    return found, check_templates((key, t.text) for key, t in found.items())


def stubs(checks: dict[str, TemplateCheck]) -> str:
    """The functions the templates call that text/template lacks, declared as stubs."""
    calls = {f"{name}/{n}" for c in checks.values() for name, ns in c.funcs.items() for n in ns}
    return ", ".join(sorted(calls)) or "none"


def test_every_runbook_template_parses(obs_config: ObsConfig, checked: Checked) -> None:
    """A template text/template refuses fails its step every time the runbook runs."""
    found, checks = checked
    offenders = parse_offenders(found, checks)
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "runbook-templates-parse"),
        observed=list(offenders),
        failure="Go's text/template refuses these runbook templates (functions declared as "
        f"stubs: {stubs(checks)}):\n"
        + "\n".join(f"{where}: {evidence}" for evidence, where in offenders.items()),
    )


@pytest.mark.requires("rules")
def test_runbooks_read_what_their_alert_carries(obs_config: ObsConfig, checked: Checked) -> None:
    """`.Labels.x` or `.Annotations.x` that the triggering alert lacks renders `<no value>`
    into a command or message; a trigger no rule matches never runs its runbook."""
    _, checks = checked
    rules, scenarios = runbook_inputs(obs_config)
    offenders = field_offenders(obs_config.runbooks(), checks, rules, scenarios)
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "runbook-fields-carried"),
        observed=list(offenders),
        failure="runbooks read what their alert does not carry:\n"
        + "\n".join(f"{evidence}: {detail}" for evidence, detail in offenders.items()),
    )
