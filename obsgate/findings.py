"""Findings: where a config breaks its own stated intent, each pinned to its evidence.

A finding is a test whose intent the shipped config breaks, marked an expected failure only
while the config breaks it exactly as documented. One type, `Finding`, and one judge,
`judge(...)`, serve every suite: the test computes what it observed (the offending items of
a universal check, the alerts promtool got, the receivers reached, an SLO's problems) and
the judge compares it with the finding's pinned `evidence`. Equal: an expected failure.
One offender more or less, or another cause (an exception, a missing tool): a failure that
names the difference. Intent holds while a finding is declared: a failure (remove it).

`<config>/findings.yaml` holds, by finding id:

    universal:            # findings of universal checks, derived from the config alone
      <check id>:
        category: defect | risk | hardening
        seed: <line>        # optional: the line of the design doc the intent rests on
        evidence: [...]     # the offending items the check computes, exactly
        text: <what the config does, what it should do>
    findings:             # category and seed line of findings declared with their scenarios
      <finding id>: {category: ..., seed: <line>}

Categories: `defect` (the config breaks its own stated intent), `risk` (works today, breaks
under a stated condition), `hardening` (advice). A finding's xfail reason is
`finding: <id> (<category>, seed:<line>): <text>`, which reports/findings.md groups by
category (tools/findings_table.py compares it with docs/findings.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError

FINDINGS_FILE = "findings.yaml"
CATEGORIES = ("defect", "risk", "hardening")
FINDING_REASON = re.compile(
    r"finding: (?P<id>[a-z0-9][a-z0-9._-]*)"
    r"(?: \((?P<category>defect|risk|hardening)(?:, seed:(?P<seed>[0-9]+(?:-[0-9]+)?))?\))?"
    r": (?P<text>.+)",
    re.S,
)


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One documented breakage: what it is (`text`), the exact evidence it pins (a frozenset
    of offending items, the receivers reached, ...), how bad it is (`category`) and the line
    of the design doc that states the intent it breaks (`seed`)."""

    id: str
    text: str
    evidence: object = True
    category: str | None = None
    seed: str | None = None

    def reason(self) -> str:
        """The xfail reason: id, category and seed line, then the text on one line."""
        tags = ", ".join(t for t in (self.category, f"seed:{self.seed}" if self.seed else "") if t)
        head = f"{self.id} ({tags})" if self.category else self.id
        return f"finding: {head}: {' '.join(self.text.split())}"


@dataclass(frozen=True)
class ParsedReason:
    id: str
    text: str
    category: str | None
    seed: str | None


def finding_reason(finding_id: str, text: str) -> str:
    """The xfail reason of an uncategorised finding: its id, then its text on one line."""
    return Finding(id=finding_id, text=text).reason()


def parse_reason(reason: str) -> ParsedReason | None:
    """A finding's xfail reason, read back; None if the reason does not name an id."""
    match = FINDING_REASON.fullmatch(reason.strip())
    if not match:
        return None
    return ParsedReason(match["id"], match["text"], match["category"], match["seed"])


def parse_finding_reason(reason: str) -> tuple[str, str] | None:
    """(id, text) of a finding's xfail reason; None if the reason does not name an id."""
    parsed = parse_reason(reason)
    return (parsed.id, parsed.text) if parsed else None


