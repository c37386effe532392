"""amtool: Alertmanager's own config checker and routing-tree evaluator.

`routes_test` asks the real routing code where a label set goes, so the routing suite's
promise (which receivers, in which order) is checked without a server, from a config file,
or against the config a running Alertmanager has loaded (a staging deployment), by URL.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from obsgate.errors import ConfigError
from obsgate.tools import DEFAULT_TIMEOUT, ToolResult, run_tool
from obsgate.tools.versions_line import server_binary


def binary() -> str:
    """amtool of the chosen --server-versions line (obsgate/tools/versions_line.py)."""
    return server_binary("amtool")


def _run(*args: str | Path, timeout: float = DEFAULT_TIMEOUT) -> ToolResult:
    return run_tool([binary(), *map(str, args)], timeout=timeout)


def _matcher(name: str, value: str) -> str:
    """`name="value"` quoted as Alertmanager matchers want: bare values may not hold `"` or `,`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{name}="{escaped}"'


def _fail(config_file: Path | str, what: str, result: ToolResult) -> ConfigError:
    """One line: the file, amtool's own error, and the command to rerun."""
    lines = [ln for ln in result.output.splitlines() if ln and not ln.startswith("Warning:")]
    reason = lines[-1] if lines else f"exit {result.returncode}"
    return ConfigError(f"{config_file}: {what}: {reason} (rerun: {shlex.join(result.cmd)})")


def check_config(file: Path, timeout: float = DEFAULT_TIMEOUT) -> ToolResult:
    """`amtool check-config`: routes, receivers, templates, inhibit rules, as Alertmanager loads."""
    return _run("check-config", file, timeout=timeout)


def _source(config: Path | str) -> str:
    """A config file, or the URL of a running Alertmanager whose loaded config amtool reads."""
    if isinstance(config, str) and config.startswith(("http://", "https://")):
        return f"--alertmanager.url={config}"
    return f"--config.file={config}"


def routes_test(
    config_file: Path | str,
    labels: dict[str, str],
    verify: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """Receivers the label set routes to, in routing-tree order, duplicates kept.

    amtool prints them comma-separated on stdout's first line. With `verify`, amtool's
    own `--verify.receivers` check also runs (order-sensitive) and a mismatch raises.
    `config_file` may be a running Alertmanager's URL instead.
    """
    flags = [_source(config_file)]
    if verify is not None:
        flags.append(f"--verify.receivers={','.join(verify)}")
    args = [_matcher(k, v) for k, v in labels.items()]
    result = _run("config", "routes", "test", *flags, *args, timeout=timeout)
    first = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    receivers = [r for r in first.split(",") if r]
    if not result.ok and verify is not None and receivers:
        raise ConfigError(
            f"{config_file}: {labels} routes to {receivers}, expected {verify} "
            f"(rerun: {shlex.join(result.cmd)})"
        )
    if not result.ok:
        raise _fail(config_file, f"routing {labels} failed", result)
    return receivers


def routes_show(config_file: Path | str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The routing tree as amtool draws it, for failure messages and the report."""
    result = _run("config", "routes", "show", _source(config_file), timeout=timeout)
    if not result.ok:
        raise _fail(config_file, "amtool config routes show failed", result)
    return result.stdout


def version() -> str:
    """The version number, e.g. "0.25.0", for the report."""
    result = _run("--version")
    m = re.search(r"version (\S+)", result.output)
    return m.group(1) if m else result.output.splitlines()[0] if result.output else "unknown"
