"""promtool: the real Prometheus rule and config checker, and the exact (simulated-time) layer.

Each call returns a ToolResult rather than raising, so a test can assert on `.ok` and show
`.describe()`, including when it expects the check to fail.
"""

from __future__ import annotations

import re
from pathlib import Path

from obsgate.tools import DEFAULT_TIMEOUT, ToolResult, run_tool
from obsgate.tools.versions_line import chosen_line, promtool_all_sd, server_binary


def binary() -> str:
    """promtool of the chosen --server-versions line (obsgate/tools/versions_line.py)."""
    return server_binary("promtool")


def _run(*args: str | Path, timeout: float = DEFAULT_TIMEOUT, nice: int = 0) -> ToolResult:
    return run_tool([binary(), *map(str, args)], timeout=timeout, nice=nice)


def check_rules(*files: Path, timeout: float = DEFAULT_TIMEOUT) -> ToolResult:
    """`promtool check rules`: parse, PromQL and template checks, as Prometheus loads them."""
    return _run("check", "rules", *files, timeout=timeout)


def check_config(
    file: Path,
    syntax_only: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    cloud_discovery: bool = False,
) -> ToolResult:
    """`promtool check config [--syntax-only]`; syntax-only skips the rule and file references.

    Debian's promtool 2.42 is built without Kubernetes service discovery, so a config with
    `kubernetes_sd_configs` fails here with "field kubernetes_sd_configs not found". The
    `current` line's is built without the cloud providers' (versions_line.CLOUD_DISCOVERY):
    `cloud_discovery` runs the promtool built with every discovery instead.
    """
    flags = ["--syntax-only"] if syntax_only else []
    tool = promtool_all_sd() if cloud_discovery and chosen_line() == "current" else binary()
    return run_tool([tool, "check", "config", *flags, str(file)], timeout=timeout)


def test_rules(*test_files: Path, timeout: float = DEFAULT_TIMEOUT, nice: int = 0) -> ToolResult:
    """`promtool test rules`: rule files evaluated in simulated time against expected alerts."""
    return _run("test", "rules", *test_files, timeout=timeout, nice=nice)


test_rules.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


def version() -> str:
    """The version number, e.g. "2.42.0+ds", for the report."""
    result = _run("--version")
    m = re.search(r"version (\S+)", result.output)
    return m.group(1) if m else result.output.splitlines()[0] if result.output else "unknown"