def _doc(config: ObsConfig) -> tuple[Path, dict[str, Any]]:
    path = config.root / FINDINGS_FILE
    doc = (load_yaml(path) or {}) if path.exists() else {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: give a mapping with 'universal' and 'findings'")
    return path, doc


def _tags(raw: dict[str, Any], where: str) -> tuple[str | None, str | None]:
    category = raw.get("category")
    if category is not None and category not in CATEGORIES:
        raise ConfigError(f"{where}: category {category!r} is not one of {list(CATEGORIES)}")
    seed = raw.get("seed")
    return category, (str(seed) if seed is not None else None)


def _entry(config: ObsConfig, section: str, finding_id: str) -> tuple[str, dict[str, Any]] | None:
    path, doc = _doc(config)
    table = doc.get(section) or {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: '{section}' must map finding ids to entries")
    raw = table.get(finding_id)
    if raw is None:
        return None
    where = f"{path}: {section}.{finding_id}"
    if isinstance(raw, str):  # a one-line finding: uncategorised, pinned to nothing
        raw = {"text": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: give 'category', 'seed', 'evidence' and 'text'")
    return where, raw


def universal_finding(config: ObsConfig, check_id: str) -> Finding | None:
    """The finding `findings.yaml` declares for a universal check, evidence as a frozenset."""
    found = _entry(config, "universal", check_id)
    if found is None:
        return None
    where, raw = found
    if not raw.get("text"):
        raise ConfigError(f"{where}: give 'text', what the config does and should do")
    category, seed = _tags(raw, where)
    evidence = raw.get("evidence")
    if evidence is not None and not isinstance(evidence, list):
        raise ConfigError(f"{where}: 'evidence' is the list of offending items the check finds")
    return Finding(
        id=check_id,
        text=" ".join(str(raw["text"]).split()),
        evidence=frozenset(str(e) for e in evidence) if evidence is not None else None,
        category=category,
        seed=seed,
    )


def declared_finding(
    config: ObsConfig, finding_id: str, text: str | None, evidence: object = True
) -> Finding | None:
    """A finding declared beside its scenario (`text`, None: none), with the category and
    seed line findings.yaml gives its id."""
    if not text:
        return None
    found = _entry(config, "findings", finding_id)
    category, seed = _tags(found[1], found[0]) if found else (None, None)
    return Finding(
        id=finding_id, text=" ".join(text.split()), evidence=evidence, category=category, seed=seed
    )


def categories(config: ObsConfig) -> dict[str, tuple[str | None, str | None]]:
    """(category, seed line) of every finding id the config's findings.yaml names."""
    path, doc = _doc(config)
    out: dict[str, tuple[str | None, str | None]] = {}
    for section in ("universal", "findings"):
        for finding_id, raw in (doc.get(section) or {}).items():
            if isinstance(raw, dict):
                out[str(finding_id)] = _tags(raw, f"{path}: {section}.{finding_id}")
    return out


def known_finding(config: ObsConfig, check_id: str) -> str | None:
    """The text of a universal check's finding (None: none declared)."""
    finding = universal_finding(config, check_id)
    return finding.text if finding else None


def difference(evidence: object, observed: object) -> str:
    """What the run showed beyond, or short of, what the finding pins."""
    if evidence is None:
        return (f"it pins no evidence: give `evidence:` in {FINDINGS_FILE}, the items the "
                f"check found ({sorted(map(str, observed))!r} in this run)"  # type: ignore[call-overload]
                if isinstance(observed, Iterable) and not isinstance(observed, str)
                else f"it pins no evidence; the run showed {observed!r}")  # fmt: skip
    if isinstance(evidence, frozenset | set) and isinstance(observed, Iterable):
        seen = {str(x) for x in observed}  # type: ignore[union-attr]
        more, fewer = sorted(seen - evidence), sorted(set(evidence) - seen)
        parts = [f"not in the finding: {more}"] if more else []
        parts += [f"in the finding but not seen: {fewer}"] if fewer else []
        return "; ".join(parts) or "the same items"
    return f"the finding pins {evidence!r}; the run showed {observed!r}"


def judge(*, holds: bool, finding: Finding | None, failure: str, observed: object = True) -> None:
    """Judge one check: pass, an expected failure (broken exactly as `finding` pins), or a
    failure (broken any other way, or fixed while a finding is declared)."""
    if holds:
        if finding is not None:
            pytest.fail(f"the finding is fixed, remove it: {finding.id}: {finding.text}")
        return
    if finding is None:
        raise AssertionError(failure)
    if _matches(finding.evidence, observed):
        pytest.xfail(finding.reason())
    fail(f"{failure}\n(the finding {finding.id} does not explain this: "
         f"{difference(finding.evidence, observed)})")  # fmt: skip


def _matches(evidence: object, observed: object) -> bool:
    if isinstance(evidence, frozenset | set) and isinstance(observed, Iterable):
        return {str(x) for x in observed} == set(evidence)  # type: ignore[union-attr]
    return observed == evidence


def fail(message: str) -> NoReturn:
    raise AssertionError(message)
