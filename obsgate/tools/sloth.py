"""Sloth, the SLO suite's oracle: the real `sloth generate` on the config's SLO specs.

Built from source by scripts/install-backends (scripts/install/sloth.sh, `go install` at the
version pinned in scripts/install/versions.env). Its output is read back as plain rule
groups whichever of its formats it wrote: a rule file, or a Kubernetes PrometheusRule.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from obsgate.errors import GateError, ToolMissing
from obsgate.tools import CACHE_BIN, DEFAULT_TIMEOUT, find_binary, run_tool

ENV_VAR = "SLOTH"
INSTALL_HINT = (
    "run scripts/install-backends (builds Sloth with `go install` at SLOTH_VERSION of "
    "scripts/install/versions.env), or set SLOTH to a sloth binary"
)


def binary() -> str:
    if os.environ.get(ENV_VAR):
        return find_binary("sloth", ENV_VAR, "sloth")
    try:
        return find_binary("sloth", ENV_VAR, "sloth")
    except ToolMissing:
        raise ToolMissing(f"sloth not found on PATH or in {CACHE_BIN}: {INSTALL_HINT}") from None


def version() -> str:
    result = run_tool([binary(), "version"])
    return result.output.strip().splitlines()[0] if result.output.strip() else "unknown"


class SlothRefused(GateError):
    """Sloth refused a spec. `said` is its reason as it reads in every run and every Sloth
    release: the innermost causes of its error chain, after the last one that names a thing
    in quotes (the command, the SLO), and the spec's path reduced to its file name."""

    def __init__(self, spec: Path, said: str):
        super().__init__(f"sloth generate refused {spec}: {said}")
        causes = said.replace(str(spec), spec.name).removeprefix("error: ").split(": ")
        named = [i for i, cause in enumerate(causes[:-1]) if '"' in cause]
        self.said = ": ".join(causes[named[-1] + 1 :] if named else causes)


def generate(spec: Path, timeout: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
    """Every rule group Sloth generates for `spec`, in its order; SlothRefused if it refuses."""
    with tempfile.TemporaryDirectory(prefix="sloth-") as tmp:
        out = Path(tmp) / "rules.yaml"
        result = run_tool([binary(), "generate", "-i", str(spec), "-o", str(out)], timeout)
        if not result.ok or not out.exists():
            lines = [ln.strip() for ln in result.output.splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("error:")]
            raise SlothRefused(spec, (errors or lines or ["no output"])[-1])
        docs = [d for d in yaml.safe_load_all(out.read_text()) if d]
    groups: list[dict[str, Any]] = []
    for doc in docs:
        if doc.get("kind") == "PrometheusRule":  # the Kubernetes input gives a CR back
            groups.extend(doc.get("spec", {}).get("groups") or [])
        else:
            groups.extend(doc.get("groups") or [])
    return groups
