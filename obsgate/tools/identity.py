"""A tool is proven before the gate trusts its verdicts.

A wrong binary in PROMTOOL (say /bin/true) would "pass" every exact-layer scenario. So the
first use of each tool in a process checks it once: its `--version` must name the tool,
and it must give the fixed answers on a known input (promtool: one rule test that must
pass and one that must fail; amtool: one config that must load and one that must not).
Anything else is a ToolMissing naming the variable or path to fix, in one line.
"""

from __future__ import annotations

import functools
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from obsgate.errors import ToolMissing
from obsgate.tools import run_tool

_RULES = """groups:
  - name: identity
    rules:
      - alert: Always
        expr: vector(1)
        for: 1m
"""
_TEST = """rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series: []
    alert_rule_test:
      - eval_time: 2m
        alertname: Always
        exp_alerts: {expected}
"""
_AM_GOOD = "route: {receiver: none}\nreceivers: [{name: none}]\n"
_AM_BAD = "route: {receiver: missing}\nreceivers: [{name: none}]\n"


def _promtool_answers(binary: str) -> str | None:
    """None if promtool passes the true test and fails the false one, else what it did."""
    with tempfile.TemporaryDirectory(prefix="promtool-identity-") as tmp:
        root = Path(tmp)
        (root / "rules.yaml").write_text(_RULES)
        (root / "pass.yaml").write_text(_TEST.format(expected="[{exp_labels: {}}]"))
        (root / "fail.yaml").write_text(_TEST.format(expected="[]"))
        passed = run_tool([binary, "test", "rules", str(root / "pass.yaml")], timeout=30)
        failed = run_tool([binary, "test", "rules", str(root / "fail.yaml")], timeout=30)
    if not passed.ok:
        return f"a rule test that must pass failed (exit {passed.returncode})"
    if failed.ok:
        return "a rule test that must fail passed"
    return None


def _amtool_answers(binary: str) -> str | None:
    with tempfile.TemporaryDirectory(prefix="amtool-identity-") as tmp:
        good, bad = Path(tmp) / "good.yaml", Path(tmp) / "bad.yaml"
        good.write_text(_AM_GOOD)
        bad.write_text(_AM_BAD)
        loads = run_tool([binary, "check-config", str(good)], timeout=30)
        refuses = run_tool([binary, "check-config", str(bad)], timeout=30)
    if not loads.ok:
        return f"a valid config was refused (exit {loads.returncode})"
    if refuses.ok:
        return "a config with an undefined receiver was accepted"
    return None


class WrongBinary(ToolMissing):
    """A binary that is there but is not the tool it claims to be, or answers wrongly."""


@dataclass(frozen=True)
class Identity:
    """How a tool says who it is, and the fixed answers it must give."""

    version: re.Pattern[str]
    answers: Callable[[str], str | None] | None = None


IDENTITIES = {
    "promtool": Identity(re.compile(r"^promtool, version (\S+)", re.M), _promtool_answers),
    "amtool": Identity(re.compile(r"^amtool, version (\S+)", re.M), _amtool_answers),
    "prometheus": Identity(re.compile(r"^prometheus, version (\S+)", re.M)),
    "alertmanager": Identity(re.compile(r"^alertmanager, version (\S+)", re.M)),
    "redis-server": Identity(re.compile(r"^Redis server v=(\S+)", re.M)),
}


@functools.cache
def proven(name: str, binary: str, env_var: str) -> str:
    """`binary` if it is `name` and answers as `name` does; its version is checked once per
    process. Else ToolMissing: what it printed, and the variable or path to fix."""
    identity = IDENTITIES[name]
    where = f"{env_var}={binary}" if env_var else binary
    fix = f"set {env_var} to the path of {name}, or unset it" if env_var else "reinstall it"
    result = run_tool([binary, "--version"], timeout=30)
    match = identity.version.search(result.output)
    if match is None:
        first = result.output.splitlines()[0] if result.output.strip() else "nothing"
        raise WrongBinary(f"{where} is not {name}: `--version` printed {first!r} ({fix})")
    if identity.answers is not None:
        wrong = identity.answers(binary)
        if wrong:
            raise WrongBinary(f"{where} ({name} {match[1]}) answers wrongly: {wrong} ({fix})")
    return binary
