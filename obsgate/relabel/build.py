"""Build obs-relabel (sim/main.go) with the machine's Go, once per source and Prometheus
module version, into the shared cache.

The build is keyed by the hash of sim/ (main.go, go.mod, go.sum) and the Prometheus module
version go.mod pins: `$OBS_GATE_CACHE/relabel/obs-relabel-<version>-<hash>/`. It is built in
a temp dir beside it and moved in whole, with a stamp written last: a failed or interrupted
build leaves nothing a later run trusts. go.sum carries every module's hash, so Go verifies
what the module proxy serves without the checksum database.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from filelock import FileLock

from obsgate.errors import GateError, ToolMissing
from obsgate.tools import cache_root

SOURCE_DIR = Path(__file__).resolve().parent / "sim"
SOURCES = ("main.go", "go.mod", "go.sum")
BINARY = "obs-relabel"
STAMP = "BUILT"
BUILD_TIMEOUT = 900.0  # a cold module cache downloads Prometheus' module (35 MB) first
_REQUIRE = re.compile(r"^\s*(?:require\s+)?github\.com/prometheus/prometheus\s+(v\S+)", re.M)


def prometheus_module_version(source: Path = SOURCE_DIR) -> str:
    """The version of github.com/prometheus/prometheus that sim/go.mod requires."""
    found = _REQUIRE.search((source / "go.mod").read_text())
    if not found:
        raise GateError(f"{source / 'go.mod'}: requires no github.com/prometheus/prometheus")
    return found.group(1)


def build_dir(source: Path = SOURCE_DIR) -> Path:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (source / name).read_bytes() + b"\0")
    version = prometheus_module_version(source)
    return cache_root() / "relabel" / f"{BINARY}-{version}-{digest.hexdigest()[:16]}"


def built(source: Path = SOURCE_DIR) -> Path | None:
    """The cached binary, if a build of these sources finished."""
    target = build_dir(source)
    return target / BINARY if (target / STAMP).is_file() else None


def _first_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("go: downloading", "#"))]
    return lines[0] if lines else "no output"


def relabel_binary(source: Path = SOURCE_DIR) -> Path:
    """obs-relabel, built on first use: a minute with a cold Go build cache, seconds warm."""
    ready = built(source)
    if ready is not None:
        return ready
    target = build_dir(source)
    version = prometheus_module_version(source)
    go = shutil.which("go")
    if go is None:
        raise ToolMissing(
            f"go is not installed: the relabelling simulation builds Prometheus' relabel code "
            f"(github.com/prometheus/prometheus@{version}) with Go 1.26 or newer; install Go "
            "from https://go.dev/dl (scripts/install-backends needs it too) and rerun"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        ready = built(source)
        if ready is not None:
            return ready
        with tempfile.TemporaryDirectory(prefix=f"{target.name}.", dir=target.parent) as tmp:
            work = Path(tmp)
            for name in SOURCES:
                shutil.copy2(source / name, work / name)
            flags = f"{os.environ.get('GOFLAGS', '')} -mod=readonly -buildvcs=false".strip()
            env = {**os.environ, "CGO_ENABLED": "0", "GOWORK": "off", "GOFLAGS": flags}
            try:
                out = subprocess.run(
                    [go, "build", "-trimpath", "-o", str(work / "out" / BINARY), "."],
                    cwd=work, env=env, capture_output=True, text=True,
                    timeout=BUILD_TIMEOUT, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                raise GateError(
                    f"go build of {source} did not finish in {BUILD_TIMEOUT:.0f} s"
                ) from None
            if out.returncode != 0:
                raise GateError(
                    f"go build of the relabelling simulation ({source}, "
                    f"prometheus@{version}) failed: {_first_error(out.stderr + out.stdout)}"
                )
            shutil.rmtree(target, ignore_errors=True)
            (work / "out").rename(target)
            (target / STAMP).write_text(f"{BINARY} github.com/prometheus/prometheus@{version}\n")
    return target / BINARY
