"""Build obs-relabel (sim/main.go) with the machine's Go, once per source and Prometheus
module version, into the shared cache (obsgate/tools/gobuild.py).

The build is keyed by the Prometheus module version sim/go.mod pins and the hash of sim/
(main.go, go.mod, go.sum): `$OBS_GATE_CACHE/obs-relabel/<version>-<hash>/`. go.sum carries
every module's hash, so Go verifies what the module proxy serves without the checksum
database.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from obsgate.errors import GateError
from obsgate.tools.gobuild import GoProgram, binary

SOURCE_DIR = Path(__file__).resolve().parent / "sim"
SOURCES = ("main.go", "go.mod", "go.sum")
BINARY = "obs-relabel"
BUILD_TIMEOUT = 900.0  # a cold module cache downloads Prometheus' module (35 MB) first
_REQUIRE = re.compile(r"^\s*(?:require\s+)?github\.com/prometheus/prometheus\s+(v\S+)", re.M)


def prometheus_module_version(source: Path = SOURCE_DIR) -> str:
    """The version of github.com/prometheus/prometheus that sim/go.mod requires."""
    found = _REQUIRE.search((source / "go.mod").read_text())
    if not found:
        raise GateError(f"{source / 'go.mod'}: requires no github.com/prometheus/prometheus")
    return found.group(1)


def program(source: Path = SOURCE_DIR) -> GoProgram:
    version = prometheus_module_version(source)
    flags = f"{os.environ.get('GOFLAGS', '')} -mod=readonly -buildvcs=false".strip()
    return GoProgram(
        name=BINARY,
        sources={name: source / name for name in SOURCES},
        purpose=(
            "the relabelling simulation builds Prometheus' relabel code "
            f"(github.com/prometheus/prometheus@{version}) with it"
        ),
        needs="Go 1.26 or later",
        env={"GOFLAGS": flags},
        timeout=BUILD_TIMEOUT,
        key_prefix=f"{version}-",
    )


def build_dir(source: Path = SOURCE_DIR) -> Path:
    return program(source).target()


def built(source: Path = SOURCE_DIR) -> Path | None:
    """The cached binary, if a build of these sources finished."""
    return program(source).built()


def relabel_binary(source: Path = SOURCE_DIR) -> Path:
    """obs-relabel, built on first use: a minute with a cold Go build cache, seconds warm."""
    return binary(program(source))
