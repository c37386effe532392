"""Versions of the servers and tools a run uses, for the report header and the HTML report.

A gate's verdict is only as good as knowing what judged it: the header names every binary
the process backend would run, found the way the backends find them, or says it is missing.
"""

from __future__ import annotations

import os
import re

from obsgate.errors import ToolMissing
from obsgate.stack.process import binary_version
from obsgate.tools import find_binary
from obsgate.tools.identity import proven

# name -> (binary names, env override, install hint), as the backends look them up.
BINARIES: dict[str, tuple[list[str], str, str]] = {
    "prometheus": (["prometheus"], "PROMETHEUS_BIN", "prometheus"),
    "promtool": (["promtool"], "PROMTOOL", "prometheus"),
    "alertmanager": (["alertmanager", "prometheus-alertmanager"], "ALERTMANAGER_BIN", "am"),
    "amtool": (["amtool"], "AMTOOL", "prometheus-alertmanager"),
    "redis-server": (["redis-server"], "REDIS_SERVER_BIN", "redis-server"),
}
NOT_INSTALLED = "not installed"
WRONG_BINARY = "wrong binary"
VERSION = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-+.][\w.]+)?)")


def short_version(first_line: str) -> str:
    """'prometheus, version 2.42.0+ds (branch: ...)' -> '2.42.0+ds'."""
    match = VERSION.search(first_line)
    return match.group(1) if match else first_line


def binary_versions() -> dict[str, str]:
    """Each known binary's version; 'not installed (...)' or 'wrong binary: ...' else."""
    versions = {}
    for name, (names, env_var, package) in BINARIES.items():
        try:
            found = find_binary(names, env_var, package)
        except ToolMissing:
            versions[name] = f"{NOT_INSTALLED} (scripts/install-backends)"
            continue
        try:
            proven(name, found, env_var if os.environ.get(env_var) else "")
        except ToolMissing as exc:
            versions[name] = f"{WRONG_BINARY}: {exc}"
            continue
        versions[name] = short_version(binary_version(found))
    return versions
