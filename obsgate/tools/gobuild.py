"""The gate's own small Go programs (gotemplate-check, obs-relabel), built with the machine's
`go` on first use into the shared cache, once per content of their sources.

A build runs in a temp dir beside its target and is moved in whole, with a stamp written
last, under a file lock: a failed, interrupted or concurrent build leaves nothing a later run
trusts. Every failure is one line: which program, which source, the first error, what to do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from obsgate.errors import GateError, ToolMissing
from obsgate.tools import cache_root, explicit_binary

ENV_VAR = "OBS_GATE_GO"
GO_DEFAULT_DIR = "/usr/local/go/bin"  # where Go's own installer puts it, often not on PATH
STAMP = "BUILT"


@dataclass(frozen=True)
class GoProgram:
    """One program: its binary's name, its sources (file name -> path, or text written as
    is), what it is for (said when `go` is missing) and the Go it needs."""

    name: str
    sources: Mapping[str, Path | str]
    purpose: str
    needs: str = "Go 1.18 or later"
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 300.0
    key_prefix: str = ""

    def key(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.sources):
            src = self.sources[name]
            body = src.read_bytes() if isinstance(src, Path) else src.encode()
            digest.update(name.encode() + b"\0" + body + b"\0")
        return self.key_prefix + digest.hexdigest()[:16]

    def target(self) -> Path:
        return cache_root() / self.name / self.key()

    def built(self) -> Path | None:
        """The cached binary, if a build of these sources finished."""
        target = self.target()
        return target / self.name if (target / STAMP).is_file() else None

    def install_hint(self) -> str:
        return (
            f"install {self.needs} (https://go.dev/dl, or Debian's golang-go) and put `go` on "
            f"PATH, or set {ENV_VAR} to a go binary"
        )


def go_binary(program: GoProgram) -> str:
    """The `go` to build with: $OBS_GATE_GO, else PATH, else Go's default install."""
    try:
        found = explicit_binary(ENV_VAR)
    except ToolMissing as exc:
        raise ToolMissing(f"{exc}: {program.purpose}") from None
    if found:
        return found
    found = shutil.which("go") or shutil.which("go", path=GO_DEFAULT_DIR)
    if found is None:
        raise ToolMissing(f"go not found: {program.purpose}; {program.install_hint()}")
    return found


def _first_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("go: downloading", "#"))]
    return lines[0] if lines else "no output"


def binary(program: GoProgram) -> Path:
    """The program's binary, built now if no finished build of these sources is cached."""
    ready = program.built()
    if ready is not None:
        return ready
    go = go_binary(program)
    target = program.target()
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        ready = program.built()
        if ready is not None:
            return ready
        with tempfile.TemporaryDirectory(prefix=f"{target.name}.", dir=target.parent) as tmp:
            work = Path(tmp)
            for name, src in program.sources.items():
                if isinstance(src, Path):
                    shutil.copy2(src, work / name)
                else:
                    (work / name).write_text(src)
            env = {
                **os.environ,
                "CGO_ENABLED": "0",
                "GOWORK": "off",
                "GOFLAGS": f"{os.environ.get('GOFLAGS', '')} -buildvcs=false".strip(),
                **program.env,
            }
            where = next((s for s in program.sources.values() if isinstance(s, Path)), work)
            try:
                out = subprocess.run(
                    [go, "build", "-trimpath", "-o", str(work / "out" / program.name), "."],
                    cwd=work, env=env, capture_output=True, text=True,
                    timeout=program.timeout, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                raise GateError(
                    f"go build of {program.name} ({where.parent}) did not finish in "
                    f"{program.timeout:.0f} s"
                ) from None
            except OSError as exc:
                raise ToolMissing(f"{go}: cannot run: {exc}; {program.install_hint()}") from None
            if out.returncode != 0:
                raise GateError(
                    f"go build of {program.name} ({where}) with {go} failed: "
                    f"{_first_error(out.stderr + out.stdout)}"
                )
            shutil.rmtree(target, ignore_errors=True)
            (work / "out").rename(target)
            (target / STAMP).write_text(f"{program.name} {program.key()}\n")
    return target / program.name


def status(program: GoProgram) -> tuple[bool, str]:
    """Whether the program can be had here (built, or `go` to build it), and one line on it."""
    if program.built() is not None:
        return True, f"built ({program.target()})"
    try:
        go = go_binary(program)
    except ToolMissing as exc:
        return False, f"not built, and {exc}"
    return True, f"not built yet: {go} builds it on first use"
