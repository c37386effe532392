"""Build the Node services: `npm ci` of the glue's lock file, then `tsc` over the config
dir's TypeScript (services/src, the seed's modules, with the listed edits) and the glue
(top-level services/src), into the shared cache.

Both steps are cached by content: node_modules by the hash of package.json and the lock,
the build by that and every source, edit and the tsconfig. A second run with the same
inputs starts nothing. A failure is one line: the module npm could not install, or the
first error tsc reports with its file and line.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from obsgate.errors import ConfigError, GateError, ToolMissing
from obsgate.services.seed_edits import SEED_EDITS, SeedEdit, apply_edits
from obsgate.tools import REPO_ROOT, cache_root

GLUE_DIR = REPO_ROOT / "services"
SEED_SUBDIR = Path("services") / "src"
NPM_TIMEOUT = 600.0
TSC_TIMEOUT = 300.0


@dataclass(frozen=True)
class Build:
    """A compiled tree: `out/glue/*.js` are the services' entry points."""

    out: Path
    edits: tuple[SeedEdit, ...]
    seconds: float
    cached: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    def entry(self, name: str) -> Path:
        return self.out / "glue" / f"{name}.js"


def services_cache() -> Path:
    return cache_root() / "services"


def _digest(paths: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in sorted(paths):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


def _sources(root: Path, prefix: str) -> list[tuple[str, bytes]]:
    return [
        (f"{prefix}/{p.relative_to(root).as_posix()}", p.read_bytes())
        for p in sorted(root.rglob("*.ts"))
    ]


def first_npm_error(output: str) -> str:
    """The module npm names in its first error, with that error."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [
        ln.removeprefix("npm error").removeprefix("npm ERR!").strip()
        for ln in lines
        if ln.startswith(("npm error", "npm ERR!"))
    ]
    errors = [e for e in errors if e and not e.startswith(("A complete log", "code "))]
    text = errors[0] if errors else (lines[-1] if lines else "no output")
    module = re.search(r"(@?[\w.-]+(?:/[\w.-]+)?)@[\w.^~<>=*-]+", " ".join(errors))
    return f"{module.group(1)}: {text}" if module and module.group(1) not in text else text


def first_tsc_error(output: str, stage: Path) -> str:
    """tsc's first `file(line,col): error TSnnnn: ...` line, its file relative to the stage."""
    for line in output.splitlines():
        if ": error TS" in line:
            return line.strip().replace(f"{stage}/", "")
    lines = [ln for ln in output.splitlines() if ln.strip()]
    return lines[0].strip() if lines else "no output"


def _run(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    try:
        return subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise GateError(
            f"{' '.join(argv[:2])} did not finish in {timeout:.0f} s in {cwd}"
        ) from None


def _deps_dir(glue: Path) -> Path:
    manifest = [(n, (glue / n).read_bytes()) for n in ("package.json", "package-lock.json")]
    return services_cache() / f"deps-{_digest(manifest)}"


def services_built(glue: Path = GLUE_DIR) -> bool:
    """Whether the services' npm dependencies are installed (tsc then takes seconds)."""
    return (_deps_dir(glue) / ".done").is_file()


def node_modules(glue: Path = GLUE_DIR) -> Path:
    """`npm ci` of the glue's package.json and lock, once per lock content."""
    manifest = [(n, (glue / n).read_bytes()) for n in ("package.json", "package-lock.json")]
    deps = _deps_dir(glue)
    if (deps / ".done").is_file():
        return deps / "node_modules"
    if not shutil.which("npm"):
        raise ToolMissing(
            "npm is not installed: the Node services need Node 20 and npm "
            "(apt-get install nodejs npm)"
        )
    deps.mkdir(parents=True, exist_ok=True)
    with FileLock(str(deps) + ".lock"):
        if (deps / ".done").is_file():
            return deps / "node_modules"
        for name, data in manifest:
            (deps / name).write_bytes(data)
        out = _run(["npm", "ci", "--no-audit", "--ignore-scripts"], deps, NPM_TIMEOUT)
        if out.returncode != 0:
            raise GateError(
                f"npm ci of {glue / 'package-lock.json'} failed: "
                f"{first_npm_error(out.stdout + out.stderr)}"
            )
        (deps / ".done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
    return deps / "node_modules"


def build_services(config_root: Path, glue: Path = GLUE_DIR) -> Build:
    """Compile `config_root`/services/src with the glue; cached by every input's content."""
    start = time.monotonic()
    seed_src = config_root / SEED_SUBDIR
    if not seed_src.is_dir():
        raise ConfigError(
            f"{seed_src}: no TypeScript of the services under test here "
            "(tools/extract-seed-config writes the seed's modules there)"
        )
    modules = node_modules(glue)
    inputs = (
        _sources(seed_src, "seed")
        + _sources(glue / "src", "glue")
        + [(n, (glue / n).read_bytes()) for n in ("tsconfig.json", "package-lock.json")]
        + [("edits", repr(SEED_EDITS).encode())]
    )
    target = services_cache() / f"build-{_digest(inputs)}"
    edits: list[SeedEdit] = []
    stage = target / "stage"
    for path in sorted(seed_src.rglob("*.ts")):
        rel = path.relative_to(seed_src).as_posix()
        _, applied = apply_edits(rel, path.read_text(encoding="utf-8"))
        edits.extend(applied)
    if (target / ".done").is_file():
        return Build(target / "stage" / "build", tuple(edits), time.monotonic() - start, True)
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / ".done").is_file():
            return Build(stage / "build", tuple(edits), time.monotonic() - start, True)
        shutil.rmtree(stage, ignore_errors=True)
        for path in sorted(seed_src.rglob("*.ts")):
            rel = path.relative_to(seed_src).as_posix()
            text, _ = apply_edits(rel, path.read_text(encoding="utf-8"))
            dest = stage / "seed" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        shutil.copytree(glue / "src", stage / "glue")
        shutil.copy2(glue / "tsconfig.json", stage / "tsconfig.json")
        (stage / "node_modules").symlink_to(modules)
        tsc = modules / "typescript" / "bin" / "tsc"
        out = _run(["node", str(tsc), "-p", "tsconfig.json"], stage, TSC_TIMEOUT)
        if out.returncode != 0:
            raise ConfigError(
                f"tsc could not compile the services (seed from {seed_src}, glue from "
                f"{glue / 'src'}): {first_tsc_error(out.stdout + out.stderr, stage)}"
            )
        (target / ".done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
    return Build(stage / "build", tuple(edits), time.monotonic() - start, False)
