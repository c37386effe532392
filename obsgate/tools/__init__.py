"""Run promtool and amtool by subprocess, so the real engines judge the config under test.

Shared here: finding a binary (env var, PATH, then the cache `scripts/install-backends` fills)
and running it without a shell, with a timeout, into a `ToolResult` that can explain itself.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from obsgate.errors import GateError, ToolMissing

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    """The cache every checkout on the machine shares (scripts/install/versions.env agrees)."""
    explicit = os.environ.get("OBS_GATE_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "obs-gate"


CACHE_BIN = cache_root() / "backends" / "bin"
DEFAULT_TIMEOUT = 60.0

__all__ = ["CACHE_BIN", "DEFAULT_TIMEOUT", "ToolResult", "cache_root", "find_binary", "run_tool"]


@dataclass(frozen=True)
class ToolResult:
    """What a tool run returned; `.describe()` is ready to drop into an assertion message."""

    cmd: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        """Both streams: promtool prints some failures on stdout, others on stderr."""
        return "\n".join(s for s in (self.stdout.rstrip(), self.stderr.rstrip()) if s)

    def describe(self) -> str:
        return f"$ {shlex.join(self.cmd)}\n(exit {self.returncode})\n{self.output}"


def explicit_binary(env_var: str) -> str | None:
    """The binary `$env_var` names, None if unset; set to no executable: ToolMissing."""
    override = os.environ.get(env_var)
    if not override:
        return None
    found = shutil.which(override)
    if found:
        return found
    raise ToolMissing(f"{env_var}={override} is not an executable (fix or unset {env_var})")


def find_binary(name: str | list[str], env_var: str, package: str) -> str:
    """Path of a tool or server binary: $ENV_VAR, else PATH, else the install-backends cache;
    else ToolMissing. Several names: the first found (Debian renames some binaries)."""
    found = explicit_binary(env_var)
    if found:
        return found
    names = [name] if isinstance(name, str) else name
    for candidate in names:
        found = shutil.which(candidate) or shutil.which(candidate, path=str(CACHE_BIN))
        if found:
            return found
    raise ToolMissing(
        f"{names[0]} not found on PATH or in {CACHE_BIN}: run scripts/install-backends "
        f"(Debian package {package}), or set {env_var}"
    )


def run_tool(cmd: list[str], timeout: float = DEFAULT_TIMEOUT, nice: int = 0) -> ToolResult:
    """Run without a shell; a hung tool is a GateError naming the command, not a stuck gate.

    `nice` lowers the tool's priority: batch work must not starve servers keeping real time.
    """
    try:
        proc = subprocess.run(
            cmd,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise GateError(f"{shlex.join(cmd)}: timed out after {timeout:g} s") from None
    except OSError as exc:
        raise ToolMissing(f"{cmd[0]}: cannot run: {exc} (reinstall it)") from None
    return ToolResult(cmd, proc.returncode, proc.stdout, proc.stderr)
