"""Go's own text/template parser on a config's template strings (gotemplate-check/main.go).

Operators written in Go render their templates with text/template; what it refuses, they
refuse. The checker is a small stdlib-only Go program built once with the machine's `go`
into the shared cache, keyed by its source's hash, and run on every template in one call.
It reports each template's parse error with its line, or the fields of the data it reads
and the functions it calls (declared as stubs of the arity they are called with, since the
operator's function set is not part of the config).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from obsgate.errors import GateError, ToolMissing
from obsgate.tools import cache_root

SOURCE = Path(__file__).resolve().parent / "gotemplate-check" / "main.go"
NAME = "gotemplate-check"
ENV_VAR = "OBS_GATE_GO"
GO_DEFAULT_DIR = "/usr/local/go/bin"  # where Go's own installer puts it, often not on PATH
BUILD_TIMEOUT = 300.0
RUN_TIMEOUT = 60.0
INSTALL_HINT = (
    "install Go 1.18 or later (apt-get install golang-go, or https://go.dev/dl) and put `go` "
    f"on PATH, or set {ENV_VAR} to a go binary"
)


@dataclass(frozen=True)
class TemplateCheck:
    """What text/template made of one template: an error and its line, or what it reads."""

    id: str
    error: str | None
    line: int | None
    fields: tuple[str, ...]
    funcs: dict[str, tuple[int, ...]]


def go_binary() -> str:
    """The `go` to build with: $OBS_GATE_GO, else PATH, else Go's default install."""
    override = os.environ.get(ENV_VAR)
    if override:
        found = shutil.which(override)
        if found:
            return found
        raise ToolMissing(f"{ENV_VAR}={override} is not an executable (fix or unset {ENV_VAR})")
    found = shutil.which("go") or shutil.which("go", path=GO_DEFAULT_DIR)
    if found is None:
        raise ToolMissing(
            f"go not found: the runbook template checks build {NAME} "
            f"({SOURCE.relative_to(SOURCE.parents[2])}) with it; {INSTALL_HINT}"
        )
    return found


def source_hash(source: Path = SOURCE) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]


def checker_binary(source: Path = SOURCE) -> Path:
    """The built checker, `go build` once per source content into the shared cache."""
    target = cache_root() / NAME / source_hash(source)
    binary = target / NAME
    if binary.is_file():
        return binary
    go = go_binary()
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if binary.is_file():
            return binary
        src = target / "src"
        src.mkdir(exist_ok=True)
        shutil.copy2(source, src / "main.go")
        (src / "go.mod").write_text("module gotemplatecheck\n\ngo 1.18\n")
        env = {
            **os.environ,
            "GOTOOLCHAIN": "local",  # never download another Go
            "GOPROXY": "off",  # stdlib only: nothing to fetch
            "GOWORK": "off",
            "CGO_ENABLED": "0",
            "GOFLAGS": "-buildvcs=false",
        }
        partial = target / f"{NAME}.partial"
        try:
            out = subprocess.run(
                [go, "build", "-trimpath", "-o", str(partial), "."],
                cwd=src, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise GateError(f"go build of {NAME} did not finish in {BUILD_TIMEOUT:.0f} s") from None
        except OSError as exc:
            raise ToolMissing(f"{go}: cannot run: {exc}; {INSTALL_HINT}") from None
        if out.returncode != 0:
            said = [ln for ln in (out.stderr + out.stdout).splitlines() if ln.strip()]
            raise GateError(
                f"go build of {NAME} ({source}) with {go} failed: "
                f"{said[-1] if said else f'exit {out.returncode}'}; {INSTALL_HINT}"
            )
        partial.replace(binary)
    return binary


def check_templates(templates: Iterable[tuple[str, str]]) -> dict[str, TemplateCheck]:
    """Each (id, text) parsed by text/template, by id."""
    items = [{"id": i, "text": t} for i, t in templates]
    if not items:
        return {}
    cmd = [str(checker_binary())]
    try:
        proc = subprocess.run(
            cmd, input=json.dumps({"templates": items}), capture_output=True, text=True,
            timeout=RUN_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise GateError(f"{cmd[0]} did not finish in {RUN_TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        raise GateError(f"{cmd[0]} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    out = {}
    for raw in json.loads(proc.stdout)["results"]:
        out[raw["id"]] = TemplateCheck(
            raw["id"],
            raw.get("error"),
            raw.get("line"),
            tuple(raw.get("fields") or ()),
            {name: tuple(arities) for name, arities in (raw.get("funcs") or {}).items()},
        )
    return out
