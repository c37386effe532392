"""The finding judge (obsgate/findings.py): a finding is a strict xfail only while the
config breaks its intent exactly as the finding's evidence pins it."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, XFailed

from obsgate.findings import Finding, judge, parse_reason

PINNED = Finding(
    id="f-1", text="a finding", evidence=frozenset({"a", "b"}), category="risk", seed="12-14"
)


@pytest.mark.parametrize(
    ("holds", "finding", "observed", "outcome"),
    [
        (True, None, [], "passed"),
        (True, PINNED, [], "failed"),
        (False, PINNED, ["b", "a"], "xfailed"),
        (False, PINNED, ["a", "b", "c"], "failed"),
        (False, PINNED, ["a"], "failed"),
        (False, None, ["a"], "failed"),
    ],
)
def test_judge(holds: bool, finding: Finding | None, observed: list[str], outcome: str) -> None:
    """Fixed: fail (remove it). Broken as pinned: xfail. One offender more or less: fail."""
    if outcome == "passed":
        judge(holds=holds, finding=finding, observed=observed, failure="broken")
        return
    expected = {"failed": (Failed, AssertionError), "xfailed": (XFailed,)}[outcome]
    with pytest.raises(expected) as raised:
        judge(holds=holds, finding=finding, observed=observed, failure="broken")
    if outcome == "xfailed":
        assert str(raised.value) == "finding: f-1 (risk, seed:12-14): a finding"


def test_a_difference_names_the_offender_more_and_the_one_missing() -> None:
    with pytest.raises(AssertionError) as raised:
        judge(holds=False, finding=PINNED, observed=["a", "c"], failure="broken")
    assert "not in the finding: ['c']" in str(raised.value)
    assert "in the finding but not seen: ['b']" in str(raised.value)


def test_reason_round_trips_category_and_seed() -> None:
    parsed = parse_reason(PINNED.reason())
    assert parsed is not None
    assert (parsed.id, parsed.category, parsed.seed, parsed.text) == (
        "f-1",
        "risk",
        "12-14",
        "a finding",
    )
