"""The dashboards suite's parameters: panels and mirrors of the config under test."""

from __future__ import annotations

import re

import pytest

from obsgate.config import ObsConfig
from obsgate.dashboards import mirrors, panels
from obsgate.findings import finding_reason, known_finding
from obsgate.params import parametrize_from_config


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(
        metafunc,
        "panel",
        lambda c: [p for p in panels(c) if p.exprs],
        id_of=lambda p: f"{p.dashboard}-{p.index}",
    )
    parametrize_from_config(metafunc, "mirror", mirrors, id_of=lambda m: m.alert)


def named_in(finding: str, names: list[str]) -> list[str]:
    """Those of `names` that the finding's text does not name in backticks."""
    quoted = set(re.findall(r"`([^`]+)`", finding))
    return [n for n in names if n not in quoted]


def judge_named(config: ObsConfig, check_id: str, failing: list[str], message: str) -> None:
    """Pass, or fail with `message`; an expected failure only while every failing name is
    one the config's finding names in backticks, so it never hides a second breakage."""
    text = known_finding(config, check_id)
    if not failing:
        if text:
            pytest.fail(f"the finding is fixed, remove {check_id} from findings.yaml: {text}")
        return
    if text:
        unexplained = named_in(text, failing)
        if not unexplained:
            pytest.xfail(finding_reason(check_id, text))
        message += f"\n(the finding {check_id} does not name {unexplained})"
    raise AssertionError(message)
