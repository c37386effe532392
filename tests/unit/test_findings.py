"""The finding judge (obsgate/findings.py): a finding is a strict xfail only while the
config breaks its intent the way the finding says."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("holds", "observed", "outcome"),
    [(True, False, "failed"), (False, True, "xfailed"), (False, False, "failed")],
)
def test_judge_with_finding(holds: bool, observed: bool, outcome: str) -> None:
    """Fixed finding: fail (remove it). Broken as pinned: xfail. Broken otherwise: fail."""
    from _pytest.outcomes import Failed, XFailed

    from obsgate.findings import PinnedFinding, judge_with_finding

    expected = {"failed": (Failed, AssertionError), "xfailed": (XFailed,)}[outcome]
    with pytest.raises(expected) as raised:
        judge_with_finding(
            intent_holds=holds,
            observed=observed,
            finding=PinnedFinding(id="f-1", text="a finding", known=True),
            failure="intent broken",
        )
    if outcome == "xfailed":
        assert str(raised.value) == "finding: f-1: a finding"
