"""Go's own text/template parser on a config's template strings (gotemplate-check/main.go).

Operators written in Go render their templates with text/template; what it refuses, they
refuse. The checker is a small stdlib-only Go program built once with the machine's `go`
into the shared cache, keyed by its source's hash, and run on every template in one call.
It reports each template's parse error with its line, or the fields of the data it reads
and the functions it calls (declared as stubs of the arity they are called with, since the
operator's function set is not part of the config).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from obsgate.errors import GateError
from obsgate.tools import gobuild
from obsgate.tools.gobuild import GoProgram

SOURCE = Path(__file__).resolve().parent / "gotemplate-check" / "main.go"
NAME = "gotemplate-check"
BUILD_TIMEOUT = 300.0
RUN_TIMEOUT = 60.0


@dataclass(frozen=True)
class TemplateCheck:
    """What text/template made of one template: an error and its line, or what it reads."""

    id: str
    error: str | None
    line: int | None
    fields: tuple[str, ...]
    funcs: dict[str, tuple[int, ...]]


def program(source: Path = SOURCE) -> GoProgram:
    return GoProgram(
        name=NAME,
        sources={"main.go": source, "go.mod": "module gotemplatecheck\n\ngo 1.18\n"},
        purpose=(
            f"the runbook template checks build {NAME} "
            f"({SOURCE.relative_to(SOURCE.parents[2])}) with it"
        ),
        # stdlib only: nothing to fetch, and never another Go toolchain
        env={"GOTOOLCHAIN": "local", "GOPROXY": "off"},
        timeout=BUILD_TIMEOUT,
    )


def go_binary() -> str:
    return gobuild.go_binary(program())


def source_hash(source: Path = SOURCE) -> str:
    return program(source).key()


def checker_binary(source: Path = SOURCE) -> Path:
    """The built checker, `go build` once per source content into the shared cache."""
    return gobuild.binary(program(source))


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
