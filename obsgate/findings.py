"""Known findings of a config dir: where its universal checks are expected to fail.

Scenarios carry their own `finding:` line. A universal check is derived from the config
alone, so its known failures are declared beside the config, in `<config>/findings.yaml`:

    universal:
      <check id>: <one line: what the config does, what it should do>

The check is then a strict xfail for that config only: a user's config without the entry
is held to the check, and fixing the shipped config turns the strict xfail red until the
entry is removed.

Every finding has an id (the scenario's, the case's, the check's), carried in the xfail
reason as `finding: <id>: <text>`, so reports/findings.md and the table in docs/findings.md
can be compared by id (tools/findings_table.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError

FINDINGS_FILE = "findings.yaml"
FINDING_REASON = re.compile(r"finding: (?P<id>[a-z0-9][a-z0-9._-]*): (?P<text>.+)", re.S)


def finding_reason(finding_id: str, text: str) -> str:
    """The xfail reason of a finding: its id, then its text on one line."""
    return f"finding: {finding_id}: {' '.join(text.split())}"


def parse_finding_reason(reason: str) -> tuple[str, str] | None:
    """(id, text) of a finding's xfail reason; None if the reason does not name an id."""
    match = FINDING_REASON.fullmatch(reason.strip())
    return (match["id"], match["text"]) if match else None


def known_finding(config: ObsConfig, check_id: str) -> str | None:
    path = config.root / FINDINGS_FILE
    if not path.exists():
        return None
    doc = load_yaml(path) or {}
    universal = doc.get("universal") or {}
    if not isinstance(universal, dict):
        raise ConfigError(f"{path}: 'universal' must map check ids to one-line findings")
    text = universal.get(check_id)
    return " ".join(str(text).split()) if text else None


def expect_known_finding(request: pytest.FixtureRequest, config: ObsConfig, check_id: str) -> None:
    """Mark the running test a strict xfail if the config declares a finding for it."""
    text = known_finding(config, check_id)
    if text:
        request.applymarker(pytest.mark.xfail(strict=True, reason=finding_reason(check_id, text)))


@dataclass(frozen=True, kw_only=True)
class PinnedFinding:
    """A check's declared finding: its id, its text (None: none declared) and what it pins
    the config to really do (`known`), to compare with what the check observed."""

    id: str
    text: str | None
    known: object


def judge_with_finding(
    *, intent_holds: bool, observed: object, finding: PinnedFinding, failure: str
) -> None:
    """Judge one check whose finding pins what the config really does (`finding.known`).

    Intent holds: pass, unless a finding says it should not (fixed: remove the finding).
    Broken exactly as the finding says: an expected failure. Broken any other way: a
    failure, so a finding never hides a second breakage of the same thing.
    """
    if intent_holds:
        if finding.text:
            pytest.fail(f"the finding is fixed, remove it from the scenario: {finding.text}")
        return
    if finding.text and observed == finding.known:
        pytest.xfail(finding_reason(finding.id, finding.text))
    if finding.text:
        failure += f"\n(the finding expects {finding.known}, which is not what happened either)"
    raise AssertionError(failure)
