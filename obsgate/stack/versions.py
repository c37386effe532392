"""Versions of the servers and tools a run uses, for the report header and the HTML report.

A gate's verdict is only as good as knowing what judged it: the header names every binary
the process backend would run, found the way the backends find them (prometheus, promtool,
alertmanager and amtool on the chosen --server-versions line), or says it is missing.
"""

from __future__ import annotations

import os
import re

from obsgate.errors import ToolMissing
from obsgate.stack.process import binary_version
from obsgate.tools import find_binary
from obsgate.tools.identity import WrongBinary, proven
from obsgate.tools.versions_line import BINARIES as LINE_BINARIES
from obsgate.tools.versions_line import server_binary

# The binaries outside the --server-versions lines: name -> (names, env override, package).
OTHER_BINARIES: dict[str, tuple[list[str], str, str]] = {
    "redis-server": (["redis-server"], "REDIS_SERVER_BIN", "redis-server"),
}
NOT_INSTALLED = "not installed"
WRONG_BINARY = "wrong binary"
VERSION = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-+.][\w.]+)?)")


def short_version(first_line: str) -> str:
    """'prometheus, version 2.42.0+ds (branch: ...)' -> '2.42.0+ds'."""
    match = VERSION.search(first_line)
    return match.group(1) if match else first_line


def line_versions(line: str | None = None) -> dict[str, str]:
    """prometheus, promtool, alertmanager and amtool of `line` (default: the chosen one):
    each one's version, or 'not installed (...)' with the one line that says what to do."""
    versions = {}
    for name in LINE_BINARIES:
        try:
            versions[name] = short_version(binary_version(server_binary(name, line)))
        except WrongBinary as exc:
            versions[name] = f"{WRONG_BINARY}: {exc}"
        except ToolMissing as exc:
            versions[name] = f"{NOT_INSTALLED} ({exc})"
    return versions


def binary_versions() -> dict[str, str]:
    """Each known binary's version, as used by this run; 'not installed (...)' or
    'wrong binary: ...' else."""
    versions = line_versions()
    for name, (names, env_var, package) in OTHER_BINARIES.items():
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
