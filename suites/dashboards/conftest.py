"""The dashboards suite's parameters: panels and mirrors of the config under test."""

from __future__ import annotations

import re

import pytest

from obsgate.config import ObsConfig
from obsgate.dashboards import mirrors, panels
from obsgate.errors import GateError
from obsgate.findings import finding_reason, known_finding
from obsgate.options import config_dir


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = set(metafunc.fixturenames)
    if not names & {"panel", "mirror"}:
        return
    try:
        config = ObsConfig(config_dir(metafunc.config))
        if "panel" in names:
            found = [p for p in panels(config) if p.exprs]
            ids = [f"{p.dashboard}-{p.index}" for p in found]
            metafunc.parametrize("panel", found, ids=ids)
        if "mirror" in names:
            found_m = mirrors(config)
            metafunc.parametrize("mirror", found_m, ids=[m.alert for m in found_m])
    except GateError as exc:
        raise pytest.UsageError(str(exc)) from None


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
